import factory

from accounts.tests.factories import UserFactory
from machines.models import VirtualMachine


class VirtualMachineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VirtualMachine

    name = factory.Sequence(lambda n: f"vm-{n}")
    host = factory.Sequence(lambda n: f"vm{n}.lab.example")
    port = 22
    username = "labuser"
    shared = False
    owner = factory.SubFactory(UserFactory)
