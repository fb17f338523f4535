"""An API, two workers and the webhook delivery worker on their own Redis DB, with two API keys.

Webhooks may go to loopback only because the tests allow it explicitly
(`CERTIFY_WEBHOOK_ALLOW_PRIVATE`); every receiver listens on 127.0.0.1.
"""

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from certify_testkit.processes import (
    free_port,
    service_env,
    start_api,
    start_delivery_worker,
    start_worker,
    stop,
    wait_for,
)

KEY_A, KEY_B = "key-a-0123456789", "key-b-0123456789"
SECRET = "test-webhook-secret"


@dataclass
class Platform:
    url: str
    redis_url: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]]

    def client(self, key: str = KEY_A) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=60.0)


def running_platform(redis_base: str, db: int, model_dir: Path, logs: Path,
                     workers: int = 2) -> Iterator[Platform]:
    redis_url = f"{redis_base}/{db}"
    env = service_env(
        redis_url, model_dir, CERTIFY_API_KEYS=f"{KEY_A},{KEY_B}",
        CERTIFY_WEBHOOK_SECRET=SECRET, CERTIFY_WEBHOOK_ALLOWED_HOSTS="127.0.0.1,localhost",
        CERTIFY_WEBHOOK_ALLOW_PRIVATE="true", CERTIFY_WEBHOOK_TIMEOUT_S="1",
        CERTIFY_WEBHOOK_RETRIES="5", CERTIFY_WEBHOOK_BACKOFF_S="1",
        CERTIFY_MAX_UPLOAD_BYTES="200000", CERTIFY_BATCH_MAX_FILES_PER_REQUEST="40",
        CERTIFY_BATCH_MAX_FILES="60", CERTIFY_BATCH_MAX_REQUEST_BYTES="2000000",
    )
    processes = [start_worker(env, logs / f"platform-worker-{i}.log") for i in range(workers)]
    processes.append(start_delivery_worker(env, logs / "platform-delivery.log"))
    try:
        port = free_port()
        processes.append(start_api(env, port, logs / "platform-api.log"))
        url = f"http://127.0.0.1:{port}"

        def all_workers_ready() -> bool:
            answer = httpx.get(f"{url}/readyz", headers={"X-API-Key": KEY_A})
            return answer.status_code == 200 and answer.json().get("workers") == workers

        wait_for(all_workers_ready, 120, "workers ready", processes[0])
        yield Platform(url, redis_url, env, processes)
    finally:
        for process in reversed(processes):
            stop(process)
