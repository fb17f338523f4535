"""A job interrupted by a Redis restart runs next, with its retries kept (a real restart)."""

from pathlib import Path

import pytest
import redis

from certify_jobs.restarts import WORKER_RECONNECT_S, sweep_must_wait
from certify_testkit.processes import free_port, start_redis, stop
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


def test_the_sweep_waits_only_while_redis_is_fresh_and_says_so_without_info(tmp_path: Path) -> None:
    port = free_port()
    fresh = start_redis(port, tmp_path)
    try:
        assert sweep_must_wait(redis.Redis(port=port), heartbeat_ttl_s=3)
        assert not sweep_must_wait(redis.Redis(port=port), heartbeat_ttl_s=-WORKER_RECONNECT_S)
    finally:
        stop(fresh)
    no_info = start_redis(port, tmp_path, "--rename-command", "INFO", "")
    try:
        assert not sweep_must_wait(redis.Redis(port=port), heartbeat_ttl_s=3)
    finally:
        stop(no_info)
