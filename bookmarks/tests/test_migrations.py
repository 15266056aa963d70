import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.tests.factories import UserFactory

BEFORE = [("bookmarks", "0001_initial")]
AFTER = [("bookmarks", "0002_tags_description_normalized_link")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_migration_fills_the_normalized_link_of_existing_bookmarks():
    owner = UserFactory()
    old_apps = migrate(BEFORE)
    old_apps.get_model("bookmarks", "Bookmark").objects.create(
        name="Wiki", link="HTTPS://Wiki.Lab.Example/#top", owner_id=owner.pk
    )

    new_apps = migrate(AFTER)

    bookmark = new_apps.get_model("bookmarks", "Bookmark").objects.get()
    assert bookmark.normalized_link == "https://wiki.lab.example"
    assert bookmark.tags == ""
