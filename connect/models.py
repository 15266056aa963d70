from django.db import models
from django.utils.translation import gettext_lazy as _

from machines.models import VirtualMachine


class Reachability(models.Model):
    """The last probe of a VM (connect.probes): one row per VM, written only by connect.services. No row, or no
    check yet: "not checked yet"."""

    class State(models.TextChoices):
        UP = "up", _("up")
        HOST_KEY_DIFFERS = "host_key_differs", _("SSH answering but host key differs")
        PORT_CLOSED = "port_closed", _("port closed")
        UNREACHABLE = "unreachable", _("unreachable")

    vm = models.OneToOneField(
        VirtualMachine,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="reachability",
        verbose_name=_("VM"),
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    latency_ms = models.FloatField(_("TCP connect time (ms)"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    server_version = models.CharField(_("SSH banner"), max_length=255, blank=True)
    offered_fingerprint = models.CharField(_("host key offered"), max_length=100, blank=True)
    # "Check now" asked for a probe at this moment: queued until checked_at passes it.
    check_requested_at = models.DateTimeField(_("check requested at"), null=True, blank=True)

    class Meta:
        verbose_name = _("VM reachability")
        verbose_name_plural = _("VM reachability")

    def __str__(self):
        return f"{self.vm_id}: {self.state or _('not checked yet')}"

    @property
    def check_queued(self) -> bool:
        return is_check_queued(self.check_requested_at, self.checked_at)


def is_check_queued(requested_at, checked_at) -> bool:
    """Whether "Check now" was pressed after the last check, so that its result is still to come."""
    return requested_at is not None and (checked_at is None or checked_at < requested_at)
