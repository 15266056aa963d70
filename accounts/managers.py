from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Now

from access import rights
from access.roles import Role
from vmlab.core.search import search_filter

SEARCH_FIELDS = ("username", "email", "first_name", "last_name")


class UserQuerySet(models.QuerySet):
    def with_role(self, role):
        return self.filter(role=role)

    def at_least(self, role):
        return self.filter(role__in=Role.at_least(role))

    def awaiting_approval(self):
        return self.filter(role=Role.NEW_USER, is_active=True)

    def active(self):
        return self.filter(is_active=True)

    def disabled(self):
        return self.filter(is_active=False)

    def access_ended(self):
        """Accounts whose access_expires_at has passed, by the database's clock (as access.rights.Right.holders)."""
        return self.filter(access_expires_at__lte=Now())

    def access_current(self):
        """Accounts without an end, or whose end is still to come."""
        return self.filter(rights.ACCESS_NOT_ENDED)

    def with_right(self, right: rights.Right):
        """The users who hold `right` (access.rights)."""
        return self.filter(right.holders())

    def with_username(self, username):
        """The account `username` names when logging in: usernames are unique whatever their case."""
        return self.filter(username__iexact=username)

    # Which users `actor` may see and change on the user pages (PRODUCT.md §3), one verb per kind of change.

    def visible_to(self, actor):
        """Everyone, for an active manager or admin."""
        return self.all() if rights.MANAGE_USERS.granted_to(actor) else self.none()

    def approvable_by(self, actor):
        """Newcomers waiting for approval; the roles they may get are access.rights.grantable_roles(actor)."""
        return self.visible_to(actor).awaiting_approval()

    def deniable_by(self, actor):
        """Newcomers waiting for approval, for an active admin: denying deletes the account."""
        return self.awaiting_approval() if rights.REMOVE_USERS.granted_to(actor) else self.none()

    def role_changeable_by(self, actor):
        """Other users whose role `actor` may grant (so never a newcomer: approval is for them)."""
        return self.filter(role__in=rights.grantable_roles(actor)).exclude(pk=actor.pk)

    def disablable_by(self, actor):
        """Other users `actor` may disable, and enable again: for managers anyone but admins, for admins anyone."""
        if not rights.MANAGE_USERS.granted_to(actor):
            return self.none()
        others = self.exclude(pk=actor.pk)
        return others if rights.ADMINISTER.granted_to(actor) else others.exclude(role=Role.ADMIN)

    def deletable_by(self, actor):
        """Disabled accounts other than their own, for an active admin."""
        if not rights.REMOVE_USERS.granted_to(actor):
            return self.none()
        return self.disabled().exclude(pk=actor.pk)

    def search(self, query: str):
        """Every word of `query` in the username, e-mail, first or last name."""
        return self.filter(search_filter(query, SEARCH_FIELDS))


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):
    def get_by_natural_key(self, username):
        # Usernames are unique whatever their case, so "JSmith" names the same person as "jsmith"
        # when logging in and in createsuperuser's "already taken" check.
        return self.with_username(username).get()

    def _create_user_object(self, username, email, password, **extra_fields):
        # E-mail is required (and unique): it is how people reset their password.
        if not email:
            raise ValueError("Every user needs an e-mail address.")
        return super()._create_user_object(username, email, password, **extra_fields)

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)
