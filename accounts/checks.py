from django.conf import settings
from django.core.checks import Error, register

from access.roles import SHARING_DISABLED, Role


@register()
def check_vm_sharing_minimum_role(app_configs, **kwargs):
    allowed = [*Role.values, SHARING_DISABLED]
    if settings.VM_SHARING_MINIMUM_ROLE in allowed:
        return []
    return [
        Error(
            f"VM_SHARING_MINIMUM_ROLE={settings.VM_SHARING_MINIMUM_ROLE!r} is not a role.",
            hint=f"Use one of: {', '.join(allowed)}.",
            id="accounts.E001",
        )
    ]
