"""What the API reads and writes. Secrets are write-only: no serializer here ever outputs a password or a key.

Writes are validated by the services (machines.services, bookmarks.services, people.services, accounts.tokens); these
serializers only check types and sizes, so that the description of the API says what a request may hold.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from access.roles import Role
from accounts.models import ApiToken, TokenScope, User
from audit.models import Action, AuditEvent
from bookmarks.links import LINK_MAX_LENGTH
from bookmarks.models import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, TAGS_MAX_LENGTH, Bookmark
from machines.imports import ACTIONS as IMPORT_ACTIONS
from machines.imports import MATCH_ADDRESS, MATCH_NAME
from machines.models import VirtualMachine
from machines.querysets import assignable_users
from machines.validators import PORT_MAX, PORT_MIN, SECRET_PASSWORD_MAX_LENGTH, SSH_KEY_MAX_BYTES
from machines.vm_files.columns import FORMATS
from machines.vm_files.sshconfig import ssh_command

NOT_ASSIGNABLE = _("VMs are assigned to active regular or sidekick users: user {pk_value} is not one.")
VM_FIELD_LENGTHS = {name: VirtualMachine._meta.get_field(name).max_length for name in ("name", "host", "username")}


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)


# -- VMs -------------------------------------------------------------------------------------------------------------


class VirtualMachineSerializer(serializers.ModelSerializer):
    """A VM as its readers see it: whether a password or key is set, never their values."""

    owner = UserRefSerializer(read_only=True)
    assigned_to = UserRefSerializer(read_only=True, allow_null=True)
    has_password = serializers.BooleanField(read_only=True)
    has_ssh_key = serializers.BooleanField(read_only=True)
    ssh_command = serializers.SerializerMethodField()

    class Meta:
        model = VirtualMachine
        fields = [
            *("id", "name", "host", "port", "username", "shared", "owner", "assigned_to"),
            *("has_password", "has_ssh_key", "host_key_fingerprint", "ssh_command", "version"),
            *("created_at", "updated_at"),
        ]
        read_only_fields = fields

    def get_ssh_command(self, vm) -> str:
        return ssh_command(vm)


def _secret_field(max_length: int, help_text: str) -> serializers.CharField:
    return serializers.CharField(
        write_only=True,
        required=False,
        allow_null=True,
        trim_whitespace=False,
        max_length=max_length,
        help_text=help_text,
    )


class VirtualMachineWriteSerializer(serializers.Serializer):
    """Create (POST) or change (PUT, PATCH) a VM. `password` and `ssh_key` are write-only: a text sets a new value,
    null removes it. `version`, on a change, is the version the caller read: if the VM changed since, nothing is
    written and the answer is 409 with the current values."""

    name = serializers.CharField(max_length=VM_FIELD_LENGTHS["name"])
    host = serializers.CharField(max_length=VM_FIELD_LENGTHS["host"])
    port = serializers.IntegerField(min_value=PORT_MIN, max_value=PORT_MAX, default=22)
    username = serializers.CharField(max_length=VM_FIELD_LENGTHS["username"])
    shared = serializers.BooleanField(default=True)
    password = _secret_field(SECRET_PASSWORD_MAX_LENGTH, _("Write-only. A new password; null removes it."))
    ssh_key = _secret_field(
        SSH_KEY_MAX_BYTES * 2, _("Write-only. A private key in OpenSSH or PEM format; null removes it.")
    )
    assigned_to = serializers.PrimaryKeyRelatedField(
        queryset=assignable_users(),
        required=False,
        allow_null=True,
        help_text=_("Id of an active regular or sidekick user (managers and admins), or null."),
        error_messages={"does_not_exist": NOT_ASSIGNABLE},
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, help_text=_("Admins only: the id of the VM's new owner.")
    )
    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, help_text=_("The version the change is based on.")
    )

    def validate(self, data):
        for name in ("password", "ssh_key"):
            if data.get(name) == "":
                raise serializers.ValidationError({name: _("Send a value, or null to remove it.")})
        return data


class ShareSerializer(serializers.Serializer):
    shared = serializers.BooleanField()


class AssignSerializer(serializers.Serializer):
    assigned_to = serializers.PrimaryKeyRelatedField(
        queryset=assignable_users(),
        allow_null=True,
        help_text=_("An active regular or sidekick user, or null."),
        error_messages={"does_not_exist": NOT_ASSIGNABLE},
    )


class RevealSerializer(serializers.Serializer):
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=4096,
        help_text=_(
            "Your own password (VM Lab's or your directory's); none for accounts that sign in with OpenID Connect."
        ),
    )
    secret = serializers.ChoiceField(choices=[("password", "password"), ("ssh_key", "ssh_key")])
    otp_token = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=64,
        help_text=_(
            "A code of your authenticator app, or one of your backup codes: needed when you have a second factor."
        ),
    )


class RevealedSerializer(serializers.Serializer):
    secret = serializers.ChoiceField(choices=[("password", "password"), ("ssh_key", "ssh_key")])
    value = serializers.CharField(help_text=_("The secret. Shown once: the response is never cached."))


# -- Bookmarks and tags ----------------------------------------------------------------------------------------------


class TagListField(serializers.ListField):
    child = serializers.CharField(max_length=TAGS_MAX_LENGTH)

    def to_representation(self, data):
        return data.split() if isinstance(data, str) else super().to_representation(data)


class BookmarkSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    link = serializers.CharField(max_length=LINK_MAX_LENGTH, help_text=_("An http:// or https:// address."))
    tags = TagListField(required=False, max_length=100, help_text=_("Tags, lowercase words."))
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True)

    class Meta:
        model = Bookmark
        fields = ["id", "name", "link", "tags", "description", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class TagSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField(help_text=_("How many of your bookmarks carry it."))


# -- People and the audit trail --------------------------------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            *("id", "username", "email", "first_name", "last_name", "role", "is_active", "date_joined", "last_login"),
        ]
        read_only_fields = fields


GRANTED_ROLES = [(role, label) for role, label in Role.choices if role != Role.NEW_USER]


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=GRANTED_ROLES)


class AuditEventSerializer(serializers.ModelSerializer):
    action = serializers.ChoiceField(choices=Action.choices, read_only=True)
    details = serializers.DictField(read_only=True, help_text=_("Names, counts and flags; never a secret."))

    class Meta:
        model = AuditEvent
        fields = [
            *("id", "created_at", "actor", "actor_label", "action", "target_type", "target_id", "target_label"),
            *("ip", "user_agent", "details"),
        ]
        read_only_fields = fields


class TokenSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "scope", "created_at", "expires_at"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    token = serializers.SerializerMethodField(help_text=_("The token of this request; null in a browser session."))

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "role", "date_joined", "last_login", "token"]
        read_only_fields = fields

    @extend_schema_field(TokenSummarySerializer(allow_null=True))
    def get_token(self, user):
        token = self.context["request"].auth
        return TokenSummarySerializer(token).data if isinstance(token, ApiToken) else None


# -- Tokens ----------------------------------------------------------------------------------------------------------


class TokenSerializer(serializers.ModelSerializer):
    starts_with = serializers.CharField(source="prefix", read_only=True)
    scope = serializers.ChoiceField(choices=TokenScope.choices, default=TokenScope.READ)
    expires_in_days = serializers.IntegerField(
        write_only=True,
        required=False,
        min_value=1,
        max_value=settings.API_TOKEN_MAX_DAYS,
        help_text=_("Days until it expires: 90 unless chosen, at most API_TOKEN_MAX_DAYS."),
    )

    class Meta:
        model = ApiToken
        fields = [
            *("id", "name", "scope", "starts_with", "created_at", "expires_at", "expires_in_days"),
            *("last_used_at", "last_used_ip", "revoked_at"),
        ]
        read_only_fields = ["id", "created_at", "expires_at", "last_used_at", "last_used_ip", "revoked_at"]


class NewTokenSerializer(TokenSerializer):
    token = serializers.SerializerMethodField(help_text=_("The token itself: shown this once, never again."))

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]

    def get_token(self, token) -> str:
        return self.context["plaintext"]


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("The file: CSV, JSON, YAML or an OpenSSH client config (UTF-8)."))
    format = serializers.ChoiceField(
        choices=list(FORMATS), required=False, help_text=_("Told from the file's name when not given.")
    )
    match = serializers.ChoiceField(
        choices=[MATCH_ADDRESS, MATCH_NAME],
        default=MATCH_ADDRESS,
        help_text=_("A row is the VM with the same host, port and username (address), or the same name."),
    )
    dry_run = serializers.BooleanField(
        default=True, help_text=_("Only preview (the default); false imports, all or nothing.")
    )
    owner = serializers.CharField(
        required=False, allow_blank=True, max_length=150, help_text=_("Admins: the username the VMs are for.")
    )
    preview = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text=_("The `preview` of an earlier dry run: the import writes only if the rows still do what it showed."),
    )


class ImportRowSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text=_("Where the row is in the file: see the report's numbering."))
    action = serializers.ChoiceField(choices=list(IMPORT_ACTIONS))
    name = serializers.CharField()
    host = serializers.CharField()
    port = serializers.JSONField(allow_null=True, help_text=_("A number, or the text of the file when it is not one."))
    username = serializers.CharField()
    shared = serializers.BooleanField(allow_null=True)
    assigned_to = serializers.CharField()
    owner = serializers.CharField()
    sets_password = serializers.BooleanField()
    sets_ssh_key = serializers.BooleanField()
    vm_id = serializers.IntegerField(allow_null=True)
    vm_version = serializers.IntegerField(allow_null=True)
    changes = serializers.ListField(child=serializers.CharField())
    reasons = serializers.ListField(child=serializers.CharField())
    notes = serializers.ListField(child=serializers.CharField())


class ImportReportSerializer(serializers.Serializer):
    file_format = serializers.CharField()
    match = serializers.CharField()
    owner = serializers.CharField()
    numbering = serializers.ChoiceField(choices=["row", "item", "line"])
    rows = ImportRowSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField())
    preview = serializers.CharField()
    applied = serializers.BooleanField()
    counts = serializers.DictField(child=serializers.IntegerField())
