from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from machines.fields import EncryptedTextField
from machines.querysets import VirtualMachineQuerySet
from machines.validators import (
    PORT_MAX,
    PORT_MIN,
    SECRET_PASSWORD_MAX_LENGTH,
    validate_host,
    validate_ssh_private_key,
    validate_ssh_username,
)


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
                condition=models.Q(port__gte=PORT_MIN, port__lte=PORT_MAX), name="machines_vm_port_range"
            ),
        ]

    def __str__(self):
        return self.name

    # A VM's page: its URL takes the pk alone, so lists build their links from one reverse (vmlab.core.rows.PkUrl).
    detail_url_name = "machines:detail"

    def get_absolute_url(self):
        return reverse(self.detail_url_name, args=[self.pk])
