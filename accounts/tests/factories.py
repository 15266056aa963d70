import factory

from access.roles import Role
from accounts.models import User

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@lab.example")
    # Predictable names: random ones made admin search tests match by chance ("Ingram" ~ "gra").
    first_name = factory.Sequence(lambda n: f"Given{n}")
    last_name = factory.Sequence(lambda n: f"Family{n}")
    role = Role.SIDEKICK
    password = factory.django.Password(DEFAULT_PASSWORD)
