from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    LOGIN = "auth.login", _("Logged in")
    LOGIN_FAILED = "auth.login_failed", _("Login failed")
    LOCKOUT = "auth.lockout", _("Locked out (too many attempts)")
    LOGOUT = "auth.logout", _("Logged out")
    PASSWORD_CHANGE = "auth.password_change", _("Password changed")
    SECRET_REVEAL = "secret.reveal", _("Secret revealed")
    SECRET_REVEAL_DENIED = "secret.reveal_denied", _("Secret reveal refused (wrong password)")
    SECRET_SET = "secret.set", _("Secret set")
    SECRET_REMOVE = "secret.remove", _("Secret removed")
    VM_CREATE = "vm.create", _("VM created")
    VM_UPDATE = "vm.update", _("VM edited")
    VM_DELETE = "vm.delete", _("VM deleted")
    VM_SHARE = "vm.share", _("VM sharing changed")
    VM_ASSIGN = "vm.assign", _("VM assigned")
    VM_IMPORT = "vm.import", _("VMs imported")
    VM_HOST_KEY_TRUST = "vm.host_key_trust", _("VM host key trusted")
    VM_HOST_KEY_RESET = "vm.host_key_reset", _("VM host key reset")
    VM_CONNECTION_TEST = "vm.connection_test", _("VM connection tested")
    VM_TERMINAL = "vm.terminal", _("Terminal session")
    VM_FILE_DOWNLOAD = "vm.file_download", _("File downloaded from a VM")
    VM_FILE_UPLOAD = "vm.file_upload", _("File uploaded to a VM")
    VM_ASSIGNMENT_CHANGE = "vm.assignment_change", _("VM assignment's end changed")
    VM_ASSIGNMENT_END = "vm.assignment_end", _("VM assignment ended on its date")
    USER_REGISTER = "user.register", _("User registered")
    USER_CREATE = "user.create", _("User created by an admin")
    USER_APPROVE = "user.approve", _("User approved")
    USER_DENY = "user.deny", _("User denied")
    USER_ROLE = "user.role", _("Role changed")
    USER_PROFILE = "user.profile", _("Profile changed")
    USER_DISABLE = "user.disable", _("User disabled")
    USER_ENABLE = "user.enable", _("User enabled")
    USER_DELETE = "user.delete", _("User deleted")
    USER_ACCESS_EXPIRY = "user.access_expiry", _("Account's access end changed")
    REQUEST_CREATE = "request.create", _("VM requested")
    REQUEST_EXTEND = "request.extend", _("Longer assignment requested")
    REQUEST_APPROVE = "request.approve", _("Request approved")
    REQUEST_DENY = "request.deny", _("Request denied")
    REQUEST_CANCEL = "request.cancel", _("Request withdrawn")
    KEYS_ROTATE = "keys.rotate", _("Encryption keys rotated")
    USER_EXTERNAL_CREATE = "user.external_create", _("User created at first sign-in (directory or OIDC)")
    USER_ROLE_SYNC = "user.role_sync", _("Role set by the directory or OIDC provider")
    TWO_FACTOR_ENROL = "2fa.enrol", _("Second factor added")
    TWO_FACTOR_REMOVE = "2fa.remove", _("Second factor removed")
    TWO_FACTOR_RESET = "2fa.reset", _("Second factors reset by an admin")
    BACKUP_CODES_CREATE = "2fa.backup_codes", _("Backup codes generated")
    BACKUP_CODE_USE = "2fa.backup_code_used", _("Backup code used")
    TOKEN_CREATE = "token.create", _("API token created")
    TOKEN_NEW_IP = "token.new_ip", _("API token used from a new IP address")
    TOKEN_REVOKE = "token.revoke", _("API token revoked")
    BACKUP = "ops.backup", _("Database backed up")
    RESTORE = "ops.restore", _("Database restored from a backup")


class AuditEventQuerySet(models.QuerySet):
    def sign_ins_of(self, user):
        """The logins of `user`, newest first: when, from where, how and with which second factor (details)."""
        return self.filter(action=Action.LOGIN, actor=user).only("created_at", "ip", "user_agent", "details")


class AuditEvent(models.Model):
    """Who did what to which object, when and from where. Never holds a secret's value.

    Actor and target keep a text label, so the row still says who and what after a deletion.
    """

    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices, db_index=True)
    target_type = models.CharField(_("target type"), max_length=64, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_label = models.CharField(_("target"), max_length=255, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_label}"
