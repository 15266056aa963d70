"""A newcomer's first day in VM Lab, through the real pages in a real browser."""

import pytest
from selenium.webdriver.common.by import By

from access.roles import Role
from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD
from audit.models import Action, AuditEvent
from bookmarks.models import Bookmark
from machines.models import VirtualMachine

pytestmark = pytest.mark.e2e

NEWCOMER_PASSWORD = "quiet-orchid-harbour-71"
VM_PASSWORD = "vm root pass: 9f!Qz"

# As a browser exports it: a folder (which becomes a tag), a link the newcomer already saved, and a
# bookmarklet, which is not a web address.
BOOKMARK_FILE = """<!DOCTYPE NETSCAPE-Bookmark-file-1>
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<TITLE>Bookmarks</TITLE>
<H1>Bookmarks</H1>
<DL><p>
    <DT><H3>Lab Monitoring</H3>
    <DL><p>
        <DT><A HREF="https://grafana.lab.example/d/cpu">Grafana CPU</A>
        <DT><A HREF="https://alerts.lab.example/">Alertmanager</A>
    </DL><p>
    <DT><A HREF="https://wiki.lab.example/">Lab wiki (old copy)</A>
    <DT><A HREF="javascript:alert(1)">Bookmarklet</A>
</DL><p>
"""


def test_a_newcomer_registers_is_approved_and_uses_vms_and_bookmarks(browser, admin, tmp_path):
    # Ada registers on the public page and lands on the waiting page, logged in but not yet approved.
    browser.visit("/accounts/register/")
    browser.fill(
        username="ada",
        email="ada@lab.example",
        first_name="Ada",
        last_name="Lovelace",
        password1=NEWCOMER_PASSWORD,
        password2=NEWCOMER_PASSWORD,
    )
    browser.press("Create my account")
    browser.step("registered")
    assert browser.path == "/accounts/waiting/"
    assert browser.messages == ["Welcome, ada! Your account has been created."]
    assert browser.heading == "Your account is waiting for approval"
    assert User.objects.get(username="ada").role == Role.NEW_USER

    browser.log_out()
    browser.step("newcomer logged out")
    assert browser.path == "/accounts/login/"

    # An admin finds her on the waiting list and approves her as a sidekick.
    browser.fill(username=admin.username, password=DEFAULT_PASSWORD)
    browser.press("Log in")
    browser.follow("Waiting list")
    browser.step("waiting list")
    assert browser.heading == "Waiting list 1"
    decision = browser.driver.find_element(By.CSS_SELECTOR, "select[aria-label='Approve ada as']")
    browser.choose(decision, "Sidekick")
    browser.press("Approve", within=decision.find_element(By.XPATH, "./ancestor::form"))
    browser.step("approved")
    assert browser.messages == ["ada is approved as Sidekick."]
    assert "Nobody is waiting for approval." in browser.text
    assert User.objects.get(username="ada").role == Role.SIDEKICK
    browser.log_out()

    # Ada logs in and reaches her dashboard.
    browser.fill(username="ada", password=NEWCOMER_PASSWORD)
    browser.press("Log in")
    browser.step("newcomer logged in")
    assert browser.path == "/"
    assert browser.heading == "Dashboard"

    # She creates a VM with a password; the VM page says a password is set but never shows it.
    browser.follow("New VM")
    browser.fill(name="lab-web-1", host="web1.lab.example", port="2222", username="ubuntu", password=VM_PASSWORD)
    browser.press("Create VM")
    browser.step("VM created")
    assert browser.messages == ["VM “lab-web-1” was created."]
    assert browser.heading == "lab-web-1 shared"  # VMs are shared unless their owner unticks it
    assert "ssh -p 2222 ubuntu@web1.lab.example" in browser.text
    assert VM_PASSWORD not in browser.driver.page_source
    vm = VirtualMachine.objects.get(name="lab-web-1")
    assert (vm.owner.username, vm.password) == ("ada", VM_PASSWORD)

    # She reveals the password by typing her own account password.
    browser.follow("Reveal a secret")
    browser.step("reveal form")
    browser.fill(account_password=NEWCOMER_PASSWORD)
    browser.press("Reveal")
    browser.step("password revealed")
    assert browser.heading == "Password of “lab-web-1”"
    assert browser.driver.find_element(By.ID, "vm-password").text == VM_PASSWORD
    assert AuditEvent.objects.filter(action=Action.SECRET_REVEAL, actor__username="ada").count() == 1

    # She saves a bookmark and finds it by searching; a search for something else finds nothing.
    browser.follow("Bookmarks")
    browser.follow("New bookmark")
    browser.fill(name="Lab wiki", link="https://wiki.lab.example/", tags="docs lab", description="Runbooks")
    browser.press("Add bookmark")
    browser.step("bookmark added")
    assert browser.messages == ["Bookmark “Lab wiki” added."]
    browser.fill(q="wiki")
    browser.press("Search")
    browser.step("search finds the bookmark")
    assert "1 of 1 bookmark matching “wiki”." in browser.text
    assert browser.driver.find_element(By.LINK_TEXT, "Lab wiki").get_attribute("href") == "https://wiki.lab.example/"
    browser.fill(q="grafana")
    browser.press("Search")
    assert "No bookmark matches." in browser.text

    # She imports her browser's bookmarks: new links are added, the one she has is skipped, the bookmarklet refused.
    bookmark_file = tmp_path / "bookmarks.html"
    bookmark_file.write_text(BOOKMARK_FILE, encoding="utf-8")
    browser.follow("Import")
    browser.driver.find_element(By.NAME, "file").send_keys(str(bookmark_file))
    browser.press("Import")
    browser.step("bookmarks imported")
    assert browser.path == "/bookmarks/"
    assert browser.messages == [
        "Import finished: 2 created, 1 skipped (already saved, or twice in the file), "
        "1 rejected (not an http:// or https:// address, invalid, or too long)."
    ]
    assert {"Grafana CPU", "Alertmanager", "Lab wiki"} <= set(browser.text.splitlines())
    assert set(Bookmark.objects.filter(owner__username="ada").values_list("name", "tags")) == {
        ("Lab wiki", "docs lab"),
        ("Grafana CPU", "lab-monitoring"),
        ("Alertmanager", "lab-monitoring"),
    }
    browser.fill(q="grafana")
    browser.press("Search")
    browser.step("search finds an imported bookmark")
    assert "1 of 3 bookmarks matching “grafana”." in browser.text

    # She logs out and is back on the login page.
    browser.log_out()
    browser.step("logged out")
    assert browser.path == "/accounts/login/"
    assert browser.messages == ["You have been logged out."]
    assert browser.heading == "Log in"
