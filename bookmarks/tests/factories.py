import factory

from accounts.tests.factories import UserFactory
from bookmarks.models import Bookmark


class BookmarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bookmark

    name = factory.Sequence(lambda n: f"Bookmark {n}")
    link = factory.Sequence(lambda n: f"https://docs.lab.example/page/{n}")
    owner = factory.SubFactory(UserFactory)
