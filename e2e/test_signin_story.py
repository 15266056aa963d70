"""The issue's story in a real browser: a student of the lab's LDAP directory signs in, sets up an authenticator app,
signs in again with password and code, and reveals a VM's password with password and code."""

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.utils import timezone
from selenium.webdriver.common.by import By

from access.roles import Role
from accounts.models import AuthenticatorApp, SignIn, User
from accounts.tests.directory_server import STUDENTS
from accounts.tests.factories import UserFactory
from audit.models import Action, AuditEvent
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.e2e

DIRECTORY_PASSWORD = "student pass of ada-e2e"
VM_PASSWORD = "gpu box pass: 7@Kq"


def test_a_directory_student_sets_up_a_code_and_reveals_a_vm_password_with_it(browser, directory_settings):
    directory_settings.add_person("ada-e2e", DIRECTORY_PASSWORD, given="Ada", family="Byron", groups=[STUDENTS])
    start = timezone.now()

    # Ada signs in with her university account and is a regular user.
    with time_machine.travel(start):
        browser.visit("/accounts/login/")
        browser.fill(username="ada-e2e", password=DIRECTORY_PASSWORD)
        browser.press("Log in")
        browser.step("signed in with the directory")
        assert browser.path == "/"
        ada = User.objects.get(username="ada-e2e")
        assert (ada.role, ada.sign_in, ada.get_full_name()) == (Role.REGULAR, SignIn.LDAP, "Ada Byron")

        # She sets up an authenticator app: the page shows the QR code and the secret her phone needs.
        browser.visit("/accounts/two-factor/")
        browser.step("two-factor page")
        browser.follow("Add an authenticator app")
        browser.step("authenticator set-up")
        assert browser.driver.find_element(By.CSS_SELECTOR, ".qr-code svg")
        secret = browser.driver.find_element(By.ID, "totp-secret").text.replace(" ", "")
        phone = pyotp.TOTP(secret)
        # The server keeps that secret encrypted with FIELD_ENCRYPTION_KEYS, never in clear.
        (stored,) = AuthenticatorApp.objects.filter(user=ada).values_list("seed", flat=True)
        assert stored.token.startswith("gAAAAA") and secret.lower() not in stored.token.lower()
        browser.fill(otp_token=phone.now())
        browser.press("Turn on")
        browser.step("authenticator on, backup codes shown")
        assert browser.messages == ["Your authenticator app is set up: signing in now asks for its code."]
        codes = [item.text for item in browser.driver.find_elements(By.CSS_SELECTOR, ".code-list code")]
        assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code) for code in codes)
        browser.log_out()

    # Signing in again asks for a code after the password.
    with time_machine.travel(start + timedelta(seconds=60)):
        browser.fill(username="ada-e2e", password=DIRECTORY_PASSWORD)
        browser.press("Log in")
        browser.step("code asked")
        assert browser.path == "/accounts/login/code/"
        browser.visit("/")
        assert browser.path == "/accounts/login/code/"  # nothing else opens before the code
        browser.fill(otp_token=phone.now())
        browser.press("Verify")
        browser.step("signed in with password and code")
        assert browser.path == "/"
        login = AuditEvent.objects.filter(action=Action.LOGIN, actor=ada).first()
        assert (login.details["how"], login.details["second_factor"]) == ("ldap", "totp")

    # A VM is assigned to her; she reveals its password with her directory password and a fresh code.
    vm = VirtualMachineFactory(owner=UserFactory(role=Role.MANAGER), assigned_to=ada, password=VM_PASSWORD)
    with time_machine.travel(start + timedelta(seconds=120)):
        browser.visit(f"/machines/{vm.pk}/reveal/")
        browser.step("reveal form asks for a code")
        browser.fill(account_password=DIRECTORY_PASSWORD, otp_token=phone.now())
        browser.press("Reveal")
        browser.step("password revealed")
        assert browser.driver.find_element(By.ID, "vm-password").text == VM_PASSWORD
    assert AuditEvent.objects.filter(action=Action.SECRET_REVEAL, actor=ada).count() == 1
