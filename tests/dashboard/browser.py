"""Debian's headless Chromium, driven by Selenium through Debian's chromedriver.

No browser is downloaded: `.ci/run` installs `chromium` and `chromium-driver`.
Outside CI a missing browser skips the browser tests; in CI it fails them.
"""

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Headless as root; no background traffic to outside hosts (the network is closed anyway).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900")
T = TypeVar("T")


def require_chromium() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if missing:
        message = (f"{', '.join(missing)} missing (`apt-get install chromium chromium-driver`; "
                   ".ci/run does)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def start_chromium(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


class Page:
    """One browser tab on the dashboard, with waits that say what they waited for."""

    def __init__(self, driver: webdriver.Chrome, base_url: str, shots: list[Path]) -> None:
        self.driver = driver
        self.base_url = base_url
        self.shots = shots

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def wait(self, condition: Callable[[], T], what: str, timeout: float = 60.0) -> T:
        deadline = time.monotonic() + timeout
        while True:
            try:
                value: T | None = condition()
            except Exception:  # an element not there yet
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.1)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return str(self.find(css).get_attribute("textContent") or "")

    def visible(self, css: str) -> bool:
        found = self.find_all(css)
        return bool(found) and found[0].is_displayed()

    def run(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def in_view(self, css: str) -> bool:
        """Whether the element is wholly inside the window (not below or above its edges)."""
        return bool(self.run("const box = arguments[0].getBoundingClientRect();"
                             "return box.height > 0 && box.top >= 0 && box.bottom <= innerHeight;",
                             self.find(css)))

    def use_width(self, width: int, height: int = 900) -> None:
        """Lay the page out `width` CSS pixels wide (a phone's 375 is below a window's minimum)."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})

    def overflows(self) -> list[str]:
        """What sticks out sideways: the page, or any box whose content is wider than it
        (tables may scroll inside their own frame)."""
        return list(self.run("""
            const wide = (node) => node.scrollWidth > node.clientWidth + 1;
            const page = document.documentElement.scrollWidth > innerWidth ? ['the page'] : [];
            return page.concat([...document.querySelectorAll('main *')]
              .filter((node) => node.clientWidth > 0 && !node.closest('.table-wrap, svg'))
              .filter(wide).map((node) => node.outerHTML.slice(0, 120)));"""))

    def screenshot(self, name: str, width: int = 1280, whole: bool = True) -> Path:
        """The page at `width` (whole, or what a 900 px high window shows), in every folder."""
        height = int(self.run("return document.documentElement.scrollHeight")) if whole else 900
        self.run("window.scrollTo(0, 0)")
        self.use_width(width, min(max(height, 600), 4000))
        png = self.driver.get_screenshot_as_png()
        self.use_width(width)
        for folder in self.shots:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.png").write_bytes(png)
        return self.shots[0] / f"{name}.png"

    def enter_key(self, key: str) -> None:
        self.wait(lambda: self.visible("#key-panel"), "the API-key prompt")
        field = self.find("#key-input")
        field.clear()
        field.send_keys(key)
        self.find("#key-form button[type=submit]").click()

    def console(self) -> list[str]:
        """The console's messages since the last call."""
        entries: list[dict[str, str]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return [entry["message"] for entry in entries]

    def page_errors(self) -> list[str]:
        """Console entries that mean a broken page: script errors, CSP or Trusted Types refusals."""
        words = ("Uncaught", "Content Security Policy", "Trusted", "TypeError", "SyntaxError")
        return [message for message in self.console() if any(word in message for word in words)]
