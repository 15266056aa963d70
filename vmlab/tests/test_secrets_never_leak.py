"""End to end: known secrets go through every page that handles them and come out nowhere but the reveal.

The scan covers every response body, every log record (all loggers, DEBUG and up), every audit row, every
row django-axes keeps and `dumpdata` of every app. Each secret is looked for whole, by its first 16
characters, and (SSH keys) line by line, whatever the case.
"""

import logging
from datetime import timedelta
from io import StringIO
from uuid import uuid4

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from accounts.models import AuthenticatorApp, User
from accounts.tests.factories import UserFactory
from accounts.tests.two_factor_helpers import phone_of
from audit.models import Action, AuditEvent
from machines.models import VirtualMachine
from vmlab.tests.leakscan import leaks, needles, response_places, row_places

pytestmark = pytest.mark.django_db


def unique(label):
    return f"{label}-{uuid4().hex}"


def submit(client, url, changes):
    """POST the form of `url` as a browser would after opening it: its current values with `changes` typed in."""
    form = client.get(url).context["form"]
    shown = {name: form[name].value() for name in form.fields}
    data = {name: value for name, value in shown.items() if value not in (None, False)}
    return client.post(url, data | changes, follow=True)


def log_in(client, url, username, password):
    return client.post(url, {"username": username, "password": password}, follow=True)


@pytest.mark.parametrize("password_in_username_box", [False, True], ids=["", "password-in-username-box"])
def test_secrets_never_leak_into_pages_logs_audit_rows_lockout_rows_or_dumps(
    every_logger, responses, ssh_private_key, rsa_pem_private_key, password_in_username_box
):
    vm_password, new_vm_password = unique("Vm-Pass"), unique("Vm-Pass-New")
    owner_password, admin_password, newcomer_password = unique("Owner-Acct"), unique("Admin-Acct"), unique("New-Acct")
    wrong_password = unique("Wrong-Acct")
    secrets = needles(
        passwords={
            "VM password": vm_password,
            "new VM password": new_vm_password,
            "owner's account password": owner_password,
            "admin's account password": admin_password,
            "newcomer's account password": newcomer_password,
            "mistyped account password": wrong_password,
        },
        keys={"SSH key": ssh_private_key, "uploaded SSH key": rsa_pem_private_key},
    )
    UserFactory(username="owner", role=Role.MANAGER, password=owner_password)
    UserFactory(username="root", role=Role.ADMIN, password=admin_password)
    assignee = UserFactory(username="assignee", role=Role.REGULAR)
    login_url = reverse("accounts:login")
    anonymous, browser, admin_browser = Client(), Client(), Client()

    anonymous.post(
        reverse("accounts:register"),
        {"username": "newcomer", "email": "newcomer@lab.example", "first_name": "N", "last_name": "C"}
        | {"password1": newcomer_password, "password2": newcomer_password},
        follow=True,
    )
    anonymous.post(reverse("accounts:logout"), follow=True)
    log_in(browser, login_url, "owner", wrong_password)
    if password_in_username_box:
        log_in(browser, login_url, owner_password, owner_password)
        log_in(browser, login_url, owner_password, "")
    assert log_in(browser, login_url, "owner", owner_password).redirect_chain[-1][0] == reverse("dashboard")

    browser.post(
        reverse("machines:create"),
        {"name": "leak-check", "host": "leak.lab.example", "port": 22, "username": "lab", "shared": "on"}
        | {"password": vm_password, "ssh_key": ssh_private_key},
        follow=True,
    )
    vm = VirtualMachine.objects.get(name="leak-check")
    vm_url = lambda name: reverse(f"machines:{name}", args=[vm.pk])  # noqa: E731
    for page in ("detail", "reveal", "ssh_config"):
        browser.get(vm_url(page))
    submit(browser, vm_url("edit"), {"host": "leak2.lab.example", "port": 2222})
    submit(browser, vm_url("password"), {"password": new_vm_password})
    submit(browser, vm_url("ssh_key"), {"ssh_key_file": SimpleUploadedFile("id_rsa", rsa_pem_private_key.encode())})
    refused = browser.post(vm_url("reveal"), {"secret": "password", "account_password": wrong_password})
    revealed = browser.post(vm_url("reveal"), {"secret": "password", "account_password": owner_password})
    responses.remove(revealed)
    browser.post(vm_url("share"), {"shared": "false"}, follow=True)
    submit(browser, vm_url("assign"), {"assigned_to": assignee.pk})
    browser.get(reverse("dashboard"))
    browser.get(vm_url("detail") + "no-such-page/")  # logged by django.request

    log_in(admin_browser, "/admin/login/", "root", admin_password)
    admin_pages = [
        reverse("admin:machines_virtualmachine_changelist"),
        reverse("admin:machines_virtualmachine_change", args=[vm.pk]),
        reverse("admin:audit_auditevent_changelist"),
        *(reverse("admin:audit_auditevent_change", args=[event.pk]) for event in AuditEvent.objects.all()),
        reverse("audit:event_list"),
        reverse("dashboard"),
    ]
    for url in admin_pages:
        assert admin_browser.get(url).status_code == 200, url
    dump = StringIO()
    call_command("dumpdata", stdout=dump)
    for client in (browser, admin_browser):
        client.post(reverse("accounts:logout"), follow=True)

    # The steps happened as intended, so the scan below looks at real traces of them.
    assert User.objects.filter(username="newcomer").exists()
    assert "Your password is not correct." in refused.text
    assert revealed.status_code == 200
    assert set(AuditEvent.objects.filter(action=Action.SECRET_SET).values_list("details__field", flat=True)) == {
        "password",
        "ssh_key",
    }
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        Action.USER_REGISTER, Action.LOGIN, Action.LOGIN_FAILED, Action.LOGOUT, Action.VM_CREATE, Action.VM_UPDATE,
        Action.SECRET_SET, Action.SECRET_REVEAL_DENIED, Action.SECRET_REVEAL, Action.VM_SHARE, Action.VM_ASSIGN,
    }  # fmt: skip
    # The one deliberate reveal shows the secret: proof that the scan finds a secret where there is one.
    assert "new VM password" in {name for _, name in leaks(response_places([revealed]), secrets)}

    assert reverse("audit:event_list") in {response.request["PATH_INFO"] for response in responses}
    records = every_logger.records
    assert {"django.request", "django.template", "axes.handlers.database"} <= {record.name for record in records}
    places = [
        *response_places(responses),
        *((f"log {record.name}", logging.Formatter().format(record)) for record in records),
        *row_places(AuditEvent, AccessAttempt, AccessFailureLog, AccessLog),
        ("dumpdata", dump.getvalue()),
    ]
    found = leaks(places, secrets)
    assert not found, "\n".join(f"{name} in {where}" for where, name in found)


def test_an_authenticator_apps_seed_shows_on_its_set_up_page_only(every_logger, responses, settings):
    ada_password, root_password = unique("Ada-Acct"), unique("Admin-Acct")
    ada = UserFactory(username="ada", role=Role.SIDEKICK, password=ada_password)
    UserFactory(username="root", role=Role.ADMIN, password=root_password)
    set_up_url = reverse("accounts:two_factor_totp")
    browser, admin_browser = Client(), Client()

    log_in(browser, reverse("accounts:login"), "ada", ada_password)
    browser.get(set_up_url)
    app = AuthenticatorApp.objects.get(user=ada)
    phone = phone_of(app)
    browser.post(set_up_url, {"otp_token": "00000"}, follow=True)  # a typo: the set-up page again
    browser.post(set_up_url, {"otp_token": phone.now()}, follow=True)
    with time_machine.travel(timezone.now() + timedelta(seconds=60)):
        browser.post(reverse("accounts:logout"), follow=True)
        log_in(browser, reverse("accounts:login"), "ada", ada_password)
        browser.post(reverse("accounts:second_factor"), {"otp_token": phone.now()}, follow=True)
        for page in ("accounts:profile", "accounts:two_factor"):
            browser.get(reverse(page))
    log_in(admin_browser, "/admin/login/", "root", root_password)
    for url in (
        reverse("admin:accounts_authenticatorapp_changelist"),
        reverse("admin:accounts_authenticatorapp_change", args=[app.pk]),
        reverse("admin:accounts_user_change", args=[ada.pk]),
        reverse("admin:audit_auditevent_changelist"),
    ):
        assert admin_browser.get(url).status_code == 200, url
    dump = StringIO()
    call_command("dumpdata", stdout=dump)
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)  # the key is lost: an error is logged
    after_the_loss = Client()
    log_in(after_the_loss, reverse("accounts:login"), "ada", ada_password)
    after_the_loss.post(reverse("accounts:second_factor"), {"otp_token": phone.now()})

    secret = phone.secret
    seeds = needles(
        passwords={
            "seed (hex)": app.seed,
            "seed (base32)": secret,
            "seed (base32 as shown)": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        },
        keys={},
    )
    set_up_pages = [r for r in responses if r.request["PATH_INFO"] == set_up_url and r.status_code == 200]
    for response in set_up_pages:
        responses.remove(response)
    # The set-up page showed it, and again after the typo: proof that the scan finds a seed where there is one.
    assert len(set_up_pages) == 2
    assert all(leaks(response_places([response]), seeds) for response in set_up_pages)
    assert AuditEvent.objects.filter(action=Action.LOGIN, details__second_factor="totp").exists()
    assert "cannot check codes" in every_logger.text
    places = [
        *response_places(responses),
        *((f"log {record.name}", logging.Formatter().format(record)) for record in every_logger.records),
        *row_places(AuditEvent, AccessAttempt, AccessFailureLog, AccessLog),
        ("dumpdata", dump.getvalue()),
    ]
    found = leaks(places, seeds)
    assert not found, "\n".join(f"{name} in {where}" for where, name in found)
