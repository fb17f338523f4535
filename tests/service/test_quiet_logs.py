"""The light webhook worker is quiet while idle: `make run` must not log a line a second."""

import time
from pathlib import Path

import pytest

from certify_testkit.processes import service_env, start_delivery_worker, stop

pytestmark = pytest.mark.integration
IDLE_S = 6


def test_an_idle_delivery_worker_logs_its_start_and_nothing_more(
    redis_base: str, model_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "delivery.log"
    env = service_env(f"{redis_base}/3", model_dir, CERTIFY_LOG_FORMAT="text")
    process = start_delivery_worker(env, log)
    try:
        time.sleep(IDLE_S)  # it runs its maintenance (and takes the retry lock) every second
        assert process.poll() is None, log.read_text()
    finally:
        stop(process)
    lines = log.read_text().splitlines()
    assert not [line for line in lines if "scheduler lock" in line], lines
    assert any("Webhook delivery" in line for line in lines), lines
    assert len(lines) <= 3, lines
