"""Fault injection on the API itself: SIGKILLed while it creates jobs and batches.

A private Redis, one worker and one API run as real processes. Clients make
jobs (`POST /certify`) and closed batches (`POST /batches`, several files),
each with its own `Idempotency-Key`, and retry with that key on any failure
(connection reset, 5xx, 409) until they get a 202, as a well-behaved client
would. Meanwhile the API is SIGKILLed at random moments and started again on
the same port. Afterwards:

- every acknowledged job and batch must exist and end (a batch: every job it
  counts is listed, ended, and the batch itself ended);
- every batch in Redis, acknowledged or not, must hold as many jobs as it counts
  (a batch made half-way is "broken");
- every `Idempotency-Key` in Redis is either a pending claim (it expires) or
  names a job or batch that exists ("pointing at nothing" otherwise).
"""

import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from certify_jobs.contract import ServiceKeys
from certify_testkit.faults import JOB_FIELDS, distinct_png
from certify_testkit.model_fixture import write_test_model
from certify_testkit.processes import (
    free_port,
    service_env,
    start,
    start_api,
    start_redis,
    start_worker,
    stop,
    wait_for,
)

FILES_PER_BATCH = 12
# The kill lands this long (uniformly) after a request was sent: while the API handles it.
KILL_DELAY_S = (0.0, 0.25)
RETRY_PAUSE_S = 0.2


@dataclass
class ApiKillReport:
    kills: int = 0
    submissions: Counter[str] = field(default_factory=Counter)  # acknowledged, by kind
    retries: int = 0  # requests beyond the first, over all submissions
    gave_up: int = 0  # submissions never acknowledged
    missing: list[str] = field(default_factory=list)  # acknowledged ids that answer 404
    unended: list[str] = field(default_factory=list)  # acknowledged, not ended by the deadline
    broken_batches: list[str] = field(default_factory=list)  # counted jobs != listed jobs
    keys_pointing_at_nothing: list[str] = field(default_factory=list)
    pending_keys: int = 0
    seconds: float = 0.0

    def rows(self) -> list[tuple[str, object]]:
        return [("API SIGKILLs", self.kills),
                *((f"acknowledged: {kind}", count) for kind, count in
                  sorted(self.submissions.items())),
                ("retries (same Idempotency-Key)", self.retries),
                ("submissions never acknowledged", self.gave_up),
                ("acknowledged ids unknown (404)", len(self.missing)),
                ("acknowledged, not ended", len(self.unended)),
                ("broken batches (counted != listed jobs)", len(self.broken_batches)),
                ("keys pointing at nothing", len(self.keys_pointing_at_nothing)),
                ("keys still pending", self.pending_keys),
                ("seconds", round(self.seconds, 1))]


class KilledApi:
    """Redis, one worker and an API that can be SIGKILLed and started again on its port."""

    def __init__(self, root: Path, **settings: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root, self.redis_port, self.api_port = root, free_port(), free_port()
        self.redis = start_redis(self.redis_port, root)
        self.env = service_env(f"redis://127.0.0.1:{self.redis_port}/0",
                               write_test_model(root / "models"), **settings)
        self.worker = start_worker(self.env, root / "worker.log")
        self.api = start_api(self.env, self.api_port, root / "api.log")
        self.url = f"http://127.0.0.1:{self.api_port}"
        wait_for(lambda: httpx.get(f"{self.url}/readyz").status_code == 200, 120, "worker ready")

    def kill_and_restart(self) -> None:
        os.kill(self.api.pid, signal.SIGKILL)
        self.api.wait()
        # Started by hand: on a loaded machine an API can take longer than `start_api` waits.
        self.api = start([sys.executable, "-m", "app", "--port", str(self.api_port)], self.env,
                         self.root / "api.log")
        wait_for(lambda: _up(f"{self.url}/healthz"), 120, "API restart", self.api)

    def close(self) -> None:
        for process in (self.api, self.worker, self.redis):
            stop(process)


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _submit_once(client: httpx.Client, kind: str, index: int, report: ApiKillReport,
                 lock: threading.Lock, acked: list[tuple[str, str]], deadline: float,
                 sent: threading.Event) -> None:
    """One job or batch under one Idempotency-Key, retried with that key until acknowledged."""
    key, first = uuid.uuid4().hex, True
    while time.monotonic() < deadline:
        if not first:
            with lock:
                report.retries += 1
        first = False
        sent.set()
        try:
            if kind == "job":
                answer = client.post("/certify", data=JOB_FIELDS, headers={"Idempotency-Key": key},
                                     files={"file": (f"{index}.png", distinct_png(index))})
            else:
                files = [("file", (f"{i}.png", distinct_png(index * 100 + i)))
                         for i in range(FILES_PER_BATCH)]
                answer = client.post("/batches", data=JOB_FIELDS, files=files,
                                     headers={"Idempotency-Key": key})
        except httpx.HTTPError:
            time.sleep(RETRY_PAUSE_S)
            continue
        if answer.status_code == 202:
            body = answer.json()
            with lock:
                report.submissions[kind] += 1
                acked.append((kind, body["job_id"] if kind == "job" else body["batch_id"]))
            return
        time.sleep(RETRY_PAUSE_S)
    with lock:
        report.gave_up += 1


def _ended(client: httpx.Client, kind: str, target: str, report: ApiKillReport) -> bool | None:
    """True: ended; False: not yet; None: unknown (404), recorded as missing."""
    answer = client.get(f"/jobs/{target}" if kind == "job" else f"/batches/{target}")
    if answer.status_code == 404:
        report.missing.append(target)
        return None
    view = answer.json()
    if kind == "job":
        return bool(view["status"] in ("succeeded", "failed", "canceled"))
    counts = view["counts"]
    return bool(view["status"] == "ended" and counts["queued"] + counts["running"] == 0)


def _account(cluster: KilledApi, acked: list[tuple[str, str]], report: ApiKillReport,
             settle_s: float) -> None:
    pending = set(acked)
    deadline = time.monotonic() + settle_s
    with httpx.Client(base_url=cluster.url, timeout=30) as client:
        while pending and time.monotonic() < deadline:
            for kind, target in sorted(pending):
                if _ended(client, kind, target, report) is not False:
                    pending.discard((kind, target))
            time.sleep(0.5)
    report.unended = sorted(target for _, target in pending)
    _audit_redis(redis.Redis(port=cluster.redis_port), report, cluster.url)


def _audit_redis(store: redis.Redis, report: ApiKillReport, api_url: str) -> None:
    keys = ServiceKeys()
    for name in store.scan_iter(match=f"{keys.prefix}:batch:*"):
        batch_id = name.decode().split(":")[2]
        if name.decode() != keys.batch(batch_id).record:
            continue
        total = int(store.hget(name, "total") or 0)
        if store.llen(keys.batch(batch_id).jobs) != total:
            report.broken_batches.append(batch_id)
    for name in store.scan_iter(match=f"{keys.prefix}:idempotency:*"):
        raw = store.get(name)
        value = raw.decode() if isinstance(raw, bytes) else str(raw or "")
        if value.startswith("pending:"):
            report.pending_keys += 1
        elif not (store.exists(f"rq:job:{value}") or store.exists(keys.batch(value).record)
                  or _recorded(api_url, value)):
            report.keys_pointing_at_nothing.append(name.decode())


def _recorded(api_url: str, job_id: str) -> bool:
    """An ended job leaves Redis once its record is written: the API still answers for it."""
    return httpx.get(f"{api_url}/jobs/{job_id}", timeout=10).status_code == 200


def run_api_kills(root: Path, submissions: int = 60, kills: int = 6, clients: int = 4,
                  rate: float = 3.0, seed: int = 0, settle_s: float = 180.0) -> ApiKillReport:
    """`submissions` jobs and batches (one in two), paced at `rate` per second in
    all, while the API is killed `kills` times at random moments (fixed `seed`)."""
    report, lock = ApiKillReport(), threading.Lock()
    acked: list[tuple[str, str]] = []
    started = time.monotonic()
    cluster = KilledApi(root, CERTIFY_IDEMPOTENCY_LEASE_S="2")
    try:
        counter = iter(range(submissions))
        give_up_at = time.monotonic() + 300

        sent = threading.Event()

        def submitter() -> None:
            with httpx.Client(base_url=cluster.url, timeout=30) as client:
                for index in counter:  # shared iterator: each index once across threads
                    kind = "batch" if index % 2 == 0 else "job"
                    _submit_once(client, kind, index, report, lock, acked, give_up_at, sent)
                    time.sleep(clients / rate)

        threads = [threading.Thread(target=submitter, daemon=True) for _ in range(clients)]
        for thread in threads:
            thread.start()
        pause = random.Random(seed)
        for _ in range(kills):
            sent.clear()  # the next request sent after the API is back ...
            if not sent.wait(30) or not any(thread.is_alive() for thread in threads):
                break
            time.sleep(pause.uniform(*KILL_DELAY_S))  # ... is killed while it is handled
            cluster.kill_and_restart()
            report.kills += 1
        for thread in threads:
            thread.join()
        _account(cluster, acked, report, settle_s)
    finally:
        cluster.close()
        report.seconds = time.monotonic() - started
    return report


def is_healthy(report: ApiKillReport) -> bool:
    return not (report.missing or report.unended or report.broken_batches
                or report.keys_pointing_at_nothing or report.gave_up)

