"""Reading and applying a first-users file (fixtures/first_users.yaml) for `manage.py seed_users`."""

import secrets
from dataclasses import dataclass

import yaml
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from access.roles import Role
from accounts.models import User
from vmlab.core.dates import parse_end

REQUIRED_KEYS = {"username", "email", "role"}
OPTIONAL_KEYS = {"first_name", "last_name", "access_expires_at"}
# Not text: a date (the end of that day, in TIME_ZONE) or a date and time, which YAML may read as such.
DATE_KEYS = {"access_expires_at"}


class SeedFileError(ValueError):
    """The users file cannot be applied; the message says where and why."""


@dataclass(frozen=True)
class SeedResult:
    created: list[tuple[User, str | None]]  # (user, generated password or None if given)
    existing: list[str]


def parse_seed_file(text: str) -> list[dict]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SeedFileError(_("not valid YAML: %(error)s") % {"error": error}) from None
    if not isinstance(document, dict) or not isinstance(document.get("users"), list):
        raise SeedFileError(_("expected a mapping with a 'users' list at the top level"))
    entries = document["users"]
    seen_usernames, seen_emails = set(), set()
    for number, entry in enumerate(entries, start=1):
        where = _("user #%(number)d") % {"number": number}
        if not isinstance(entry, dict):
            message = _("%(where)s: expected a mapping of username, email, role, first_name, last_name")
            raise SeedFileError(message % {"where": where})
        missing = REQUIRED_KEYS - entry.keys()
        unknown = entry.keys() - REQUIRED_KEYS - OPTIONAL_KEYS
        if missing:
            raise SeedFileError(_("%(where)s: missing %(keys)s") % {"where": where, "keys": ", ".join(sorted(missing))})
        if unknown:
            keys = ", ".join(sorted(map(str, unknown)))
            message = ngettext("%(where)s: unknown key(s) %(keys)s", "%(where)s: unknown key(s) %(keys)s", len(unknown))
            raise SeedFileError(message % {"where": where, "keys": keys})
        # YAML reads "email:" with nothing after it as null, and 1234 as a number: say which key, and what to do.
        empty = sorted(str(key) for key, value in entry.items() if value is None)
        if empty:
            message = _("%(where)s: %(keys)s has no value: fill it in")
            raise SeedFileError(message % {"where": where, "keys": ", ".join(empty)})
        not_text = sorted(
            str(key) for key, value in entry.items() if key not in DATE_KEYS and not isinstance(value, str)
        )
        if not_text:
            message = _("%(where)s: every value must be text; write %(keys)s in quotes")
            raise SeedFileError(message % {"where": where, "keys": ", ".join(not_text)})
        where = _("user #%(number)d (%(username)s)") % {"number": number, "username": entry["username"]}
        for key in sorted(DATE_KEYS & entry.keys()):
            try:
                entry[key] = parse_end(entry[key])
            except ValueError:
                message = _(
                    "%(where)s: %(key)s %(value)s is not a date (YYYY-MM-DD, access ends at the end of that "
                    "day) or a date and time (YYYY-MM-DD HH:MM, with an optional UTC offset such as +01:00)"
                )
                raise SeedFileError(message % {"where": where, "key": key, "value": repr(str(entry[key]))}) from None
        if entry["role"] not in Role.values:
            message = _("%(where)s: unknown role %(role)s; use one of %(roles)s")
            raise SeedFileError(
                message % {"where": where, "role": repr(entry["role"]), "roles": ", ".join(Role.values)}
            )
        username, email = entry["username"].lower(), entry["email"].lower()
        if username in seen_usernames:
            raise SeedFileError(_("%(where)s: the username appears twice in the file") % {"where": where})
        if email in seen_emails:
            message = _("%(where)s: the e-mail %(email)s appears twice in the file")
            raise SeedFileError(message % {"where": where, "email": entry["email"]})
        seen_usernames.add(username)
        seen_emails.add(email)
    return entries


def _validation_text(error: ValidationError) -> str:
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return "; ".join(
        " ".join(messages) if field == NON_FIELD_ERRORS else f"{field}: {' '.join(messages)}"
        for field, messages in error.message_dict.items()
    )


@transaction.atomic
def seed_users(entries: list[dict], password: str | None = None) -> SeedResult:
    """Create the users that do not exist yet; never touch an existing one. All or nothing."""
    wanted = [entry["username"].lower() for entry in entries]
    existing = set(
        User.objects.annotate(username_lower=Lower("username"))
        .filter(username_lower__in=wanted)
        .values_list("username", flat=True)
    )
    existing_lower = {username.lower() for username in existing}
    to_create = []
    for entry in entries:
        if entry["username"].lower() in existing_lower:
            continue
        user = User(**entry)
        user_password = password or secrets.token_urlsafe(12)
        try:
            user.full_clean(exclude=["password"])
            validate_password(user_password, user)
        except ValidationError as error:
            message = _("user %(username)s: %(problems)s")
            raise SeedFileError(
                message % {"username": entry["username"], "problems": _validation_text(error)}
            ) from None
        user.set_password(user_password)
        to_create.append((user, None if password else user_password))
    for user, _password in to_create:
        user.save()
    return SeedResult(created=to_create, existing=sorted(existing))
