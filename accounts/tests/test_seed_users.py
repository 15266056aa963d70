import re
from io import StringIO

import pytest
import yaml
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def can_log_in(username, password):
    """Whether the login backends accept these credentials (the lockout backend needs a request)."""
    return authenticate(RequestFactory().post("/accounts/login/"), username=username, password=password) is not None


STRONG_PASSWORD = "violet-Lantern-orbit-42"

# PRODUCT.md §8: the original VM Lab's eight demo users.
FIRST_USERS = [
    ("jsmith", "John", "Smith", "jsmith@vmlab.example", Role.ADMIN),
    ("kteo", "Kim", "Teo", "kteo@vmlab.example", Role.MANAGER),
    ("slong", "Sarah", "Long", "slong@vmlab.example", Role.MANAGER),
    ("mgarcia", "Maria", "Garcia", "mgarcia@vmlab.example", Role.SIDEKICK),
    ("jlee", "Jin", "Lee", "jlee@vmlab.example", Role.SIDEKICK),
    ("dpeters", "David", "Peters", "dpeters@vmlab.example", Role.REGULAR),
    ("rbriggs", "Rachel", "Briggs", "rbriggs@vmlab.example", Role.NEW_USER),
    ("bbaker", "Ben", "Baker", "bbaker@vmlab.example", Role.NEW_USER),
]
FIRST_USERNAMES = {username for username, *_ in FIRST_USERS}

GENERATED_PASSWORD_LINE = re.compile(r"^created (?P<username>\S+) \(\w+\)\s+password: (?P<password>\S+)$", re.MULTILINE)


def seed(*args, **options):
    out = StringIO()
    call_command("seed_users", *args, stdout=out, **options)
    return out.getvalue()


def entry(username, **overrides):
    return {"username": username, "email": f"{username}@lab.example", "role": "regular", **overrides}


def users_file(tmp_path, users):
    path = tmp_path / "users.yaml"
    path.write_text(yaml.safe_dump({"users": users}), encoding="utf-8")
    return path


def stored_users():
    return set(User.objects.values_list("username", "password", "first_name", "email", "role", "updated_at"))


def test_default_file_creates_the_eight_first_users_with_their_roles_names_and_emails():
    seed(password=STRONG_PASSWORD)

    created = set(User.objects.values_list("username", "first_name", "last_name", "email", "role"))
    assert created == set(FIRST_USERS)


def test_only_the_admin_of_the_first_users_gets_into_the_django_admin():
    seed(password=STRONG_PASSWORD)

    assert set(User.objects.filter(is_staff=True).values_list("username", flat=True)) == {"jsmith"}
    assert User.objects.get(username="jsmith").is_superuser


def test_given_password_lets_every_user_log_in_and_is_not_printed():
    output = seed(password=STRONG_PASSWORD)

    for username in FIRST_USERNAMES:
        assert can_log_in(username, STRONG_PASSWORD), username
    assert STRONG_PASSWORD not in output
    assert "8 created, 0 already existed." in output


def test_password_from_the_environment_lets_every_user_log_in_and_is_not_printed(monkeypatch):
    monkeypatch.setenv("VMLAB_SEED_PASSWORD", STRONG_PASSWORD)

    output = seed()

    for username in FIRST_USERNAMES:
        assert can_log_in(username, STRONG_PASSWORD), username
    assert STRONG_PASSWORD not in output


def test_password_option_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("VMLAB_SEED_PASSWORD", "environment-Pass-9931")

    seed(password=STRONG_PASSWORD)

    assert can_log_in("jsmith", STRONG_PASSWORD)
    assert not can_log_in("jsmith", "environment-Pass-9931")


def test_without_a_password_each_user_gets_a_different_printed_password_that_works(monkeypatch):
    monkeypatch.delenv("VMLAB_SEED_PASSWORD", raising=False)

    output = seed()

    printed = {match["username"]: match["password"] for match in GENERATED_PASSWORD_LINE.finditer(output)}
    assert set(printed) == FIRST_USERNAMES
    for username, password in printed.items():
        assert can_log_in(username, password), username
    assert len(set(printed.values())) == len(printed)
    assert "shown once" in output


def test_passwords_are_hashed_with_the_configured_hasher(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    # One user: PBKDF2 is deliberately slow.
    path = users_file(tmp_path, [entry("alice")])

    seed(file=str(path), password=STRONG_PASSWORD)

    user = User.objects.get(username="alice")
    assert user.password.startswith("pbkdf2_sha256$")
    assert user.check_password(STRONG_PASSWORD)


def test_running_again_creates_nothing_and_changes_nothing():
    seed(password=STRONG_PASSWORD)
    before = stored_users()

    output = seed(password="another-Strong-pass-77")

    assert stored_users() == before
    assert "0 created, 8 already existed." in output


def test_existing_user_whose_name_was_changed_is_left_as_it_is():
    johnny = UserFactory(
        username="jsmith", first_name="Johnny", last_name="Smyth", email="john@lab.example", role=Role.REGULAR
    )

    output = seed(password=STRONG_PASSWORD)

    johnny_after = User.objects.get(username="jsmith")
    assert (johnny_after.first_name, johnny_after.last_name, johnny_after.email, johnny_after.role) == (
        "Johnny",
        "Smyth",
        "john@lab.example",
        Role.REGULAR,
    )
    assert johnny_after.password == johnny.password
    assert "exists  jsmith (left unchanged)" in output
    assert "7 created, 1 already existed." in output


def test_existing_user_spelled_with_other_case_in_the_file_is_left_alone_and_the_rest_created(tmp_path):
    UserFactory(username="jsmith", email="jsmith@vmlab.example", role=Role.REGULAR)
    path = users_file(tmp_path, [entry("JSmith", email="jsmith@vmlab.example", role="admin"), entry("alice")])

    output = seed(file=str(path), password=STRONG_PASSWORD)

    assert "exists  jsmith (left unchanged)" in output
    assert User.objects.get(username__iexact="jsmith").role == Role.REGULAR
    assert User.objects.filter(username="alice").exists()


def test_weak_password_is_refused_and_no_user_is_created():
    with pytest.raises(CommandError) as raised:
        seed(password="123")

    assert "too short" in str(raised.value)
    assert "Nothing was written" in str(raised.value)
    assert User.objects.count() == 0


def _bad_file_cases():
    valid = [entry("alice"), entry("bob")]
    return {
        "unknown role": ([*valid, entry("carol", role="superhero")], ["unknown role", "superhero", "carol"]),
        "missing e-mail": ([*valid, {"username": "carol", "role": "regular"}], ["missing email", "user #3"]),
        "unknown key": ([*valid, entry("carol", password="hunter22")], ["unknown key", "password", "user #3"]),
        "duplicate username": ([*valid, entry("alice", email="alice2@lab.example")], ["username appears twice"]),
        "duplicate username by case": ([*valid, entry("Alice", email="alice2@lab.example")], ["appears twice"]),
        "duplicate e-mail": ([*valid, entry("carol", email="alice@lab.example")], ["alice@lab.example", "twice"]),
        "duplicate e-mail by case": ([*valid, entry("carol", email="ALICE@lab.example")], ["e-mail", "twice"]),
        "invalid e-mail": ([*valid, entry("carol", email="carol-at-lab")], ["carol", "email", "valid email"]),
    }


BAD_FILE_CASES = _bad_file_cases()


@pytest.mark.parametrize("case", BAD_FILE_CASES)
def test_bad_entry_after_valid_ones_is_named_and_nothing_is_written(tmp_path, case):
    users, words = BAD_FILE_CASES[case]
    UserFactory(username="existing")
    path = users_file(tmp_path, users)
    count_before = User.objects.count()

    with pytest.raises(CommandError) as raised:
        seed(file=str(path), password=STRONG_PASSWORD)

    message = str(raised.value)
    for word in [str(path), "Nothing was written", *words]:
        assert word in message
    assert User.objects.count() == count_before
    assert not User.objects.filter(username__in=["alice", "bob"]).exists()


@pytest.mark.parametrize("taken", ["carol@lab.example", "Carol@LAB.example"])
def test_email_of_another_existing_user_is_refused_and_nothing_is_written(tmp_path, taken):
    UserFactory(username="zoe", email=taken)
    path = users_file(tmp_path, [entry("alice"), entry("carol")])
    count_before = User.objects.count()

    with pytest.raises(CommandError) as raised:
        seed(file=str(path), password=STRONG_PASSWORD)

    assert "user carol: A user with that e-mail address already exists. Nothing was written." in str(raised.value)
    assert User.objects.count() == count_before


UNREADABLE_FILE_CASES = {
    "malformed YAML": (b"users:\n  - username: [alice\n", ["not valid YAML"]),
    "top-level list": (b"- username: alice\n  email: alice@lab.example\n  role: regular\n", ["'users' list"]),
    "users is not a list": (b"users: alice\n", ["'users' list"]),
    "non-UTF-8": ("users:\n  - username: j\u00e9r\u00f4me\n".encode("latin-1"), ["Cannot read", "utf-8"]),
}


@pytest.mark.parametrize("case", UNREADABLE_FILE_CASES)
def test_file_that_cannot_be_read_as_a_users_list_is_refused(tmp_path, case):
    content, words = UNREADABLE_FILE_CASES[case]
    path = tmp_path / "users.yaml"
    path.write_bytes(content)
    UserFactory(username="existing")

    with pytest.raises(CommandError) as raised:
        seed(file=str(path), password=STRONG_PASSWORD)

    for word in [str(path), *words]:
        assert word in str(raised.value)
    assert User.objects.count() == 1


def test_missing_file_is_refused(tmp_path):
    path = tmp_path / "nowhere.yaml"

    with pytest.raises(CommandError) as raised:
        seed(file=str(path), password=STRONG_PASSWORD)

    assert "Cannot read" in str(raised.value)
    assert str(path) in str(raised.value)
    assert "No such file" in str(raised.value)
    assert User.objects.count() == 0
