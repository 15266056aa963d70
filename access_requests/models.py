from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from access_requests.querysets import AccessRequestQuerySet
from machines.models import VirtualMachine


class AccessRequest(models.Model):
    """A regular user or sidekick asks for a VM until a date (kind VM, optionally naming a shared VM), or for a
    later end of the assignment they have (kind EXTENSION); a manager or admin approves or denies it.

    Changed only by access_requests.services, every step audited.
    """

    class Kind(models.TextChoices):
        VM = "vm", _("a VM")
        EXTENSION = "extension", _("more time")

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for a decision")
        APPROVED = "approved", _("approved")
        DENIED = "denied", _("denied")
        WITHDRAWN = "withdrawn", _("withdrawn")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.VM)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests", verbose_name=_("requester")
    )
    purpose = models.TextField(_("purpose"), max_length=2000)
    until = models.DateTimeField(_("until"))
    # The VM asked for (kind VM, optional: a shared VM) or whose assignment should last longer (kind EXTENSION). A
    # deleted VM leaves the request without one: a request for more time then waits for its requester to withdraw
    # it, as nobody may decide it.
    vm = models.ForeignKey(
        VirtualMachine,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="access_requests",
        verbose_name=_("VM asked for"),
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason or note"), max_length=2000, blank=True)
    granted_vm = models.ForeignKey(
        VirtualMachine,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("VM granted"),
    )
    granted_until = models.DateTimeField(_("granted until"), null=True, blank=True)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("access request")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One open request for more time per assignment.
            models.UniqueConstraint(
                fields=["requester", "vm"],
                condition=models.Q(kind="extension", state="pending"),
                name="access_requests_one_pending_extension",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.requester}: {self.get_kind_display()}"

    def get_absolute_url(self):
        return reverse("access_requests:detail", args=[self.pk])

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING


class Reminder(models.Model):
    """A reminder e-mail sent before an access ends: one row per thing and end, so each goes out once, whichever
    worker runs the job and however often. A later end (an extension) is a new reminder."""

    subject = models.CharField(_("about"), max_length=64)  # "assignment:<id>" or "account:<user id>"
    ends_at = models.DateTimeField(_("access ends at"))
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [models.UniqueConstraint(fields=["subject", "ends_at"], name="access_requests_reminder_once")]

    def __str__(self):
        return f"{self.subject} ending {self.ends_at:%Y-%m-%d %H:%M}"
