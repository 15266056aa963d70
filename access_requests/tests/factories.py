import datetime

import factory
from django.utils import timezone

from access.roles import Role
from access_requests.models import AccessRequest
from accounts.tests.factories import UserFactory


class AccessRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccessRequest

    requester = factory.SubFactory(UserFactory, role=Role.REGULAR)
    purpose = factory.Sequence(lambda n: f"Thesis experiments, batch {n}")
    until = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=30))
