"""The short fault-injection run (the full one: scripts/fault_injection.py)."""

from pathlib import Path

import pytest

from certify_testkit.faults import run_faults

pytestmark = pytest.mark.integration


def test_every_accepted_job_ends_through_a_worker_kill_and_two_redis_restarts(
    tmp_path: Path,
) -> None:
    # ~25 s on an idle machine; the settle deadline leaves room for a loaded CI machine.
    report = run_faults(tmp_path, jobs=40, rate=4.0, settle_s=180.0)
    summary = dict(report.rows())
    assert len(report.accepted) == 40, summary  # every submission was eventually accepted
    assert report.lost == [] and report.stuck == [], summary
    assert sum(report.outcomes.values()) == 40, summary
    # Every failure carries a specific code (e.g. redis_interrupted, worker_lost), never a
    # generic one; most jobs succeed.
    assert not any(outcome.endswith("internal_error") for outcome in report.outcomes), summary
    assert report.outcomes["succeeded"] >= 30, summary
    # The worker that was not killed rode out both Redis restarts without being restarted.
    assert report.surviving_worker_alive, summary
