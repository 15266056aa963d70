"""fixtures/first_users.yaml entries may say when an account's access ends (access_expires_at)."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "violet-Lantern-orbit-42"


def seed_text(tmp_path, line: str):
    path = tmp_path / "users.yaml"
    path.write_text(f"users:\n  - username: ada\n    email: ada@lab.example\n    role: regular\n{line}\n")
    call_command("seed_users", file=str(path), password=PASSWORD, stdout=StringIO())
    return User.objects.get(username="ada").access_expires_at


END_OF_DAY_IN_PARIS = datetime.datetime(2099, 3, 12, 22, 59, 59, 999999, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("    access_expires_at: 2099-03-12", END_OF_DAY_IN_PARIS),
        ('    access_expires_at: "2099-03-12"', END_OF_DAY_IN_PARIS),
        ('    access_expires_at: "2099-03-12 18:00"', datetime.datetime(2099, 3, 12, 17, 0, tzinfo=datetime.UTC)),
        ('    access_expires_at: "2099-03-12T18:00:00+00:00"', datetime.datetime(2099, 3, 12, 18, tzinfo=datetime.UTC)),
    ],
    ids=["yaml date", "quoted date", "date and time", "with an offset"],
)
def test_an_entry_may_give_the_end_of_the_accounts_access(tmp_path, settings, line, expected):
    settings.TIME_ZONE = "Europe/Paris"  # a date alone ends at midnight there; a time without offset is there too

    assert seed_text(tmp_path, line) == expected


def test_an_entry_without_an_end_has_none(tmp_path):
    assert seed_text(tmp_path, "") is None


@pytest.mark.parametrize("value", ["2099-13-01", "next spring", "12"])
def test_a_bad_end_is_refused_with_the_entry_named_and_nothing_written(tmp_path, value):
    with pytest.raises(CommandError) as raised:
        seed_text(tmp_path, f'    access_expires_at: "{value}"')

    message = str(raised.value)
    assert f"user #1 (ada): access_expires_at '{value}' is not a date (YYYY-MM-DD" in message
    assert "Nothing was written" in message
    assert not User.objects.exists()
