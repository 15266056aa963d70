"""A member creates an API token on the profile page and reads the API's documentation, in a real browser: Swagger
UI and Redoc come from VM Lab's own static files and run under its Content-Security-Policy without a violation."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

from access.roles import Role
from accounts.models import ApiToken
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.e2e


def test_a_member_creates_a_token_and_reads_the_api_documentation(browser):
    UserFactory(username="grace", role=Role.SIDEKICK)
    browser.visit("/accounts/login/")
    browser.fill(username="grace", password=DEFAULT_PASSWORD)
    browser.press("Log in")

    browser.visit("/accounts/profile/")
    browser.fill(name="inventory script", expires_in_days="30")
    browser.press("Create token")
    browser.step("token created")
    shown = browser.driver.find_element(By.ID, "new-token").text
    assert shown.startswith("vmlab_")
    assert ApiToken.objects.get().name == "inventory script"

    browser.visit("/api/docs/")
    browser.wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    browser.step("swagger ui")
    assert "/api/v1/vms/" in browser.driver.find_element(By.ID, "swagger-ui").text

    browser.visit("/api/redoc/")
    browser.wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".api-content")))
    # Redoc's bundle always shows Redocly's logo from its CDN: the policy blocks that request, as it must (nothing
    # is loaded from another site), and the console says so. Any other error fails the step.
    errors = [entry["message"] for entry in browser.driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert [error for error in errors if "cdn.redoc.ly" not in error] == []
    browser.step("redoc")
    assert "VM Lab API" in browser.driver.find_element(By.TAG_NAME, "body").text
