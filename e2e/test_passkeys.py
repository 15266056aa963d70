"""A passkey as the second factor, in headless Chromium with a virtual authenticator (no hardware): registered on
the two-factor page, then used to sign in after the password."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import Protocol, Transport, VirtualAuthenticatorOptions
from selenium.webdriver.support import expected_conditions

from access.roles import Role
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from audit.models import Action, AuditEvent
from e2e.pages import _new_page_loaded
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.e2e

VM_PASSWORD = "router pass: Zq8!"


@pytest.fixture
def authenticator(browser):
    """A platform authenticator with user verification, as a laptop's fingerprint reader would be."""
    options = VirtualAuthenticatorOptions(
        protocol=Protocol.CTAP2,
        transport=Transport.INTERNAL,
        has_resident_key=True,
        has_user_verification=True,
        is_user_verified=True,
    )
    browser.driver.add_virtual_authenticator(options)
    yield browser.driver
    browser.driver.remove_virtual_authenticator()


def click_and_wait_for_a_new_page(browser, element_id):
    browser.wait.until(expected_conditions.element_to_be_clickable((By.ID, element_id)))
    browser.driver.execute_script("window.e2eOldPage = true")
    browser.driver.find_element(By.ID, element_id).click()
    browser.wait.until(_new_page_loaded)


def test_a_user_registers_a_passkey_and_signs_in_with_it(browser, authenticator):
    user = UserFactory(username="grace", role=Role.SIDEKICK)
    browser.visit("/accounts/login/")
    browser.fill(username="grace", password=DEFAULT_PASSWORD)
    browser.press("Log in")

    # She adds a passkey on the two-factor page; the page comes back with it listed, and her backup codes.
    browser.visit("/accounts/two-factor/")
    browser.step("two-factor page")
    click_and_wait_for_a_new_page(browser, "passkey-register-button")
    browser.step("passkey registered")
    assert "Passkey" in browser.text
    assert len(browser.driver.find_elements(By.CSS_SELECTOR, ".code-list code")) == 10
    assert AuditEvent.objects.get(action=Action.TWO_FACTOR_ENROL).details["kind"] == "passkey"
    assert len(authenticator.get_credentials()) == 1
    browser.log_out()

    # Signing in: the password, then the passkey.
    browser.fill(username="grace", password=DEFAULT_PASSWORD)
    browser.press("Log in")
    browser.step("second step")
    assert browser.path == "/accounts/login/code/"
    click_and_wait_for_a_new_page(browser, "passkey-verification-button")
    browser.step("signed in with the passkey")
    assert browser.path == "/"
    login = AuditEvent.objects.filter(action=Action.LOGIN, actor=user).first()
    assert login.details["second_factor"] == "passkey"

    # She reveals a VM's password with her password and her passkey instead of a code.
    vm = VirtualMachineFactory(owner=user, password=VM_PASSWORD)
    browser.visit(f"/machines/{vm.pk}/reveal/")
    browser.step("reveal form offers the passkey")
    click_and_wait_for_a_new_page(browser, "passkey-verification-button")
    browser.step("passkey confirmed")
    assert "Passkey confirmed" in browser.text
    browser.fill(account_password=DEFAULT_PASSWORD)
    browser.press("Reveal")
    browser.step("password revealed")
    assert browser.driver.find_element(By.ID, "vm-password").text == VM_PASSWORD
