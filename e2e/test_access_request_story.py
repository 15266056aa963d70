"""A student asks for a VM, a manager grants one until a near end, the student uses it, and when the end comes the
VM is gone from her dashboard: through the real pages in a real browser.

The end is a real moment a few seconds ahead: access is decided by the database's clock, which time-machine cannot
move, so the test waits for it (the whole story takes about half a minute).
"""

import datetime
import time

import pytest
from django.core import mail
from django.utils import timezone
from selenium.webdriver.common.by import By

from access.roles import Role
from access_requests.models import AccessRequest
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from machines.models import Assignment, VirtualMachine
from machines.tests.factories import VirtualMachineFactory

pytestmark = pytest.mark.e2e

GRANTED_FOR = datetime.timedelta(seconds=20)


def log_in(browser, username):
    browser.visit("/accounts/login/")
    browser.fill(username=username, password=DEFAULT_PASSWORD)
    browser.press("Log in")


def set_value(browser, name, value):
    """Date pickers take typing in the browser's locale's order; set their value as the picker would."""
    field = browser.driver.find_element(By.NAME, name)
    browser.driver.execute_script("arguments[0].value = arguments[1]", field, value)


def test_a_student_requests_a_vm_uses_it_and_loses_it_at_the_end(browser, settings, closed_port_vm_host):
    settings.TIME_ZONE = "UTC"
    UserFactory(username="ada", first_name="Ada", role=Role.REGULAR)
    kteo = UserFactory(username="kteo", role=Role.MANAGER)
    VirtualMachineFactory(owner=kteo, name="gpu-1", shared=True, host="127.0.0.1", port=closed_port_vm_host)

    # Ada asks for a VM for her thesis.
    log_in(browser, "ada")
    browser.follow("Request a VM")
    browser.step("request form")
    browser.fill(purpose="Thesis: training runs until my defence")
    set_value(browser, "until", "2099-06-30")
    browser.press("Send the request")
    browser.step("request sent")
    assert browser.messages == ["Your request was sent to the lab's managers: you will get an e-mail."]
    assert "waiting" in browser.text
    assert [message.to for message in mail.outbox] == [["kteo@lab.example"]]
    browser.log_out()

    # Kteo sees it in the queue (its count in the navigation) and grants gpu-1 until a few seconds from now.
    log_in(browser, "kteo")
    assert browser.driver.find_element(By.CSS_SELECTOR, "header .count").text == "1"
    browser.follow("1 request is waiting for your decision.")
    browser.step("queue")
    browser.driver.find_element(By.CSS_SELECTOR, "table a").click()
    browser.wait.until(lambda driver: "Approve" in driver.find_element(By.TAG_NAME, "h2").text)
    browser.step("request to decide")
    browser.choose(browser.driver.find_element(By.NAME, "vm"), "gpu-1")
    ends = timezone.now() + GRANTED_FOR
    set_value(browser, "until", f"{ends:%Y-%m-%dT%H:%M:%S}")
    browser.fill(note="Use /scratch for the data sets.")
    browser.press("Approve")
    browser.step("approved")
    assert browser.messages[0].startswith("Approved: ada has “gpu-1”")
    assert "No request is waiting for you." in browser.text
    assert AccessRequest.objects.get().state == AccessRequest.State.APPROVED
    assert mail.outbox[-1].to == ["ada@lab.example"]
    browser.log_out()

    # Ada opens the VM: it is hers until the end, and the page says when that is.
    log_in(browser, "ada")
    browser.step("dashboard with the vm")
    assert "gpu-1" in browser.text
    assert "approved" in browser.text
    browser.follow("gpu-1")
    browser.step("vm page")
    assert browser.heading.startswith("gpu-1")
    assert "Your access to this VM ends" in browser.text

    # The end comes: the VM is gone from her dashboard and its page is not found.
    time.sleep(max(0.0, ends.timestamp() - time.time()) + 0.5)
    browser.visit("/")
    browser.step("dashboard after the end")
    assert "No VM is assigned to you." in browser.text
    assert "gpu-1" not in browser.driver.find_element(By.ID, "assigned_to_me").text
    browser.visit(f"/machines/{VirtualMachine.objects.get().pk}/")  # a 404, which the console reports: no step()
    assert browser.heading == "Page not found"
    [row] = Assignment.objects.all()
    assert (row.user.username, row.until) == ("ada", VirtualMachine.objects.get().assigned_until)


@pytest.fixture
def closed_port_vm_host():
    """A loopback port nothing listens on: the VM exists only for its pages, nothing connects to it."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
