import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from access.roles import Role
from accounts.checks import check_vm_sharing_minimum_role


@pytest.mark.parametrize("value", [*Role.values, "disabled"])
def test_every_role_and_disabled_pass_the_sharing_check(settings, value):
    settings.VM_SHARING_MINIMUM_ROLE = value

    assert check_vm_sharing_minimum_role(None) == []


def test_an_unknown_sharing_minimum_is_an_error(settings):
    settings.VM_SHARING_MINIMUM_ROLE = "managers"

    errors = check_vm_sharing_minimum_role(None)

    assert [(error.id, error.is_serious()) for error in errors] == [("accounts.E001", True)]
    assert "'managers'" in errors[0].msg
    assert "manager" in errors[0].hint


def test_manage_py_check_fails_on_an_unknown_sharing_minimum(settings):
    settings.VM_SHARING_MINIMUM_ROLE = "everyone"

    with pytest.raises(SystemCheckError, match=r"accounts\.E001"):
        call_command("check")
