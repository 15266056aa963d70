"""The newcomer's first day again, in a browser set to Italian: every label pressed and every message read is the
Italian translation of the English the other stories use, and the page says it is Italian. The screenshot of every
step is kept in artifacts/e2e/italian/ (e2e/conftest.py), where a translator reviews the pages in place."""

import pytest
from django.utils import translation
from selenium.webdriver.common.by import By

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD
from machines.models import VirtualMachine

pytestmark = pytest.mark.e2e

NEWCOMER_PASSWORD = "sereno-ulivo-porto-71"
VM_PASSWORD = "radice vm: 9f!Qz"


def say(message: str, **values) -> str:
    """`message` as the Italian pages say it: from the compiled catalogue, as the server translates it."""
    with translation.override("it"):
        text = translation.gettext(message)
    return text % values if values else text


def test_an_italian_newcomer_registers_is_approved_creates_a_vm_and_reveals_its_password(italian_browser, admin):
    browser = italian_browser

    # The login page answers in Italian to a browser that asks for it, and its footer offers the switch back.
    browser.visit("/accounts/login/")
    browser.step("login page")
    assert browser.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "it"
    assert browser.heading == say("Log in") == "Accedi"
    switcher = browser.driver.find_element(By.ID, "language-switcher")
    assert switcher.find_element(By.CSS_SELECTOR, "option[selected]").text == "Italiano"

    # Giulia registers and waits for approval.
    browser.visit("/accounts/register/")
    browser.fill(
        username="giulia",
        email="giulia@lab.example",
        first_name="Giulia",
        last_name="Rossi",
        password1=NEWCOMER_PASSWORD,
        password2=NEWCOMER_PASSWORD,
    )
    browser.press(say("Create my account"))
    browser.step("registered")
    assert browser.path == "/accounts/waiting/"
    assert browser.messages == [say("Welcome, %(user)s! Your account has been created.", user="giulia")]
    assert browser.heading == say("Your account is waiting for approval")
    assert say("Log out") == "Esci"
    browser.log_out(say("Log out"))

    # An admin approves her as a sidekick, from the waiting list, in Italian.
    browser.fill(username=admin.username, password=DEFAULT_PASSWORD)
    browser.press(say("Log in"))
    browser.follow(say("Waiting list"))
    browser.step("waiting list")
    decision = browser.driver.find_element(
        By.CSS_SELECTOR, f"select[aria-label='{say('Approve %(username)s as', username='giulia')}']"
    )
    browser.choose(decision, say("Sidekick"))
    browser.press(say("Approve"), within=decision.find_element(By.XPATH, "./ancestor::form"))
    browser.step("approved")
    assert browser.messages == [say("%(user)s is approved as %(role)s.", user="giulia", role=say("Sidekick"))]
    assert say("Nobody is waiting for approval.") in browser.text
    assert User.objects.get(username="giulia").role == Role.SIDEKICK
    browser.log_out(say("Log out"))

    # Giulia creates a VM and reveals its password with her own.
    browser.fill(username="giulia", password=NEWCOMER_PASSWORD)
    browser.press(say("Log in"))
    browser.step("dashboard")
    assert browser.heading == say("Dashboard")
    browser.follow(say("New VM"))
    browser.fill(name="lab-web-1", host="127.0.0.5", port="2222", username="ubuntu", password=VM_PASSWORD)
    browser.press(say("Create VM"))
    browser.step("VM created")
    assert browser.messages == [say("VM “%(name)s” was created.", name="lab-web-1")] == ["VM “lab-web-1” creata."]
    assert VirtualMachine.objects.get(name="lab-web-1").password == VM_PASSWORD
    assert VM_PASSWORD not in browser.driver.page_source

    browser.follow(say("Reveal a secret"))
    browser.fill(account_password=NEWCOMER_PASSWORD)
    browser.press(say("Reveal"))
    browser.step("password revealed")
    assert browser.heading == say("Password of “%(name)s”", name="lab-web-1")
    assert browser.driver.find_element(By.ID, "vm-password").text == VM_PASSWORD
    browser.log_out(say("Log out"))
    assert browser.path == "/accounts/login/"
