from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q

from access import rights
from machines.models import VirtualMachine


class AccessRequestQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(state="pending")

    def made_by(self, user):
        return self.filter(requester=user) if user.is_authenticated else self.none()

    def decidable_by(self, user):
        """Requests `user` may approve or deny: any request for a VM (they grant one of the VMs they may assign),
        and requests for more time on a VM they may assign (its owner, if a manager; admins)."""
        if not rights.ASSIGN_VMS.granted_to(user):
            return self.none()
        return self.filter(Q(kind="vm") | Q(kind="extension", vm__in=VirtualMachine.objects.assignable_by(user)))

    def visible_to(self, user):
        """A user's own requests, and those they may decide."""
        if not rights.USE_PORTAL.granted_to(user):
            return self.none()
        return self.filter(Q(requester=user) | Q(pk__in=self.decidable_by(user).values("pk")))

    def withdrawable_by(self, user):
        """Their own requests still waiting for a decision."""
        return self.made_by(user).pending()

    def queue_for(self, user):
        """The managers' queue: what `user` may decide and is waiting, oldest first."""
        return self.decidable_by(user).pending().order_by("created_at", "pk")


def requestable_vms():
    """The VMs a request may name: shared VMs whose owner may assign them (PRODUCT.md §3: a manager grants only
    their own VMs). Only their names and owners are shown to the requester."""
    owners = get_user_model().objects.with_right(rights.ASSIGN_VMS)
    return (
        VirtualMachine.objects.shared()
        .filter(owner__in=owners)
        .select_related("owner")
        .only("name", "owner__username")
        .order_by("name", "pk")
    )
