"""A running `certify serve` (API keys on) and a fresh headless Chromium per test.

Screenshots go to each test's folder; those of the shipped models go to
CERTIFY_SCREENSHOT_DIR too when it is set (`test_screenshots.py`: that is how
docs/dashboard/ is refreshed).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.browser import Page, require_chromium, start_chromium
from tests.dashboard.served import Served, running_serve, write_models

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    require_chromium()
    models = write_models(tmp_path_factory.mktemp("dashboard-models"))
    with running_serve(models, tmp_path_factory.mktemp("dashboard-logs") / "serve.log") as serve:
        yield serve


@pytest.fixture
def page(served: Served, tmp_path: Path) -> Iterator[Page]:
    yield from browser_page(served, [tmp_path / "screenshots"], tmp_path / "profile")


def browser_page(served: Served, shots: list[Path], profile: Path) -> Iterator[Page]:
    driver = start_chromium(profile)
    browser = Page(driver, served.url, shots)
    try:
        yield browser
        errors = browser.page_errors()
        assert not errors, errors
    finally:
        driver.quit()
