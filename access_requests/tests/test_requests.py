"""Access requests from asking to the decision: who may do what (PRODUCT.md §3), what each step writes, audits and
e-mails, and what the requester sees."""

import datetime
import html

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from access.roles import Role
from access_requests import services
from access_requests.models import AccessRequest
from access_requests.tests.factories import AccessRequestFactory
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines import services as machine_services
from machines.models import Assignment, VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db

DAYS = datetime.timedelta(days=1)


@pytest.fixture
def kteo():
    return UserFactory(role=Role.MANAGER, username="kteo")


@pytest.fixture
def slong():
    return UserFactory(role=Role.MANAGER, username="slong")


@pytest.fixture
def ada():
    return UserFactory(role=Role.REGULAR, username="ada", first_name="Ada")


@pytest.fixture
def gpu(kteo):
    return VirtualMachineFactory(owner=kteo, name="gpu-1", shared=True)


@pytest.fixture
def sent(django_capture_on_commit_callbacks, mailoutbox):
    """Run what a request queued once it commits (the e-mails), and give the outbox."""

    def sent(action):
        with django_capture_on_commit_callbacks(execute=True):
            result = action()
        return result

    sent.outbox = mailoutbox
    return sent


def audit(action):
    return list(AuditEvent.objects.filter(action=action).values_list("actor_label", "details"))


# Asking


def test_a_student_asks_for_a_vm_on_the_request_page(client, ada, kteo, slong, sent):
    client.force_login(ada)
    data = {"purpose": "Thesis: training runs", "until": "2099-06-30", "vm": ""}

    response = sent(lambda: client.post(reverse("access_requests:create"), data, follow=True))

    assert "Your request was sent to the lab's managers" in html.unescape(response.text)
    [request] = AccessRequest.objects.all()
    assert (request.requester, request.kind, request.state, request.vm) == (ada, "vm", "pending", None)
    assert f"{request.until:%Y-%m-%d %H:%M}" == "2099-06-30 23:59"
    assert sorted(message.to[0] for message in sent.outbox) == ["kteo@lab.example", "slong@lab.example"]
    assert sent.outbox[0].subject == "[VM Lab] ada asks for a VM"
    assert "Thesis: training runs" in sent.outbox[0].body
    assert f"/requests/{request.pk}/" in sent.outbox[0].body
    assert audit(Action.REQUEST_CREATE) == [("ada", {"until": "2099-06-30T23:59:59.999999+00:00", "vm": None})]


def test_asking_for_a_particular_shared_vm_tells_its_owner_and_the_admins(ada, kteo, slong, gpu, sent):
    admin = UserFactory(role=Role.ADMIN, username="root")

    sent(lambda: services.request_create(requester=ada, purpose="Course", until=timezone.now() + DAYS, vm=gpu))

    assert sorted(message.to[0] for message in sent.outbox) == ["kteo@lab.example", f"{admin.username}@lab.example"]
    assert sent.outbox[0].subject == "[VM Lab] ada asks for “gpu-1”"


def test_the_request_page_offers_only_shared_vms_of_managers_by_name_and_owner(client, ada, kteo, gpu):
    VirtualMachineFactory(owner=kteo, name="private-box", shared=False)
    VirtualMachineFactory(owner=UserFactory(role=Role.SIDEKICK), name="sidekick-box", shared=True)
    client.force_login(ada)

    page = client.get(reverse("access_requests:create")).text

    assert "gpu-1 (kteo)" in page
    assert "private-box" not in page and "sidekick-box" not in page
    assert gpu.host not in page


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN, Role.NEW_USER])
def test_only_regular_users_and_sidekicks_ask(client, role):
    client.force_login(UserFactory(role=role))

    response = client.get(reverse("access_requests:create"))

    assert response.status_code in (404, 302)  # newcomers go to the waiting page
    with pytest.raises(PermissionDenied):
        services.request_create(requester=UserFactory(role=role), purpose="x", until=timezone.now() + DAYS)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"purpose": "", "until": "2099-06-30"}, "This field is required."),
        ({"purpose": "x", "until": "2001-06-30"}, "Choose a moment in the future."),
        ({"purpose": "x", "until": "30/06/2099"}, "Enter a date (YYYY-MM-DD), or a date and time (YYYY-MM-DD HH:MM)."),
        ({"purpose": "x", "until": "2099-06-30", "vm": "999999"}, "Choose a VM from the list, or any."),
    ],
)
def test_a_bad_request_is_refused_with_a_message(client, ada, data, message):
    client.force_login(ada)

    response = client.post(reverse("access_requests:create"), data)

    assert response.status_code == 200
    assert message in response.text
    assert not AccessRequest.objects.exists()


# Deciding


def test_a_manager_approves_by_assigning_one_of_their_vms_until_a_date(client, ada, kteo, gpu, sent):
    request = AccessRequestFactory(requester=ada)
    client.force_login(kteo)
    data = {"vm": gpu.pk, "until": "2099-06-30T18:00", "note": "Use /scratch."}

    response = sent(lambda: client.post(reverse("access_requests:approve", args=[request.pk]), data, follow=True))

    assert "Approved: ada has “gpu-1”" in response.text
    request.refresh_from_db()
    decision = (request.state, request.decided_by, request.granted_vm, request.reason)
    assert decision == ("approved", kteo, gpu, "Use /scratch.")
    vm = VirtualMachine.objects.get(pk=gpu.pk)
    assert (vm.assigned_to, f"{vm.assigned_until:%Y-%m-%d %H:%M}") == (ada, "2099-06-30 18:00")
    assert Assignment.objects.get(vm=gpu).assigned_by == kteo
    [message] = sent.outbox
    assert (message.to, message.subject) == (["ada@lab.example"], "[VM Lab] Approved: “gpu-1” until 30 June 2099")
    assert "Use /scratch." in message.body and "Hello Ada," in message.body
    assert [actor for actor, _details in audit(Action.REQUEST_APPROVE)] == ["kteo"]
    assert [actor for actor, _details in audit(Action.VM_ASSIGN)] == ["kteo"]


def test_a_manager_cannot_grant_another_managers_vm(ada, kteo, slong, gpu):
    request = AccessRequestFactory(requester=ada, vm=gpu)

    with pytest.raises(ValidationError, match="You can only assign VMs of your own"):
        services.request_approve(request=request, actor=slong, vm=gpu, until=timezone.now() + DAYS)

    assert AccessRequest.objects.get(pk=request.pk).state == "pending"
    assert VirtualMachine.objects.get(pk=gpu.pk).assigned_to is None


def test_the_approve_form_offers_only_the_managers_own_vms(client, ada, kteo, slong, gpu):
    VirtualMachineFactory(owner=slong, name="slongs-box", shared=True)
    request = AccessRequestFactory(requester=ada, vm=gpu)
    client.force_login(kteo)

    page = client.get(reverse("access_requests:detail", args=[request.pk])).text

    assert f'<option value="{gpu.pk}" selected>gpu-1</option>' in page
    assert "slongs-box" not in page


def test_an_admin_may_grant_any_vm_they_may_assign(ada, kteo, gpu):
    admin = UserFactory(role=Role.ADMIN)
    request = AccessRequestFactory(requester=ada)

    services.request_approve(request=request, actor=admin, vm=gpu, until=timezone.now() + DAYS)

    assert VirtualMachine.objects.get(pk=gpu.pk).assigned_to == ada


def test_a_denial_says_why_to_the_requester(client, ada, kteo, sent):
    request = AccessRequestFactory(requester=ada)
    client.force_login(kteo)

    sent(lambda: client.post(reverse("access_requests:deny", args=[request.pk]), {"reason": "No GPU free until May."}))

    request.refresh_from_db()
    assert (request.state, request.reason, request.decided_by) == ("denied", "No GPU free until May.", kteo)
    [message] = sent.outbox
    assert "No GPU free until May." in message.body
    client.force_login(ada)
    dashboard = client.get(reverse("dashboard")).text
    assert "denied" in dashboard and "No GPU free until May." in dashboard


def test_a_denial_without_a_reason_is_refused(client, ada, kteo):
    request = AccessRequestFactory(requester=ada)
    client.force_login(kteo)

    response = client.post(reverse("access_requests:deny", args=[request.pk]), {"reason": "  "})

    assert response.status_code == 400
    assert "Say why the request is denied" in response.text
    assert AccessRequest.objects.get(pk=request.pk).state == "pending"


def test_a_request_is_decided_once(ada, kteo, slong, gpu):
    request = AccessRequestFactory(requester=ada)
    services.request_deny(request=request, actor=slong, reason="No.")

    with pytest.raises(ValidationError, match="already decided"):
        services.request_approve(request=request, actor=kteo, vm=gpu, until=timezone.now() + DAYS)

    assert VirtualMachine.objects.get(pk=gpu.pk).assigned_to is None


def test_the_requester_may_withdraw_a_waiting_request(client, ada):
    request = AccessRequestFactory(requester=ada)
    client.force_login(ada)

    response = client.post(reverse("access_requests:withdraw", args=[request.pk]), follow=True)

    assert "Your request was withdrawn." in response.text
    assert AccessRequest.objects.get(pk=request.pk).state == "withdrawn"
    assert audit(Action.REQUEST_CANCEL) == [("ada", {})]


def test_approving_for_someone_who_lost_their_access_is_refused(ada, kteo, gpu):
    request = AccessRequestFactory(requester=ada)
    ada.is_active = False
    ada.save()

    with pytest.raises(ValidationError, match="VMs are assigned to active regular or sidekick users"):
        services.request_approve(request=request, actor=kteo, vm=gpu, until=timezone.now() + DAYS)


# The queue and the navigation


def test_the_queue_lists_waiting_requests_oldest_first_with_a_count_in_the_navigation(client, kteo, ada):
    first = AccessRequestFactory(requester=ada, purpose="first")
    second = AccessRequestFactory(purpose="second")
    AccessRequestFactory(purpose="decided", state="denied")
    client.force_login(kteo)

    response = client.get(reverse("access_requests:queue"))

    assert [r.pk for r in response.context["page_obj"].object_list] == [first.pk, second.pk]
    assert 'aria-label="2 waiting">2</span>' in response.text


def test_the_navigation_count_costs_one_query(client, kteo, django_assert_max_num_queries):
    client.force_login(kteo)
    client.get(reverse("dashboard"))  # warm the session
    with django_assert_max_num_queries(100) as few:
        client.get(reverse("dashboard"))
    AccessRequestFactory.create_batch(5)
    with django_assert_max_num_queries(100) as many:
        client.get(reverse("dashboard"))

    assert len(many) == len(few)
    assert sum("access_requests_accessrequest" in query["sql"] for query in many.captured_queries) == 1


def test_regular_users_see_no_queue(client, ada):
    client.force_login(ada)

    assert client.get(reverse("access_requests:queue")).status_code == 404
    assert "Requests" not in client.get(reverse("dashboard")).text.split("<main")[0].replace("My requests", "")


# More time


@pytest.fixture
def running(ada, kteo, gpu):
    until = timezone.now() + 2 * DAYS
    machine_services.vm_assign(vm=gpu, actor=kteo, assignee=ada, until=until)
    return until


def test_the_assignee_asks_for_more_time_and_the_owner_grants_it(client, ada, kteo, gpu, running, sent):
    client.force_login(ada)
    response = sent(
        lambda: client.post(
            reverse("access_requests:extend", args=[gpu.pk]), {"until": "2099-01-31", "purpose": "Defence moved."}
        )
    )
    assert response.status_code == 302
    [request] = AccessRequest.objects.filter(kind="extension")
    [to_owner] = sent.outbox
    assert to_owner.to == ["kteo@lab.example"]
    assert "asks to keep it until 31 January 2099, 23:59" in to_owner.body

    sent(lambda: services.request_approve(request=request, actor=kteo, until=request.until))

    assert VirtualMachine.objects.get(pk=gpu.pk).assigned_until == request.until
    [row] = Assignment.objects.filter(vm=gpu)
    assert row.until == request.until
    assert sent.outbox[-1].subject == "[VM Lab] Approved: more time on “gpu-1” until 31 January 2099"


def test_more_time_must_end_later_than_now(ada, gpu, running):
    with pytest.raises(ValidationError, match="after the current end"):
        services.request_extension(requester=ada, vm=gpu, until=running - DAYS, purpose="x")


def test_one_request_for_more_time_at_once(ada, gpu, running):
    services.request_extension(requester=ada, vm=gpu, until=running + DAYS, purpose="x")

    with pytest.raises(ValidationError, match="already asked for more time"):
        services.request_extension(requester=ada, vm=gpu, until=running + 2 * DAYS, purpose="y")


def test_another_manager_cannot_decide_more_time_on_a_vm_not_theirs(client, ada, slong, gpu, running):
    request = services.request_extension(requester=ada, vm=gpu, until=running + DAYS, purpose="x")
    client.force_login(slong)

    assert client.get(reverse("access_requests:detail", args=[request.pk])).status_code == 404
    assert client.post(reverse("access_requests:deny", args=[request.pk]), {"reason": "no"}).status_code == 404


def test_the_vm_page_of_the_assignee_links_to_asking_for_more_time(client, ada, gpu, running):
    client.force_login(ada)

    page = client.get(reverse("machines:detail", args=[gpu.pk])).text

    assert "Ask for more time" in page


def test_my_requests_lists_the_users_requests_and_their_outcome(client, ada, kteo, gpu):
    approved = AccessRequestFactory(requester=ada)
    services.request_approve(request=approved, actor=kteo, vm=gpu, until=timezone.now() + DAYS)
    AccessRequestFactory(requester=ada, purpose="waiting one")
    client.force_login(ada)

    page = client.get(reverse("access_requests:mine")).text

    assert "approved" in page and "“gpu-1” until" in page
    assert "waiting" in page


def test_deleting_a_vm_keeps_the_requests_that_named_it(ada, kteo, gpu, running):
    extension = services.request_extension(requester=ada, vm=gpu, until=running + DAYS, purpose="x")
    named = AccessRequestFactory(requester=ada, vm=gpu)

    machine_services.vm_delete(vm=gpu, actor=kteo)

    assert AccessRequest.objects.get(pk=extension.pk).vm is None
    assert AccessRequest.objects.get(pk=named.pk).vm is None
    assert not AccessRequest.objects.decidable_by(kteo).filter(pk=extension.pk).exists()
    services.request_withdraw(request=extension, actor=ada)
