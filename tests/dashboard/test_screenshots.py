"""The screenshots in docs/dashboard/, taken from what a user runs: the shipped model.

A `certify serve` of its own serves only `fmnist-cnn-s025` (no test model with
`class-0` names, no jobs of the security tests), and one browser walks the
pages a reader of the README sees. With CERTIFY_SCREENSHOT_DIR=docs/dashboard
the pictures replace the committed ones (docs/DASHBOARD.md says how).
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.browser import Page, require_chromium
from tests.dashboard.conftest import browser_page
from tests.dashboard.served import Served, running_serve
from tests.dashboard.service_calls import SAMPLE_PNG, job, submit, wait_until_ended
from tests.dashboard.test_jobs_flow import assert_patches_readable, fill, row
from tests.dashboard.test_keys_and_forms import open_with_key

pytestmark = pytest.mark.integration
SHIPPED = "fmnist-cnn-s025"
SHIPPED_ONLY = {"CERTIFY_WORKER_MODELS": SHIPPED, "CERTIFY_DEFAULT_IMAGE_MODEL": SHIPPED}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    require_chromium()
    empty = tmp_path_factory.mktemp("no-extra-models")  # the shipped models come with the code
    log = tmp_path_factory.mktemp("shipped-logs") / "serve.log"
    with running_serve(empty, log, SHIPPED_ONLY) as serve:
        yield serve


@pytest.fixture
def docs_page(shipped: Served, tmp_path: Path) -> Iterator[Page]:
    shots = [tmp_path / "screenshots"]
    if os.environ.get("CERTIFY_SCREENSHOT_DIR"):
        shots.append(Path(os.environ["CERTIFY_SCREENSHOT_DIR"]))
    yield from browser_page(shipped, shots, tmp_path / "profile")


def shown_progress(page: Page, job_id: str) -> float:
    bar = page.find(f"{row(job_id)} progress")
    return float(bar.get_attribute("value") or 0) / float(bar.get_attribute("max") or 1)


def test_the_documented_pages(docs_page: Page, shipped: Served) -> None:
    page = docs_page
    page.open("/dashboard")
    page.wait(lambda: page.visible("#key-panel"), "the API-key prompt")
    page.screenshot("dashboard-api-key", whole=False)
    open_with_key(page, shipped)
    assert SHIPPED in page.text("#model-select")

    page.find("#file-input").send_keys(str(SAMPLE_PNG))
    fill(page, "n", "0")
    page.find("#submit-button").click()
    page.wait(lambda: page.text("#option-n-error"), "the 422 message")
    page.screenshot("dashboard-invalid-option")

    fill(page, "n", "20000")
    long_job = submit(shipped, method="smooth-reduce", n="20000", batch_size="500")
    page.wait(lambda: shown_progress(page, long_job) >= 0.05, "the long job 5% done", timeout=300)
    page.screenshot("dashboard-jobs", whole=False)
    with shipped.client() as client:
        client.delete(f"/jobs/{long_job}").raise_for_status()

    job_id = submit(shipped, method="smooth-reduce", n="2000", batch_size="500")
    assert wait_until_ended(shipped, job_id)["status"] == "succeeded"
    page.open(f"/dashboard/jobs/{job_id}")
    page.wait(lambda: page.find_all(".claim"), "the certificate")
    cert = job(shipped, job_id)["result"]
    assert cert["model"]["name"] == SHIPPED and page.text(".label-name") == cert["label_name"]
    assert_patches_readable(page, 9)
    page.screenshot("dashboard-certificate")
    page.use_width(375)
    assert page.overflows() == []
    page.screenshot("dashboard-certificate-phone", width=375)


def test_sixteen_random_patches_stay_readable(docs_page: Page, shipped: Served) -> None:
    job_id = submit(shipped, method="smooth-reduce", patches="16", n="100")
    assert wait_until_ended(shipped, job_id)["status"] == "succeeded"
    docs_page.open(f"/dashboard/jobs/{job_id}")
    docs_page.enter_key(shipped.key)
    docs_page.wait(lambda: docs_page.find_all(".claim"), "the certificate")
    assert_patches_readable(docs_page, 16)
    docs_page.use_width(375)
    assert docs_page.overflows() == []
    assert_patches_readable(docs_page, 16)


def test_the_models_page_with_the_shipped_models_measured_rate(
    docs_page: Page, shipped: Served
) -> None:
    docs_page.open("/dashboard/models")
    docs_page.enter_key(shipped.key)
    rate = f'#models-body tr[data-model="{SHIPPED}"] td[data-label="Passes/s"]'
    shown = docs_page.wait(lambda: docs_page.find_all(rate) and docs_page.text(rate), "its rate")
    assert shown.startswith("fp32: ") and "no measurement" not in shown, shown
    assert not docs_page.visible("#upload-panel")  # a tenant's key: no upload form
    docs_page.screenshot("dashboard-models", whole=False)
