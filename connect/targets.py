"""From a VM that a user may connect to, to what connect.ssh needs: the one place that decrypts for it."""

from django.utils.translation import gettext as _

from connect.ssh import ConnectError, FailureKind, Step, Target
from machines.models import VirtualMachine
from vmlab.core.crypto import DecryptionError


def target_for(vm: VirtualMachine) -> Target:
    """The VM's address and stored credentials, read afresh (list pages defer secrets). Synchronous: it queries."""
    try:
        return Target.of(VirtualMachine.objects.get(pk=vm.pk))
    except DecryptionError:
        message = _("Cannot decrypt a stored secret: check FIELD_ENCRYPTION_KEYS")
        raise ConnectError(FailureKind.UNREADABLE_SECRET, Step.LOGIN, message) from None
