from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from machines.querysets import VirtualMachineQuerySet
from machines.validators import (
    PORT_MAX,
    PORT_MIN,
    SECRET_PASSWORD_MAX_LENGTH,
    validate_host,
    validate_ssh_private_key,
    validate_ssh_username,
)
from vmlab.core.fields import EncryptedTextField

PORT_RANGE_CONSTRAINT = "machines_vm_port_range"


class PortField(models.PositiveIntegerField):
    """A TCP port, 1 to 65535: in the model's validation and in every form built from it (a plain
    PositiveIntegerField's form field starts at 0, so it would call -1 "below 0" and accept 0)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [MinValueValidator(PORT_MIN), MaxValueValidator(PORT_MAX)])
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        return super().formfield(**{"min_value": PORT_MIN, "max_value": PORT_MAX, **kwargs})


class VirtualMachine(models.Model):
    name = models.CharField(_("name"), max_length=100)
    host = models.CharField(_("host"), max_length=253, validators=[validate_host])
    port = PortField(_("SSH port"), default=22)
    username = models.CharField(_("SSH username"), max_length=64, validators=[validate_ssh_username])
    password = EncryptedTextField(_("password"), validators=[MaxLengthValidator(SECRET_PASSWORD_MAX_LENGTH)])
    ssh_key = EncryptedTextField(_("SSH private key"), validators=[validate_ssh_private_key])
    shared = models.BooleanField(
        _("shared"), default=True, help_text=_("Shared VMs are visible to every user whose role may see others' VMs.")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_vms", verbose_name=_("owner")
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_vms",
        verbose_name=_("assigned to"),
    )
    # When the assignment ends; none: until someone changes it. Past it, the assignment counts as none
    # (VirtualMachineQuerySet.visible_to & co., by the database's clock), whether or not a job has closed it yet.
    assigned_until = models.DateTimeField(_("assigned until"), null=True, blank=True, db_index=True)
    # The server's public key, trusted by a user on the first connection (connect.services): OpenSSH's
    # "type base64" line, and its SHA256 fingerprint as `ssh-keygen -lf` prints it. Empty until then.
    host_key = models.TextField(_("SSH host key"), blank=True, default="", editable=False)
    host_key_fingerprint = models.CharField(
        _("host key fingerprint"), max_length=100, blank=True, default="", editable=False
    )
    # Optimistic locking: every change moves it on, so a form opened before a change is refused
    # instead of silently undoing it (machines.versioning).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = VirtualMachineQuerySet.as_manager()

    class Meta:
        verbose_name = _("virtual machine")
        # Django's internal queries (deletion, related lookups) also get the checked update().
        base_manager_name = "objects"
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(port__gte=PORT_MIN, port__lte=PORT_MAX), name=PORT_RANGE_CONSTRAINT
            ),
        ]

    def __str__(self):
        return self.name

    # A VM's page: its URL takes the pk alone, so lists build their links from one reverse (vmlab.core.rows.PkUrl).
    detail_url_name = "machines:detail"

    def get_absolute_url(self):
        return reverse(self.detail_url_name, args=[self.pk])

    def get_constraints(self):
        """What full_clean() validates: every constraint but the port range, which clean_fields() has checked with
        PortField's own validators. Validating it again would ask the database, once for each VM validated (an
        import's thousands of rows among them); the database still enforces it on every write."""
        return [
            (model, [constraint for constraint in constraints if constraint.name != PORT_RANGE_CONSTRAINT])
            for model, constraints in super().get_constraints()
        ]

    @property
    def assignment_running(self) -> bool:
        """For display: whether assigned_to still holds, by this process's clock (access is decided in SQL)."""
        return self.assigned_to_id is not None and (self.assigned_until is None or self.assigned_until > timezone.now())


class Assignment(models.Model):
    """Who had which VM, from when to when: one row per assignment, kept when it ends (machines.services).

    The open row of a VM (ended_at empty) matches its assigned_to and assigned_until, which the portal reads.
    """

    class End(models.TextChoices):
        UNASSIGNED = "unassigned", _("unassigned")
        REPLACED = "replaced", _("assigned to someone else")
        EXPIRED = "expired", _("ended on its date")

    vm = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("VM"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("user")
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned by"),
    )
    started_at = models.DateTimeField(_("from"), default=timezone.now)
    until = models.DateTimeField(_("until"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end = models.CharField(_("how it ended"), max_length=16, choices=End.choices, blank=True)

    class Meta:
        verbose_name = _("assignment")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["vm"], condition=models.Q(ended_at__isnull=True), name="machines_assignment_one_open_per_vm"
            ),
        ]

    def __str__(self):
        return f"{self.vm} → {self.user}"
