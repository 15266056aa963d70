import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from access import rights
from access.checks import allowed, require, require_right, requires
from access.roles import Role
from accounts.tests.factories import UserFactory
from machines.models import VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.django_db


def test_allowed_answers_whether_the_object_is_in_the_verbs_queryset():
    owner, other = UserFactory(role=Role.SIDEKICK), UserFactory(role=Role.SIDEKICK)
    vm = VirtualMachineFactory(owner=owner, shared=False)

    assert allowed(VirtualMachine.objects.editable_by, owner, vm) is True
    assert allowed(VirtualMachine.objects.editable_by, other, vm) is False


def test_an_unsaved_object_is_never_allowed():
    owner = UserFactory(role=Role.SIDEKICK)

    assert allowed(VirtualMachine.objects.visible_to, owner, VirtualMachine(owner=owner)) is False


def test_require_raises_permission_denied_with_the_message_given():
    vm = VirtualMachineFactory(shared=False)

    with pytest.raises(PermissionDenied, match="Not yours"):
        require(VirtualMachine.objects.editable_by, UserFactory(role=Role.ADMIN), vm, "Not yours")


def test_require_right_refuses_a_user_without_the_right():
    with pytest.raises(PermissionDenied, match="No bookmarks"):
        require_right(rights.KEEP_BOOKMARKS, UserFactory.build(role=Role.REGULAR), "No bookmarks")


def test_a_page_requiring_a_right_is_a_404_for_others_and_opens_for_holders():
    page = requires(rights.VIEW_AUDIT)(lambda request: HttpResponse("trail"))
    request = RequestFactory().get("/")

    request.user = UserFactory.build(role=Role.MANAGER)
    with pytest.raises(Http404):
        page(request)
    request.user = UserFactory.build(role=Role.ADMIN)
    assert page(request).content == b"trail"
