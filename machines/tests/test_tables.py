"""The VM table's rows (machines.tables.vm_rows, templates/machines/includes/vm_table.html)."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from connect.status import with_status
from machines.models import VirtualMachine
from machines.tables import vm_rows
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

MARKUP = '<b onmouseover="x">bold</b>'


def table():
    # As every page that shows the table reads its rows: with the live status (connect.status.with_status).
    return render_to_string("machines/includes/vm_table.html", {"vms": with_status(VirtualMachine.objects.all())})


def test_each_row_links_to_its_own_vm():
    vms = VirtualMachineFactory.create_batch(3)

    rows = vm_rows(VirtualMachine.objects.for_table())

    assert [row["url"] for row in rows] == [reverse("machines:detail", args=[vm.pk]) for vm in vms]


def test_a_row_shows_the_port_only_when_it_is_not_22():
    VirtualMachineFactory(name="a-default", username="ops", host="a.lab.example", port=22)
    VirtualMachineFactory(name="b-other", username="ops", host="b.lab.example", port=2222)

    html = table()

    assert "<code>ops@a.lab.example</code>" in html
    assert "<code>ops@b.lab.example:2222</code>" in html


def test_a_row_says_which_secrets_are_set_without_reading_them(decrypt_calls, ssh_private_key):
    VirtualMachineFactory(name="a-both", password="vm-secret-1", ssh_key=ssh_private_key)
    VirtualMachineFactory(name="b-none")

    both, none = vm_rows(VirtualMachine.objects.for_table())

    assert (both["has_password"], both["has_ssh_key"], both["no_secret"]) == (True, True, False)
    assert (none["has_password"], none["has_ssh_key"], none["no_secret"]) == (False, False, True)
    assert decrypt_calls == []


def test_a_row_names_the_owner_marks_a_disabled_one_and_a_dash_for_nobody_assigned():
    VirtualMachineFactory(owner=UserFactory(username="gone", is_active=False), assigned_to=None)

    html = table()

    assert 'gone <span class="badge badge-danger">disabled</span>' in html
    assert '<td class="hide-small">—</td>' in html


def test_names_and_usernames_with_markup_are_escaped_in_the_table():
    owner = UserFactory(username="owner<b>", role=Role.SIDEKICK)
    VirtualMachineFactory(name=MARKUP, owner=owner, assigned_to=UserFactory(username='x"><i>', role=Role.REGULAR))

    html = table()

    assert MARKUP not in html and "<i>" not in html and "owner<b>" not in html
    assert "&lt;b onmouseover=&quot;x&quot;&gt;bold&lt;/b&gt;" in html
    assert "owner&lt;b&gt;" in html
    assert "x&quot;&gt;&lt;i&gt;" in html
