"""In a real browser: a submitted image followed to its certificate, a long job canceled from
the list, and a model whose class names are HTML shown as text (with its re-check command run)."""

import json
import shlex
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

from tests.dashboard.browser import Page
from tests.dashboard.served import HTML_CLASS_NAMES, HTML_MODEL, Served
from tests.dashboard.service_calls import (
    SAMPLE_PNG,
    SAMPLE_VIDEO,
    job,
    submit,
    wait_until_ended,
)
from tests.dashboard.test_keys_and_forms import open_with_key

pytestmark = pytest.mark.integration

# Every state each job row takes, as the page shows it: [job id, status, progress value].
RECORD_ROWS = """
window.__rows = [];
const body = document.getElementById('jobs-body');
const record = () => body.querySelectorAll('tr').forEach((row) => {
  const bar = row.querySelector('progress');
  window.__rows.push([row.dataset.jobId, row.dataset.status, bar ? Number(bar.value) : null]);
});
new MutationObserver(record).observe(body, {subtree: true, childList: true, attributes: true,
                                            characterData: true});
"""


def row(job_id: str) -> str:
    return f'tr[data-job-id="{job_id}"]'


def fill(page: Page, option: str, value: str) -> None:
    field = page.find(f"#option-{option}")
    field.clear()
    field.send_keys(value)


def submit_through_form(page: Page, **options: str) -> str:
    page.find("#file-input").send_keys(str(SAMPLE_PNG))
    if "method" in options:
        Select(page.find("#option-method")).select_by_value(options.pop("method"))
    for name, value in options.items():
        fill(page, name, value)
    button = page.find("#submit-button")
    page.run("arguments[0].scrollIntoView({block: 'end'})", button)  # the window's bottom edge
    button.click()
    link = page.wait(lambda: page.find("#submit-message a").get_attribute("href"), "the job link")
    # The answer shows where the person is looking, not below the window's edge.
    page.wait(lambda: page.in_view("#submit-message"), "the confirmation in the window")
    return str(link).rsplit("/", 1)[1]


def states_seen(page: Page, job_id: str) -> list[tuple[str, float | None]]:
    return [(status, progress) for seen, status, progress in page.run("return window.__rows")
            if seen == job_id]


def assert_patches_readable(page: Page, k: int) -> None:
    """One picture per patch, each large enough to see where its patch lies."""
    page.wait(lambda: len(page.find_all(".patch-grid .patch-thumb")) == k, f"{k} patch pictures")
    thumbs = page.find_all(".patch-grid .patch-thumb canvas")
    assert all(thumb.rect["width"] >= 64 for thumb in thumbs), [t.rect for t in thumbs]
    labels = [thumb.get_attribute("aria-label") for thumb in page.find_all(".patch-thumb")]
    assert len(labels) == k
    assert all(label.startswith(f"Patch {i + 1}: row ") for i, label in enumerate(labels))


def largest_radius(cert: dict[str, Any]) -> float:
    z = NormalDist().inv_cdf(cert["alpha"] ** (1 / cert["n"]))
    return float((cert["sigma"] * z - cert["centre_error"]) / cert["lift_norm"])


def test_a_long_job_is_canceled_from_the_list_with_the_keyboard(page: Page, served: Served) -> None:
    job_id = submit(served, n="1000000")
    open_with_key(page, served)
    page.wait(lambda: page.find(row(job_id)).get_attribute("data-status") == "running",
              "the long job to run", timeout=180)
    page.find(f"{row(job_id)} button.cancel").send_keys(Keys.ENTER)
    page.wait(lambda: page.find(row(job_id)).get_attribute("data-status") == "canceled",
              "the job to end canceled", timeout=120)
    assert job(served, job_id)["status"] == "canceled"
    assert page.find_all(f"{row(job_id)} button.cancel") == []

    Select(page.find("#status-filter")).select_by_value("succeeded")
    page.wait(lambda: not page.find_all(row(job_id)), "the filter to hide the canceled job")
    assert {r.get_attribute("data-status") for r in page.find_all("#jobs-body tr")} <= {"succeeded"}
    Select(page.find("#status-filter")).select_by_value("canceled")
    page.wait(lambda: page.find_all(row(job_id)), "the canceled job under its filter")


def test_a_submitted_image_is_followed_to_its_certificate(page: Page, served: Served) -> None:
    open_with_key(page, served)
    page.run(RECORD_ROWS)
    job_id = submit_through_form(page, method="smooth-reduce", n="3000", batch_size="300")
    page.wait(lambda: any(s == "running" and (p or 0) > 0 for s, p in states_seen(page, job_id)),
              "the job running with progress", timeout=180)
    page.screenshot("dashboard-jobs", whole=False)
    page.wait(lambda: page.find(row(job_id)).get_attribute("data-status") == "succeeded",
              "the job to succeed", timeout=240)
    order = list(dict.fromkeys(status for status, _ in states_seen(page, job_id)))
    assert order == ["queued", "running", "succeeded"]

    page.find(f"{row(job_id)} a").click()
    page.wait(lambda: page.find_all(".claim"), "the certificate")
    cert = job(served, job_id)["result"]
    assert page.text(".label-name") == cert["label_name"]
    assert float(page.text(".radius")) == pytest.approx(cert["radius"], rel=1e-3)
    assert_patches_readable(page, cert["geometry"]["k"])
    assert cert["geometry"]["k"] == 9
    shown_largest = float(page.text(".largest").rsplit(" ", 1)[1])
    assert shown_largest == pytest.approx(largest_radius(cert), rel=1e-3)
    assert str(cert["seed"]) in page.text("#recheck-command")
    page.screenshot("dashboard-certificate")

    page.use_width(375)
    assert page.overflows() == []
    page.screenshot("dashboard-certificate-phone", width=375)
    page.use_width(1920)
    claim, radius = page.find_all(".job-body > .panel")[:2]
    assert claim.rect["y"] == radius.rect["y"] and claim.rect["x"] < radius.rect["x"]


def test_a_video_certificate_shows_its_frames_as_a_strip_with_the_clips(
    page: Page, served: Served
) -> None:
    job_id = submit(served, SAMPLE_VIDEO, method="smooth-reduce", n="100")
    assert wait_until_ended(served, job_id)["status"] == "succeeded"
    page.open(f"/dashboard/jobs/{job_id}")
    page.enter_key(served.key)  # a shared link in a new browser: the page asks first
    page.wait(lambda: page.find_all(".claim"), "the certificate")
    cert = job(served, job_id)["result"]
    frames, geometry = cert["input"]["shape"][1], cert["geometry"]
    assert len(page.find_all(".strip canvas")) == frames
    assert [clip.text for clip in page.find_all(".strip .clip")] == [
        f"clip {i + 1}: frames {start}\N{EN DASH}{start + geometry['clip_length'] - 1}"
        for i, start in enumerate(geometry["starts"])]
    # Chromium decoded the upload and drew every certified frame (the item is never all black).
    brightness = page.run("""return [...document.querySelectorAll('.strip canvas')].map((c) => {
        const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let sum = 0; for (let i = 0; i < pixels.length; i += 4) sum += pixels[i]; return sum; });""")
    assert len(brightness) == frames and min(brightness) > 0


def test_a_failed_jobs_page_gives_its_error_in_words_and_its_code(
    page: Page, served: Served, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(SAMPLE_PNG.read_bytes()[:100])  # a PNG cut short
    job_id = submit(served, broken, n="100")
    error = wait_until_ended(served, job_id)["error"]
    page.open(f"/dashboard/jobs/{job_id}")
    page.enter_key(served.key)
    page.wait(lambda: page.find_all(".ended"), "the failed job's page")
    assert page.text("#ended-title") == "This job failed."
    assert page.text(".ended .detail") == error["detail"]
    assert page.text(".error-code") == error["error"] == "corrupt_image"


def run_recheck_command(command: str, served: Served, job_id: str, folder: Path) -> dict[str, Any]:
    words = shlex.split(command)
    assert words[:2] == ["certify", "local"]
    with served.client() as client:
        (folder / words[2]).write_bytes(client.get(f"/jobs/{job_id}/input").content)
    done = subprocess.run([sys.executable, "-m", "certify_cli.main", *words[1:], "--json"],
                          cwd=folder, env=served.env, capture_output=True, text=True, timeout=300,
                          check=True)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_html_class_names_show_as_text_and_the_recheck_command_gives_the_same_certificate(
    page: Page, served: Served, tmp_path: Path
) -> None:
    open_with_key(page, served)
    Select(page.find("#model-select")).select_by_value(HTML_MODEL)
    listed = [item.get_attribute("textContent") for item in page.find_all("#model-help li")]
    assert listed == list(HTML_CLASS_NAMES)
    job_id = submit_through_form(page, n="200")
    page.wait(lambda: page.find(row(job_id)).get_attribute("data-status") == "succeeded",
              "the job to succeed", timeout=240)
    cert = job(served, job_id)["result"]
    assert HTML_CLASS_NAMES[cert["label"]] in page.text(f"{row(job_id)} td:nth-child(6)")

    page.open(f"/dashboard/jobs/{job_id}")
    page.wait(lambda: page.find_all(".claim"), "the certificate")
    assert page.text(".label-name") == HTML_CLASS_NAMES[cert["label"]]
    assert [cell.get_attribute("textContent") for cell in page.find_all(".class-name")] == \
        list(HTML_CLASS_NAMES)
    assert page.run("return window.__injected") is None
    assert page.find_all("main img, main script, main b, main i") == []
    # The page's CSP makes the browser refuse markup strings outright (Trusted Types).
    refused = "try { document.body.innerHTML = '<b>x</b>'; return 'inserted'; } " \
              "catch (error) { return error.name; }"
    assert page.run(refused) == "TypeError"
    page.console()  # that refusal is logged; the page itself must log none (the fixture checks)
    assert httpx.get(f"{served.url}/jobs/{job_id}/input").status_code == 401  # as the job

    local = run_recheck_command(page.text("#recheck-command"), served, job_id, tmp_path)
    for field in ("label", "label_name", "n_a", "p_lower", "radius", "seed", "selection_counts",
                  "estimation_counts"):
        assert local[field] == cert[field], field
    assert local["model"]["sha256"] == cert["model"]["sha256"]
