"""The dashboard keeps no copy of the contract that could drift from it.

Statuses and stop reasons come from `contract.js`, which the API writes from
`certify_contract`; errors are placed by their `field`, never by their code;
what remains written in the scripts is pinned here to the Python source: the
certificate fields the page draws, each status it compares with, and its copy
of the largest-radius formula (checked in the browser against SciPy).
"""

import dataclasses
import itertools
import re

import pytest
from scipy.stats import norm

from certify_contract import ERROR_CODES, JOB_STATUSES, STOP_REASONS, Certificate
from certify_testkit.processes import REPO
from tests.dashboard.browser import Page

ASSETS = REPO / "app" / "dashboard" / "assets"
SCRIPTS = {path.name: path.read_text() for path in ASSETS.glob("*.js")}


def test_the_page_draws_every_field_of_the_certificate_and_no_other() -> None:
    listed = re.search(r"KNOWN_FIELDS = new Set\(\[(.*?)\]\)", SCRIPTS["cert_sections.js"], re.S)
    assert listed is not None
    known = set(re.findall(r"'(\w+)'", listed.group(1)))
    assert known == {field.name for field in dataclasses.fields(Certificate)}
    drawing = "\n".join(SCRIPTS.values())
    undrawn = {name for name in known if not re.search(rf"\bcert\.{name}\b", drawing)}
    assert not undrawn, f"listed as drawn, read by no script: {undrawn}"


def test_every_status_a_script_or_the_stylesheet_names_is_a_job_status() -> None:
    named = set()
    for text in SCRIPTS.values():
        named |= set(re.findall(r"status\s*[!=]==\s*'(\w+)'", text))
    named |= set(re.findall(r"data-status=(\w+)\]", (ASSETS / "style.css").read_text()))
    named |= set(re.findall(r"^\s*(\w+): 'This job", SCRIPTS["certificate.js"], re.M))
    assert named and named <= set(JOB_STATUSES), named - set(JOB_STATUSES)
    # The lists themselves (which statuses exist, which have ended) come from contract.js.
    for name, text in SCRIPTS.items():
        quoted = set(re.findall(r"'(\w+)'", text)) & set(JOB_STATUSES)
        assert len(quoted) <= 2, f"{name} spells statuses {sorted(quoted)}: import contract.js"
    assert "<option value=\"queued\"" not in (ASSETS / "index.html").read_text()


def test_no_script_copies_stop_reasons_or_groups_error_codes() -> None:
    for name, text in SCRIPTS.items():
        assert not [words for words in STOP_REASONS.values() if words[:30] in text], name
        for group in re.findall(r"new Set\(\[(.*?)\]\)", text, re.S):
            grouped = set(re.findall(r"'(\w+)'", group)) & (ERROR_CODES | set(JOB_STATUSES))
            assert not grouped, f"{name} groups {grouped}: place errors by error.field"
    # The key prompt words two codes itself; both must be the service's.
    worded = re.search(r"MESSAGES = \{(.*?)\};", SCRIPTS["keys.js"], re.S)
    assert worded is not None
    assert set(re.findall(r"^\s*(\w+):", worded.group(1), re.M)) <= ERROR_CODES


GRID = list(itertools.product((100, 1_000, 100_000), (1e-3, 1e-9), (0.12, 0.5),
                              (1.0, 3.4425), (0.0, 0.01)))


@pytest.mark.integration
def test_the_pages_largest_radius_is_the_libraries(page: Page) -> None:
    """normal.js keeps the formula (sigma Phi^-1(alpha^(1/n)) - centre error) / lift norm, with
    its own normal quantile, to draw the bar; here it meets SciPy's on a grid of cases."""
    page.open("/dashboard")
    cases = [dict(zip(("n", "alpha", "sigma", "lift_norm", "centre_error"), case, strict=True))
             for case in GRID]
    shown = page.driver.execute_async_script("""
        const [cases, done] = arguments;
        import(document.documentElement.dataset.root + '/dashboard/assets/normal.js')
          .then((module) => done(cases.map((c) => module.largestRadius(c))));""", cases)
    for case, radius in zip(cases, shown, strict=True):
        exact = (case["sigma"] * norm.ppf(case["alpha"] ** (1 / case["n"])) - case["centre_error"])
        expected = max(0.0, exact / case["lift_norm"])
        assert radius == pytest.approx(expected, rel=1e-7, abs=1e-12), case
