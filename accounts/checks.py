from django.conf import settings
from django.core.checks import Error, register

from access.roles import SECOND_FACTOR_OPTIONAL, SHARING_DISABLED, Role
from accounts.directory import GROUP_TYPES


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


@register()
def check_sign_in_settings(app_configs, **kwargs):
    """TWO_FACTOR_REQUIRED_ROLE, and an LDAP or OIDC configuration that is only half there."""
    errors = []
    allowed = [*Role.values, SECOND_FACTOR_OPTIONAL]
    if settings.TWO_FACTOR_REQUIRED_ROLE not in allowed:
        errors.append(
            Error(
                f"TWO_FACTOR_REQUIRED_ROLE={settings.TWO_FACTOR_REQUIRED_ROLE!r} is not a role.",
                hint=f"Use one of: {', '.join(allowed)}.",
                id="accounts.E002",
            )
        )
    if settings.LDAP_SERVER_URI and not settings.LDAP_USER_SEARCH_BASE:
        errors.append(
            Error(
                "LDAP_SERVER_URI is set but LDAP_USER_SEARCH_BASE is empty.",
                hint="Set LDAP_USER_SEARCH_BASE to where people are, e.g. ou=people,dc=lab,dc=example.",
                id="accounts.E003",
            )
        )
    if settings.LDAP_GROUP_TYPE not in GROUP_TYPES:
        errors.append(
            Error(
                f"LDAP_GROUP_TYPE={settings.LDAP_GROUP_TYPE!r} is not a known kind of group.",
                hint=f"Use one of: {', '.join(GROUP_TYPES)}.",
                id="accounts.E004",
            )
        )
    if settings.OIDC_ISSUER_URL and not (settings.OIDC_CLIENT_ID and settings.OIDC_CLIENT_SECRET):
        errors.append(
            Error(
                "OIDC_ISSUER_URL is set but OIDC_CLIENT_ID or OIDC_CLIENT_SECRET is empty.",
                hint="Register VM Lab as a confidential client at the provider (redirect URI: /oidc/callback/).",
                id="accounts.E005",
            )
        )
    return errors
