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


def sign_in_errors():
    from accounts.checks import check_sign_in_settings

    return [error.id for error in check_sign_in_settings(None)]


def test_the_default_sign_in_settings_pass(settings):
    settings.TWO_FACTOR_REQUIRED_ROLE = "manager"

    assert sign_in_errors() == []


@pytest.mark.parametrize(
    ("setting", "value", "error"),
    [
        ("TWO_FACTOR_REQUIRED_ROLE", "managers", "accounts.E002"),
        ("LDAP_SERVER_URI", "ldap://127.0.0.1:1", "accounts.E003"),
        ("LDAP_GROUP_TYPE", "groupOfPeople", "accounts.E004"),
        ("OIDC_ISSUER_URL", "https://sso.lab.example/realms/lab", "accounts.E005"),
    ],
)
def test_a_sign_in_setting_that_cannot_work_stops_manage_py_check(settings, setting, value, error):
    settings.LDAP_USER_SEARCH_BASE = ""
    settings.OIDC_CLIENT_ID = ""
    setattr(settings, setting, value)

    assert sign_in_errors() == [error]
    with pytest.raises(SystemCheckError, match=error.replace(".", r"\.")):
        call_command("check")
