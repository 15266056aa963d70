"""What a person does in the browser, in the words of the tests: visit, fill in, press, follow, read."""

import re
from urllib.parse import urlsplit

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

TIMEOUT_SECONDS = 10


class Browser:
    """One Chromium window on the live server. Every action that loads a page waits for the new page;
    `step(name)` keeps a screenshot of it and fails on anything the browser console reported as an error
    (a Content-Security-Policy violation, a missing static file, a script error)."""

    def __init__(self, driver: WebDriver, base_url: str):
        self.driver = driver
        self.base_url = base_url
        self.wait = WebDriverWait(driver, TIMEOUT_SECONDS)
        self.screenshots: list[tuple[str, bytes]] = []

    # Reading the page

    @property
    def path(self) -> str:
        return urlsplit(self.driver.current_url).path

    @property
    def heading(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "h1").text

    @property
    def messages(self) -> list[str]:
        return [item.text for item in self.driver.find_elements(By.CSS_SELECTOR, "ul.messages li")]

    @property
    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "main").text

    # Acting on it

    def visit(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def fill(self, **values: str) -> None:
        """Type into the fields of the page, found by their name attribute."""
        for name, value in values.items():
            field = self.driver.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)

    def choose(self, select: WebElement, label: str) -> None:
        Select(select).select_by_visible_text(label)

    def press(self, label: str, within: WebElement | None = None) -> None:
        """Press a button of the page's content (or of `within`) by its text, and wait for the page it leads to."""
        scope = within if within is not None else self.driver.find_element(By.TAG_NAME, "main")
        button = scope.find_element(By.XPATH, f".//button[normalize-space()='{label}']")
        self._load_by(button.click)

    def follow(self, link_text: str) -> None:
        self._load_by(self.driver.find_element(By.LINK_TEXT, link_text).click)

    def log_out(self, label: str = "Log out") -> None:
        button = self.driver.find_element(By.XPATH, f"//header//button[normalize-space()='{label}']")
        self._load_by(button.click)

    def _load_by(self, action) -> None:
        # A flag on the old page's window: the new page has a new window without it. (Waiting for the old
        # <html> element to go stale instead fails now and then: Chromium may answer the staleness probe
        # with "Node with given id does not belong to the document" while the old page is being replaced.)
        self.driver.execute_script("window.e2eOldPage = true")
        action()
        self.wait.until(_new_page_loaded)

    # Keeping track

    def step(self, name: str) -> None:
        self.screenshots.append((name, self.driver.get_screenshot_as_png()))
        errors = [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]
        if errors:
            raise AssertionError(f"The browser console reported errors at step {name!r}:\n" + "\n".join(errors))


def _new_page_loaded(driver: WebDriver) -> bool:
    try:
        return driver.execute_script("return !window.e2eOldPage && document.readyState === 'complete'")
    except WebDriverException:  # asked while the old page was going away
        return False


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
