from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.db.models.functions import Now
from django.db.models.lookups import IsNull
from django.utils import timezone

from access import rights
from vmlab.core.fields import EncryptedFieldsQuerySet
from vmlab.core.querysets import OwnedQuerySet, user_filter
from vmlab.core.search import search_filter

SECRET_FIELDS = ("password", "ssh_key")
SEARCH_FIELDS = ("name", "host", "username", "owner__username", "assigned_to__username")
# What a VM table shows (machines.tables.vm_rows, templates/machines/includes/vm_table.html), read in one query.
TABLE_FIELDS = (
    *("pk", "name", "host", "port", "username", "shared", "assigned_until"),
    *("owner__username", "owner__is_active", "owner__access_expires_at", "assigned_to__username"),
)
# An assignment counts until its end, compared with the database's clock: from that moment it is no assignment at
# all, for every verb below, whether or not the hourly job (services.vm_assignments_close_expired) has closed it.
ASSIGNMENT_RUNNING = Q(assigned_until__isnull=True) | Q(assigned_until__gt=Now())


class VirtualMachineQuerySet(OwnedQuerySet, EncryptedFieldsQuerySet):
    def assigned_to_user(self, user_or_username):
        """The VMs assigned to the user now: not those whose assignment has ended."""
        return self.filter(user_filter("assigned_to", user_or_username), ASSIGNMENT_RUNNING)

    def currently_assigned(self):
        """VMs assigned to someone now."""
        return self.filter(ASSIGNMENT_RUNNING, assigned_to__isnull=False)

    def assignment_ending_between(self, start, end):
        """VMs whose running assignment ends after `start` and at `end` at the latest (for reminders)."""
        return self.filter(assigned_to__isnull=False, assigned_until__gt=start, assigned_until__lte=end)

    def assignment_ended(self):
        """VMs still marked as assigned although the assignment's end has passed (the hourly job closes them)."""
        return self.filter(assigned_to__isnull=False, assigned_until__lte=Now())

    def search(self, query: str):
        """Every word of `query` in the name, host, SSH username, owner's or assignee's username."""
        return self.filter(search_filter(query, SEARCH_FIELDS))

    def shared(self):
        return self.filter(shared=True)

    def update_as_change(self, **values) -> int:
        """update() for a change people make: moves each VM's version on, so forms opened before are stale
        (machines.versioning). Not for re-encryption, which changes no value anyone sees."""
        return self.update(**values, updated_at=timezone.now(), version=F("version") + 1)

    def visible_to(self, user):
        """Every VM `user` may see: the one read-access rule of the project (PRODUCT.md §3).

        Own VMs and VMs assigned to the user, while the assignment runs (ASSIGNMENT_RUNNING); other users'
        shared VMs too when the user's role reaches VM_SHARING_MINIMUM_ROLE. Nothing for anonymous, inactive,
        expired or unapproved users.
        """
        if not rights.USE_PORTAL.granted_to(user):
            return self.none()
        rule = Q(owner=user) | (Q(assigned_to=user) & ASSIGNMENT_RUNNING)
        if rights.SEE_OTHERS_SHARED_VMS.granted_to(user):
            rule |= Q(shared=True)
        return self.filter(rule)

    def editable_by(self, user):
        """VMs `user` may edit, delete, share and set secrets on: their own; an admin also any VM visible to them."""
        if not rights.OWN_VMS.granted_to(user):
            return self.none()
        if rights.ADMINISTER.granted_to(user):
            return self.visible_to(user)
        return self.filter(owner=user)

    def assignable_by(self, user):
        """VMs `user` may assign to someone: managers and admins, among the VMs they may edit."""
        if not rights.ASSIGN_VMS.granted_to(user):
            return self.none()
        return self.editable_by(user)

    def administrable_by(self, user):
        """VMs `user` may change in the Django admin: every VM for an admin, to clean up (PRODUCT.md §3)."""
        return self.all() if rights.ADMINISTER.granted_to(user) else self.none()

    def others_shared_for(self, user):
        """The dashboard's "Other users' VMs": others' shared VMs, for roles that may see them."""
        if not rights.SEE_OTHERS_SHARED_VMS.granted_to(user):
            return self.none()
        return self.visible_to(user).filter(shared=True).exclude(owner=user)

    def for_list(self):
        """What VM lists and pages show: no secret loaded, owner and assignee in the same query."""
        return self.without_secrets().select_related("owner", "assigned_to")

    def for_table(self, *also: str):
        """What VM tables show and nothing more, one named tuple per VM (TABLE_FIELDS, the fields `also` names, e.g.
        of a related row, has_password, has_ssh_key): no model object per row, no secret loaded, only whether one is
        set. Objects would cost more than the query."""
        return self.annotate(
            has_password=IsNull(F("password"), False), has_ssh_key=IsNull(F("ssh_key"), False)
        ).values_list(*TABLE_FIELDS, *also, "has_password", "has_ssh_key", named=True)

    def without_secrets(self):
        """For lists: never load (so never decrypt) a secret, only whether one is set."""
        return self.defer(*SECRET_FIELDS).annotate(
            has_password=Q(password__isnull=False),
            has_ssh_key=Q(ssh_key__isnull=False),
        )


def assignable_users():
    """The users a VM may be assigned to: active regular and sidekick users (PRODUCT.md §3)."""
    return get_user_model().objects.with_right(rights.BE_ASSIGNED_VMS).order_by("username")
