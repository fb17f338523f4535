"""A job interrupted by a Redis restart runs next, with its retries kept (a real restart)."""

from pathlib import Path

import pytest

from certify_testkit.queue_faults import run_restart_deep_queue

pytestmark = pytest.mark.integration


def test_a_job_interrupted_by_a_redis_restart_runs_next_and_keeps_its_retries(
    tmp_path: Path
) -> None:
    report = run_restart_deep_queue(tmp_path, queued=30)
    rows = "\n".join(f"{name}: {value}" for name, value in report.rows())
    assert report.interrupted_attempts == 2, f"Redis restart did not interrupt the job\n{rows}"
    assert report.started_before_it == 0, rows
    assert report.retries_left_after == report.retries_left_before == 1, rows
    assert report.interrupted_status == "succeeded" and not report.unended, rows
    assert report.outcomes == {"succeeded": 30}, rows
