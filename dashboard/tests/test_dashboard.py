import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.roles import Role
from accounts.tests.factories import UserFactory
from bookmarks.tests.factories import BookmarkFactory
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("dashboard")


def section_ids(response):
    return [section.key for section in response.context["sections"]]


def logged_in(client, **user_fields):
    user = UserFactory(**user_fields)
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.REGULAR, ["assigned_to_me"]),
        (Role.SIDEKICK, ["mine", "assigned_to_me", "bookmarks"]),
        (Role.MANAGER, ["mine", "assigned_to_me", "bookmarks", "assigned", "others"]),
        (Role.ADMIN, ["mine", "assigned_to_me", "bookmarks", "assigned", "others"]),
    ],
)
def test_each_role_sees_the_sections_of_its_rights(client, role, expected):
    logged_in(client, role=role)

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    assert section_ids(response) == expected


def test_other_users_vms_follow_the_sharing_minimum_role(client, settings):
    settings.VM_SHARING_MINIMUM_ROLE = Role.REGULAR
    logged_in(client, role=Role.REGULAR)
    VirtualMachineFactory(name="others-shared", shared=True)
    VirtualMachineFactory(name="others-private", shared=False)

    response = client.get(DASHBOARD)

    assert "others" in section_ids(response)
    assert "others-shared" in response.text
    assert "others-private" not in response.text


def test_sharing_disabled_hides_other_users_vms_even_from_admins(client, settings):
    settings.VM_SHARING_MINIMUM_ROLE = "disabled"
    logged_in(client, role=Role.ADMIN)
    VirtualMachineFactory(name="others-shared", shared=True)

    response = client.get(DASHBOARD)

    assert "others" not in section_ids(response)
    assert "others-shared" not in response.text


def test_each_vm_appears_in_the_sections_it_belongs_to(client):
    manager = logged_in(client, role=Role.MANAGER)
    regular = UserFactory(role=Role.REGULAR)
    VirtualMachineFactory(name="own-unassigned", owner=manager)
    VirtualMachineFactory(name="own-assigned", owner=manager, assigned_to=regular)
    VirtualMachineFactory(name="shared-by-other", shared=True)
    VirtualMachineFactory(name="private-of-other", shared=False)

    sections = {s.key: [vm.name for vm in s.page.object_list] for s in client.get(DASHBOARD).context["sections"]}

    assert sections["mine"] == ["own-assigned", "own-unassigned"]
    assert sections["assigned"] == ["own-assigned"]
    assert sections["others"] == ["shared-by-other"]
    assert sections["assigned_to_me"] == []


def test_a_regular_user_sees_the_vms_assigned_to_them_and_nothing_else(client):
    regular = logged_in(client, role=Role.REGULAR)
    VirtualMachineFactory(name="for-me", assigned_to=regular)
    VirtualMachineFactory(name="shared-not-for-me", shared=True)

    response = client.get(DASHBOARD)

    assert "for-me" in response.text
    assert "shared-not-for-me" not in response.text


def test_a_section_shows_its_count_and_pages_ten_at_a_time(client):
    owner = logged_in(client, role=Role.SIDEKICK)
    VirtualMachineFactory.create_batch(12, owner=owner)

    first = client.get(DASHBOARD)
    second = client.get(DASHBOARD, {"mine_page": 2})

    mine_first = first.context["sections"][0]
    assert mine_first.page.paginator.count == 12
    assert len(mine_first.page.object_list) == 10
    assert "Page 1 of 2" in first.text
    assert len(second.context["sections"][0].page.object_list) == 2


def test_a_section_search_filters_only_that_section(client):
    owner = logged_in(client, role=Role.SIDEKICK)
    VirtualMachineFactory(name="build-server", owner=owner)
    VirtualMachineFactory(name="gpu-box", owner=owner)
    BookmarkFactory(name="build docs", owner=owner)
    BookmarkFactory(name="wiki", owner=owner)

    response = client.get(DASHBOARD, {"mine_q": "build"})

    sections = {s.key: s for s in response.context["sections"]}
    assert [vm.name for vm in sections["mine"].page.object_list] == ["build-server"]
    assert len(sections["bookmarks"].page.object_list) == 2


def test_a_search_with_no_match_says_so(client):
    owner = logged_in(client, role=Role.SIDEKICK)
    VirtualMachineFactory(name="gpu-box", owner=owner)

    response = client.get(DASHBOARD, {"mine_q": "nothing-like-this"})

    assert "Nothing matches" in response.text
    assert "gpu-box" not in response.text


def test_the_dashboard_shows_whether_secrets_are_set_but_never_their_values(client, ssh_private_key):
    owner = logged_in(client, role=Role.SIDEKICK)
    VirtualMachineFactory(owner=owner, password="pw-dashboard-Secret-77", ssh_key=ssh_private_key)

    response = client.get(DASHBOARD)

    assert ">password<" in response.text
    assert ">key<" in response.text
    assert "pw-dashboard-Secret-77" not in response.text
    assert "PRIVATE KEY" not in response.text


def test_the_dashboard_never_decrypts_a_secret(client, ssh_private_key, decrypt_calls):
    manager = logged_in(client, role=Role.MANAGER)
    regular = UserFactory(role=Role.REGULAR)
    VirtualMachineFactory(owner=manager, assigned_to=regular, password="pw-1", ssh_key=ssh_private_key)
    VirtualMachineFactory(shared=True, password="pw-2")

    assert client.get(DASHBOARD).status_code == 200
    assert decrypt_calls == []


def _fill(manager, regular, count):
    """`count` VMs in every VM section of `manager`'s dashboard, with secrets, and `count` bookmarks."""
    other = UserFactory(role=Role.SIDEKICK)
    vms = []
    for index in range(count):
        vms.append(VirtualMachine(name=f"own-{index}", host="a.example", username="u", owner=manager, password="p"))
        vms.append(
            VirtualMachine(name=f"asg-{index}", host="b.example", username="u", owner=manager, assigned_to=regular)
        )
        vms.append(VirtualMachine(name=f"oth-{index}", host="c.example", username="u", owner=other, shared=True))
        vms.append(
            VirtualMachine(name=f"tome-{index}", host="d.example", username="u", owner=other, assigned_to=manager)
        )
    VirtualMachine.objects.bulk_create(vms)
    BookmarkFactory.create_batch(count, owner=manager)


def test_the_dashboard_runs_the_same_number_of_queries_for_10_and_1000_vms(client):
    manager = logged_in(client, role=Role.MANAGER)
    regular = UserFactory(role=Role.REGULAR)

    def dashboard_queries():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(DASHBOARD).status_code == 200
        return len(queries)

    _fill(manager, regular, 10)
    with_10 = dashboard_queries()
    _fill(manager, regular, 990)
    with_1000 = dashboard_queries()

    assert VirtualMachine.objects.owned_by(manager).count() == 2000
    assert with_1000 == with_10


def test_paging_one_section_keeps_the_others_search_and_returns_to_that_section(client):
    owner = logged_in(client, role=Role.SIDEKICK)
    VirtualMachineFactory.create_batch(12, owner=owner)

    response = client.get(DASHBOARD, {"bookmarks_q": "wiki"})

    assert 'href="?bookmarks_q=wiki&amp;mine_page=2#mine"' in response.text


def test_searching_one_section_keeps_the_other_sections_search_and_page(client):
    owner = logged_in(client, role=Role.SIDEKICK)
    VirtualMachineFactory(name="gpu-box", owner=owner)

    response = client.get(DASHBOARD, {"bookmarks_q": "wiki", "mine_q": "gpu", "mine_page": "1"})

    mine_form = response.text.split('id="mine"')[1].split("</form>")[0]
    assert '<input type="hidden" name="bookmarks_q" value="wiki">' in mine_form
    assert 'name="mine_page"' not in mine_form
    assert 'href="?bookmarks_q=wiki#mine">Clear</a>' in mine_form


def test_assigned_vms_lists_only_the_users_own_vms_even_for_an_admin(client):
    admin = logged_in(client, role=Role.ADMIN)
    regular = UserFactory(role=Role.REGULAR)
    VirtualMachineFactory(name="admins-assigned", owner=admin, assigned_to=regular)
    VirtualMachineFactory(name="someone-elses-assigned", shared=True, assigned_to=regular)

    sections = {s.key: [vm.name for vm in s.page.object_list] for s in client.get(DASHBOARD).context["sections"]}

    assert sections["assigned"] == ["admins-assigned"]
