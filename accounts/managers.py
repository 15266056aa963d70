from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models

from accounts.roles import Role
from vmlab.search import search_filter

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

    def with_username(self, username):
        """The account `username` names when logging in: usernames are unique whatever their case."""
        return self.filter(username__iexact=username)

    def visible_to(self, actor):
        """Users `actor` may see in the portal's user pages: everyone for an active manager or admin."""
        if not actor.is_authenticated or not actor.can_manage_users:
            return self.none()
        return self.all()

    def deletable_by(self, actor):
        """Users `actor` may delete: disabled accounts other than their own, for an active admin."""
        if not actor.is_authenticated or not actor.can_remove_users:
            return self.none()
        return self.filter(is_active=False).exclude(pk=actor.pk)

    def search(self, query: str):
        """Every word of `query` in the username, e-mail, first or last name."""
        return self.filter(search_filter(query, SEARCH_FIELDS))

    def with_vm_count(self):
        return self.annotate(vm_count=models.Count("owned_vms"))


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
