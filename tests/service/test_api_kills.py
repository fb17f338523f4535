"""The API SIGKILLed while it creates jobs and batches (the full run: scripts/fault_injection.py)."""

from pathlib import Path

import pytest

from certify_testkit.api_faults import run_api_kills

pytestmark = pytest.mark.integration


def test_api_kills_leave_no_half_made_batch_and_no_key_pointing_at_nothing(
    tmp_path: Path,
) -> None:
    # Before batches were created in one transaction and keys bound with what they name,
    # this size left about one broken batch and one key pointing at nothing per four kills.
    report = run_api_kills(tmp_path, submissions=24, kills=5, settle_s=150.0)
    summary = dict(report.rows())
    assert report.kills >= 3, summary
    assert report.broken_batches == [] and report.keys_pointing_at_nothing == [], summary
    assert report.missing == [] and report.unended == [] and report.gave_up == 0, summary
    assert sum(report.submissions.values()) == 24, summary
