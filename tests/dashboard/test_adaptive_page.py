"""In a real browser: an adaptive certificate's page shows how it was sampled, and its re-check
command (which carries the looks and the radius asked) gives the same certificate."""

from pathlib import Path

import pytest

from tests.dashboard.browser import Page
from tests.dashboard.served import Served
from tests.dashboard.service_calls import job, submit, wait_until_ended
from tests.dashboard.test_jobs_flow import run_recheck_command

pytestmark = pytest.mark.integration


def facts_of(page: Page, title_id: str) -> dict[str, str]:
    panel = page.find(f'section[aria-labelledby="{title_id}"]')
    terms = [term.text for term in panel.find_elements("css selector", "dt")]
    return dict(zip(terms, [d.text for d in panel.find_elements("css selector", "dd")], strict=True))


def test_an_adaptive_certificate_shows_its_sampling(
    page: Page, served: Served, tmp_path: Path
) -> None:
    job_id = submit(served, n="400", sampling="adaptive", looks="100,200", radius="0.01")
    assert wait_until_ended(served, job_id)["status"] == "succeeded"
    cert = job(served, job_id)["result"]
    page.open(f"/dashboard/jobs/{job_id}")
    page.enter_key(served.key)
    page.wait(lambda: page.find_all("#sampling-title"), "the sampling panel")
    shown = facts_of(page, "sampling-title")
    assert shown["Sampling"] == "adaptive"
    assert shown["Looks (declared before sampling)"] == "100, 200, 400"
    assert shown["Looks taken"] == str(cert["looks_taken"])
    assert shown["Certified there"] == ("yes" if cert["certified_at_radius"] else "no")
    command = page.text("#recheck-command")
    assert "--sampling adaptive" in command and "--looks 100,200" in command
    local = run_recheck_command(command, served, job_id, tmp_path)
    for field in ("n", "n_a", "p_lower", "radius", "looks_taken", "stop_reason", "estimation_counts"):
        assert local[field] == cert[field], field


def test_a_fixed_n_certificate_has_no_sampling_panel(page: Page, served: Served) -> None:
    job_id = submit(served, n="100")
    assert wait_until_ended(served, job_id)["status"] == "succeeded"
    page.open(f"/dashboard/jobs/{job_id}")
    page.enter_key(served.key)
    page.wait(lambda: page.find_all(".claim"), "the certificate")
    assert page.find_all("#sampling-title") == []
