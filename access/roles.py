from django.db import models
from django.utils.translation import gettext_lazy as _

# The VM_SHARING_MINIMUM_ROLE value that hides other users' shared VMs from every role.
SHARING_DISABLED = "disabled"
# The TWO_FACTOR_REQUIRED_ROLE value that makes a second factor optional for every role.
SECOND_FACTOR_OPTIONAL = "disabled"


class Role(models.TextChoices):
    """Roles in increasing order of rights: the declaration order is the ranking."""

    NEW_USER = "new_user", _("New user (awaiting approval)")
    REGULAR = "regular", _("Regular")
    SIDEKICK = "sidekick", _("Sidekick")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Admin")

    @classmethod
    def rank(cls, role) -> int:
        return cls.values.index(cls(role).value)

    @classmethod
    def at_least(cls, role) -> list[str]:
        return cls.values[cls.rank(role) :]

    @classmethod
    def highest(cls, roles, default=None):
        """The highest of `roles`, or `default` when there is none."""
        return max(roles, key=cls.rank, default=default)

    @classmethod
    def is_above(cls, role, other) -> bool:
        return cls.rank(role) > cls.rank(other)
