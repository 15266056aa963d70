"""The pseudo-locale sweep: every page of the URL configuration, as each role and with data, and every e-mail, in a
language that wraps each translated string in ⟦ ⟧. Visible text outside the markers (the users' own data and code
excepted) is a string that does not go through the translations: it would stay English on the Italian pages.

A new page or e-mail is in the sweep without being listed here: pages come from the URL configuration, e-mails from
the outbox of the flows that send them."""

import datetime
import re

import pytest
from django.apps import apps
from django.contrib import admin as django_admin
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from access_requests import reminders
from access_requests import services as request_services
from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tokens import token_create
from bookmarks.models import Bookmark
from bookmarks.tests.factories import BookmarkFactory
from machines import services as machine_services
from machines.tests.factories import VirtualMachineFactory
from vmlab.core.fields import EncryptedTextField
from vmlab.tests import pseudo_locale
from vmlab.tests.urlconf import every_portal_page

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
PAGES = every_portal_page()
ROLES = [Role.ADMIN, Role.MANAGER, Role.REGULAR, Role.SIDEKICK, Role.NEW_USER, None]


@pytest.fixture(autouse=True)
def _pseudo(monkeypatch):
    pseudo_locale.install(monkeypatch)


def person(role, username, **fields):
    return UserFactory(
        username=username, role=role, first_name="Grace", last_name=username.title(), language="xx", **fields
    )


@pytest.fixture
def lab(django_capture_on_commit_callbacks):
    """A small lab with one of everything a page can show: people of every role, VMs owned, shared, assigned (with
    an end) and with a history, bookmarks with tags, access requests in each state, an API token, audit rows."""
    with django_capture_on_commit_callbacks(execute=True):  # the e-mails go out when a transaction commits
        return _lab(timezone.now())


def _lab(now):
    people = {
        Role.ADMIN: person(Role.ADMIN, "root-admin"),
        Role.MANAGER: person(Role.MANAGER, "mara-manager"),
        Role.REGULAR: person(Role.REGULAR, "rey-regular", access_expires_at=now + 2 * DAY),
        Role.SIDEKICK: person(Role.SIDEKICK, "sid-sidekick"),
        Role.NEW_USER: person(Role.NEW_USER, "nel-newcomer"),
    }
    disabled = person(Role.REGULAR, "dis-disabled", is_active=False)
    manager, regular = people[Role.MANAGER], people[Role.REGULAR]
    vm = VirtualMachineFactory(
        owner=manager, name="gpu-box", host="127.0.0.2", username="labuser", password="pw", shared=True
    )
    machine_services.vm_assign(vm=vm, actor=manager, assignee=regular, until=now + 2 * DAY)
    for role, owner in people.items():
        if role != Role.NEW_USER:
            VirtualMachineFactory(owner=owner, name=f"box-of-{owner.username}", host="127.0.0.3")
    bookmark = BookmarkFactory(owner=manager, name="Grafana board", tags="monitoring gpu")
    BookmarkFactory(owner=regular, name="Thesis notes", tags="thesis")
    pending = request_services.request_create(requester=regular, purpose="Training runs", until=now + 30 * DAY)
    approved = request_services.request_create(requester=people[Role.SIDEKICK], purpose="Lab course", until=now + DAY)
    spare = VirtualMachineFactory(owner=manager, name="spare-box", host="127.0.0.4")
    request_services.request_approve(request=approved, actor=manager, until=now + DAY, vm=spare)
    denied = request_services.request_create(requester=regular, purpose="Crypto mining", until=now + DAY)
    request_services.request_deny(request=denied, actor=manager, reason="Not what the lab is for")
    request_services.request_extension(requester=regular, vm=vm, until=now + 9 * DAY, purpose="Defence moved")
    token, _plaintext = token_create(user=manager, name="ansible", scope="write")
    return {
        "people": people,
        "vm": vm,
        "bookmark": bookmark,
        "request": pending,
        "token": token,
        "newcomer": people[Role.NEW_USER],
        "disabled": disabled,
    }


def object_kwargs(name, kwargs, lab):
    """The page's address arguments, pointing at the lab's objects."""
    if "pk" not in kwargs:
        return kwargs
    namespace = name.split(":")[0]
    target = {
        "machines": lab["vm"],
        "connect": lab["vm"],
        "bookmarks": lab["bookmark"],
        "access_requests": lab["request"],
        "accounts": lab["token"],
        "people": lab["people"][Role.REGULAR],
    }[namespace]
    if name in ("people:user_approve", "people:user_deny"):
        target = lab["newcomer"]
    elif name in ("people:user_enable", "people:user_delete"):
        target = lab["disabled"]
    return {**kwargs, "pk": target.pk}


# Rows that are not the users' words: the task queue's schedules are named by VM Lab (jobs/schedules.py) and must be
# shown translated.
NOT_USER_DATA = {"django_q.Schedule"}


def user_data():
    """Every text the lab's users typed or the factories made: names, hosts, links, purposes, ... (never a secret:
    encrypted columns are left out), and the forms pages show them in: full names, single tags."""
    values = set()
    for model in apps.get_models():
        if model._meta.label in NOT_USER_DATA:
            continue
        fields = [field.attname for field in model._meta.concrete_fields if not isinstance(field, EncryptedTextField)]
        for row in model.objects.values_list(*fields):
            values.update(value for value in row if isinstance(value, str))
    values.update(user.get_full_name() for user in User.objects.all())
    values.update(tag for tags in Bookmark.objects.values_list("tags", flat=True) for tag in tags.split())
    return pseudo_locale.data_pattern(values)


def english_left(response, data, invariant=None) -> list[str]:
    """The English on a page; files to download (an export in the browsers' bookmark format) are not pages."""
    if "text/html" not in response.get("Content-Type", "") or "attachment" in response.get("Content-Disposition", ""):
        return []
    return pseudo_locale.untranslated(pseudo_locale.visible_texts(response.text), data, invariant)


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "visitor")
def test_every_page_speaks_only_through_the_translations(client, lab, role):
    if role is not None:
        client.force_login(lab["people"][role])
    data = user_data()
    found = {}
    for name, kwargs in PAGES:
        response = client.get(reverse(name, kwargs=object_kwargs(name, kwargs, lab)))
        if left := english_left(response, data):
            found[name] = left

    assert not found, pseudo_locale.report(found)


def test_every_admin_page_speaks_only_through_the_translations(client, lab):
    client.force_login(lab["people"][Role.ADMIN])
    data = user_data()
    found = {}
    urls = [reverse("admin:index")]
    for model, model_admin in django_admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{prefix}_changelist"))
        if model_admin.has_add_permission(_admin_request(lab)):
            urls.append(reverse(f"{prefix}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"{prefix}_change", args=[first.pk]))
    for url in urls:
        if left := english_left(client.get(url), data, ADMIN_INVARIANT):
            found[url] = left

    assert not found, pseudo_locale.report(found)


# Django's admin writes a boolean column's icon with alt="True" / "False" and its search icon with alt="Search" (not
# translated in Django itself), and shows the password hasher's name and a masked hash, and an audit row's details as
# JSON: code, not interface text.
ADMIN_INVARIANT = re.compile(r'\b(True|False|Search)\b|\bmd5\b|\w*\*{4,}|\{".*\}')


def _admin_request(lab):
    request = RequestFactory().get("/admin/")
    request.user = lab["people"][Role.ADMIN]
    return request


def test_every_email_speaks_only_through_the_translations(client, lab, django_capture_on_commit_callbacks):
    """The lab fixture has sent the access-request e-mails already; the reminders and the password reset remain."""
    regular = lab["people"][Role.REGULAR]
    User.objects.filter(pk=regular.pk).update(access_expires_at=timezone.now() + DAY)
    with django_capture_on_commit_callbacks(execute=True):
        reminders.send_due_reminders()
    client.post(reverse("accounts:password_reset"), {"email": lab["people"][Role.MANAGER].email})
    data = user_data()

    subjects = {message.subject for message in mail.outbox}
    found = {
        message.subject: left
        for message in mail.outbox
        if (left := pseudo_locale.untranslated([message.subject, *message.body.splitlines()], data))
    }

    assert len(subjects) >= 8  # created, approved, denied, extension, three reminders, password reset
    assert not found, pseudo_locale.report(found)
