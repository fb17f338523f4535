"""The models page (what the workers serve, how fast, and the upload form for those allowed)
and the submit form's duration estimate, in a real browser against `certify serve`."""

import re
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.support.ui import Select

from certify_testkit import registry_models
from tests.dashboard.browser import Page
from tests.dashboard.served import ADMIN_KEY, Served
from tests.dashboard.test_jobs_flow import fill
from tests.dashboard.test_keys_and_forms import open_with_key

pytestmark = pytest.mark.integration
TIMES = "\u00d7"  # the page writes shapes as 1x28x28 with the multiplication sign


def models_of(served: Served, key: str) -> dict[str, object]:
    with httpx.Client(base_url=served.url, headers={"X-API-Key": key}, timeout=30.0) as client:
        answer: dict[str, object] = client.get("/models").raise_for_status().json()
        return answer


def cell(page: Page, model: str, column: str) -> str:
    return page.text(f'#models-body tr[data-model="{model}"] td[data-label="{column}"]')


def open_models(page: Page, key: str) -> None:
    page.open("/dashboard/models")
    page.enter_key(key)
    page.wait(lambda: page.find_all('#models-body tr[data-model="test-cnn"]'), "the model rows")


def test_the_models_page_lists_each_model_with_its_measured_passes_per_second(
    page: Page, served: Served
) -> None:
    open_models(page, served.key)
    listed = models_of(served, served.key)
    assert listed["uploads_allowed"] is False
    model = next(m for m in listed["models"] if m["name"] == "test-cnn")  # type: ignore[attr-defined]
    [figure] = [t for t in model["throughput"] if (t["precision"], t["compile"]) == ("fp32", "off")]
    assert figure["passes_per_s"] > 0
    shown = cell(page, "test-cnn", "Passes/s")
    rate = re.search(r"fp32: ([\d,]+) \((\d+) worker", shown)
    assert rate is not None, shown
    # The page rounds to whole passes; the figure may move between the two reads after a job.
    assert int(rate.group(1).replace(",", "")) > 0 and int(rate.group(2)) == figure["workers"]
    assert cell(page, "test-cnn", "Input") == TIMES.join(("1", "28", "28"))
    assert cell(page, "test-cnn", "Classes") == "10"
    assert cell(page, "test-cnn", "sha256").startswith(model["sha256"][:12])
    assert cell(page, "test-cnn", "Warm arithmetic") == "fp32"
    assert not page.visible("#upload-panel")  # a tenant may not register models by default
    page.use_width(375)
    assert page.overflows() == []
    page.screenshot("models-page-phone", width=375)


def test_an_operator_sees_the_upload_form_and_the_services_answer_to_an_upload(
    page: Page, served: Served, tmp_path: Path
) -> None:
    assert models_of(served, ADMIN_KEY)["uploads_allowed"] is True
    open_models(page, ADMIN_KEY)
    page.wait(lambda: page.visible("#upload-panel"), "the upload form")
    manifest, weights = tmp_path / "manifest.json", tmp_path / "weights.pt"
    manifest.write_text("this is not a manifest")
    weights.write_bytes(b"\x80\x04not weights either")
    with httpx.Client(base_url=served.url, headers={"X-API-Key": ADMIN_KEY}) as client:
        answer = client.post("/models", files={
            "manifest": ("manifest.json", manifest.read_bytes()),
            "weights": ("weights.pt", weights.read_bytes())})
    assert 400 <= answer.status_code < 500
    body = answer.json()
    page.find("#manifest-input").send_keys(str(manifest))
    page.find("#weights-input").send_keys(str(weights))
    page.find("#upload-button").click()
    page.wait(lambda: page.text("#upload-message"), "the upload's answer")
    assert page.text("#upload-message") == f"{body['detail']} ({body['error']})"
    page.screenshot("models-page-upload-refused")


def test_an_operator_registers_a_model_through_the_form_and_sees_it_listed(
    page: Page, served: Served, tmp_path: Path
) -> None:
    manifest, weights = tmp_path / "manifest.json", tmp_path / "weights.safetensors"
    manifest.write_text(registry_models.manifest("from-the-form", "safetensors"))
    weights.write_bytes(registry_models.safetensors_bytes(3))
    open_models(page, ADMIN_KEY)
    page.wait(lambda: page.visible("#upload-panel"), "the upload form")
    page.find("#manifest-input").send_keys(str(manifest))
    page.find("#weights-input").send_keys(str(weights))
    page.find("#upload-button").click()
    page.wait(lambda: page.text("#upload-message").startswith("Registered"), "the registration")
    [registered] = [m for m in models_of(served, ADMIN_KEY)["registered"]  # type: ignore[attr-defined]
                    if m["name"] == "from-the-form"]
    assert page.text("#upload-message") == f"Registered from-the-form@{registered['version']}."
    row = f'#models-body tr[data-model="from-the-form@{registered["version"]}"]'
    page.wait(lambda: page.find_all(row), "the registered model's row")
    assert page.text(f'{row} td[data-label="Kind"]') == "image, safetensors"
    assert page.text(f'{row} td[data-label="sha256"]').startswith(registered["sha256"][:12])


def estimate_text(page: Page, unlike: str = "") -> str:
    return page.wait(lambda: (text := page.text("#estimate")) != unlike and text, "an estimate")


def test_the_submit_form_estimates_the_jobs_duration_and_follows_the_options(
    page: Page, served: Served
) -> None:
    open_with_key(page, served)
    Select(page.find("#model-select")).select_by_value("test-cnn")
    first = estimate_text(page)
    assert "Estimated sampling time" in first and "100,100 model passes" in first, first
    fill(page, "n", "1000")
    fewer = estimate_text(page, first)
    assert "1,100 model passes" in fewer, fewer
    seconds = re.search(r"about ([\d.]+) (ms|s)", fewer)
    before = re.search(r"about ([\d.]+) (ms|s|min)", first)
    assert seconds is not None and before is not None and seconds.group(0) != before.group(0)
    Select(page.find("#option-method")).select_by_value("smooth-reduce")
    patches = estimate_text(page, fewer)
    assert "9,900 model passes (9 patches per sample)" in patches, patches
    Select(page.find("#option-sampling")).select_by_value("adaptive")
    fill(page, "n", "20000")
    ranged = page.wait(lambda: "to 180,900" in (text := page.text("#estimate")) and text,
                       "the adaptive range")
    assert "5,400 to 180,900 model passes" in ranged, ranged  # first look 500: (100 + 500) x 9
    page.screenshot("submit-estimate")
    Select(page.find("#option-precision")).select_by_value("bf16")  # no worker warmed it up
    unmeasured = estimate_text(page, ranged)
    assert "no measurement yet for test-cnn (bf16)" in unmeasured, unmeasured
    assert "5,400 to 180,900 model passes" in unmeasured, unmeasured
    fill(page, "n", "0")
    refused = estimate_text(page, unmeasured)
    assert refused.startswith("No estimate:") and "`n`" in refused, refused
