"""A crash while a secret is being saved must not put the secret into Django's error report (the 500 e-mail)."""

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from machines import services
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

TYPED = "typed-secret-never-in-a-report-77"


def report_of(call):
    try:
        call()
    except RuntimeError:
        reporter = ExceptionReporter(RequestFactory().get("/"), *sys.exc_info())
        # The frames of the product, not those of the test and its client, which hold the typed value themselves.
        frames = [
            frame
            for frame in reporter.get_traceback_frames()
            if "/tests/" not in frame["filename"] and "django/test/" not in frame["filename"]
        ]
        return repr([(frame["vars"], frame["context_line"]) for frame in frames]) + str(sys.exc_info()[1])
    raise AssertionError("the call did not fail")


@pytest.fixture
def crash_on_write(monkeypatch):
    def crash(self, **values):
        raise RuntimeError("database went away")

    monkeypatch.setattr(type(VirtualMachine.objects.all()), "update_as_change", crash)


@pytest.mark.parametrize(
    "call",
    [
        lambda vm: services.vm_set_password(vm=vm, actor=vm.owner, password=TYPED),
        lambda vm: services.vm_update(vm=vm, actor=vm.owner, name="renamed", password=TYPED),
    ],
    ids=["set_password", "update"],
)
def test_a_secret_being_saved_is_not_in_the_error_report(crash_on_write, call):
    vm = VirtualMachineFactory(owner__role="sidekick")

    report = report_of(lambda: call(vm))

    assert "database went away" in report  # the report is of the crash inside the service
    assert TYPED not in report


def test_a_secret_typed_into_the_django_admin_is_not_in_the_error_report(crash_on_write, admin_client):
    from django.urls import reverse

    from machines.tests.test_admin import form_data

    vm = VirtualMachineFactory()
    url = reverse("admin:machines_virtualmachine_change", args=[vm.pk])
    data = {**form_data(admin_client, url, name="renamed"), "new_password": TYPED}

    report = report_of(lambda: admin_client.post(url, data))

    assert TYPED not in report
