"""Five bad webhook receivers (hanging, trickling, refusing) do not delay the healthy ones.

The full run with figures: scripts/fault_injection.py --scenario webhooks.
"""

from pathlib import Path

import pytest

from certify_testkit.webhook_faults import run_bad_receivers

pytestmark = pytest.mark.integration


def test_bad_receivers_do_not_delay_healthy_deliveries(tmp_path: Path) -> None:
    # Before deliveries were concurrent with a total deadline, healthy deliveries here
    # waited behind every attempt at the bad receivers (tens of seconds).
    report = run_bad_receivers(tmp_path, healthy=12, per_bad=2, settle_s=120.0)
    summary = dict(report.rows())
    assert report.healthy_missing == 0, summary
    # The goal is under 1 s at the 95th percentile (scripts/fault_injection.py checks it);
    # here 3 s, room for a loaded CI machine, still far from the ~85 s seen before.
    assert report.percentile(0.95) < 3.0, summary
    # Every attempt at a bad receiver is recorded on its job, and each delivery ends failed.
    assert report.bad_attempts_recorded == report.bad_attempts_expected, summary
    assert report.bad_not_final == 0, summary
    # Attempts keep the documented schedule: deadline, then 1, 2, 4 s (slack for the
    # one-second scheduling tick and a loaded machine; before, gaps strayed by ~80 s).
    assert report.schedule_error_s and max(report.schedule_error_s) < 4.0, summary
    assert min(report.schedule_error_s) > -1.0, summary
