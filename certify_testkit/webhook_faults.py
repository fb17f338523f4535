"""Fault injection on webhooks: five bad receivers must not delay the healthy ones.

A private Redis, one certifying worker, the delivery worker and the API run as
real processes. Jobs call back to five bad receivers (two hang, two trickle
their answer a byte at a time, one refuses connections) and, meanwhile, to a
healthy one. Measured: how long each healthy delivery took from the job's end
(`ended_at` in the body) to its arrival; whether every attempt at a bad
receiver was recorded on its job (`webhook.attempts`, final state `failed`);
and how far the gaps between attempts strayed from the documented schedule
(the attempt's deadline, then `CERTIFY_WEBHOOK_BACKOFF_S * 2**i`).
"""

import itertools
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from certify_contract.webhooks import DELIVERY_HEADER
from certify_testkit.bad_receivers import BadReceiver, refusing_url
from certify_testkit.faults import JOB_FIELDS, distinct_png
from certify_testkit.model_fixture import write_test_model
from certify_testkit.processes import (
    free_port,
    service_env,
    start_api,
    start_delivery_worker,
    start_redis,
    start_worker,
    stop,
    wait_for,
)
from certify_testkit.webhook_receiver import Receiver

SECRET = "webhook-faults-secret"
DEADLINE_S, RETRIES, BACKOFF_S = 2.0, 3, 1


@dataclass
class WebhookReport:
    healthy_latency_s: list[float] = field(default_factory=list)
    healthy_missing: int = 0
    bad_deliveries: int = 0
    bad_attempts_recorded: int = 0
    bad_attempts_expected: int = 0
    bad_not_final: int = 0  # records not in state `failed` by the end
    schedule_error_s: list[float] = field(default_factory=list)  # per gap: seen - documented
    seconds: float = 0.0

    def percentile(self, q: float) -> float:
        values = sorted(self.healthy_latency_s)
        return values[min(int(q * len(values)), len(values) - 1)] if values else float("nan")

    def rows(self) -> list[tuple[str, object]]:
        gaps = self.schedule_error_s
        return [("healthy deliveries", len(self.healthy_latency_s)),
                ("healthy not delivered", self.healthy_missing),
                ("healthy latency p50 (s)", round(self.percentile(0.5), 3)),
                ("healthy latency p95 (s)", round(self.percentile(0.95), 3)),
                ("healthy latency max (s)", round(max(self.healthy_latency_s, default=0), 3)),
                ("bad deliveries", self.bad_deliveries),
                ("bad attempts recorded / expected",
                 f"{self.bad_attempts_recorded} / {self.bad_attempts_expected}"),
                ("bad deliveries not final", self.bad_not_final),
                ("retry gap - schedule, median (s)",
                 round(statistics.median(gaps), 2) if gaps else "n/a"),
                ("retry gap - schedule, max (s)", round(max(gaps), 2) if gaps else "n/a"),
                ("seconds", round(self.seconds, 1))]


class WebhookCluster:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.redis = start_redis(port, root)
        self.env = service_env(
            f"redis://127.0.0.1:{port}/0", write_test_model(root / "models"),
            CERTIFY_WEBHOOK_SECRET=SECRET, CERTIFY_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
            CERTIFY_WEBHOOK_ALLOW_PRIVATE="true", CERTIFY_WEBHOOK_TIMEOUT_S=str(DEADLINE_S),
            CERTIFY_WEBHOOK_RETRIES=str(RETRIES), CERTIFY_WEBHOOK_BACKOFF_S=str(BACKOFF_S))
        self.processes = [start_worker(self.env, root / "worker.log"),
                          start_delivery_worker(self.env, root / "delivery.log")]
        api_port = free_port()
        self.processes.append(start_api(self.env, api_port, root / "api.log"))
        self.url = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: httpx.get(f"{self.url}/readyz").status_code == 200, 120, "worker ready")

    def close(self) -> None:
        for process in (*reversed(self.processes), self.redis):
            stop(process)


class AttemptLog:
    """When each delivery id reached a bad receiver (its attempts)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def note(self, request: bytes) -> None:
        for line in request.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == DELIVERY_HEADER.lower().encode():
                with self.lock:
                    self.times.setdefault(value.strip().decode(), []).append(time.monotonic())


def _submit(http: httpx.Client, index: int, callback: str) -> str:
    answer = http.post("/certify", data={**JOB_FIELDS, "callback_url": callback},
                       files={"file": (f"{index}.png", distinct_png(index))})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["job_id"])


def _latency(got: Any) -> float:
    ended = datetime.fromisoformat(json.loads(got.body)["ended_at"]).timestamp()
    return float(got.at - ended)


def run_bad_receivers(root: Path, healthy: int = 30, per_bad: int = 3, rate: float = 4.0,
                      settle_s: float = 120.0) -> WebhookReport:
    report, started = WebhookReport(), time.monotonic()
    attempts = AttemptLog()
    bad = [BadReceiver("hang"), BadReceiver("hang"), BadReceiver("trickle"),
           BadReceiver("trickle")]
    for receiver in bad:
        receiver.on_request = attempts.note
    good = Receiver(free_port(), SECRET).start()
    cluster = WebhookCluster(root)
    try:
        with httpx.Client(base_url=cluster.url, timeout=30) as http:
            bad_jobs = [_submit(http, 10_000 + i, url) for i, url in
                        enumerate([r.url for r in bad] + [refusing_url()]) for _ in range(per_bad)]
            for index in range(healthy):
                _submit(http, index, good.url)
                time.sleep(1 / rate)
            good.wait_for(healthy, settle_s)
            report.healthy_latency_s = [_latency(got) for got in good.received]
            report.healthy_missing = healthy - len(good.received)
            _account_bad(http, bad_jobs, report, settle_s)
        report.schedule_error_s = _schedule_errors(attempts)
    finally:
        cluster.close()
        good.stop()
        for receiver in bad:
            receiver.stop()
        report.seconds = time.monotonic() - started
    return report


def _account_bad(http: httpx.Client, jobs: list[str], report: WebhookReport,
                 settle_s: float) -> None:
    report.bad_deliveries = len(jobs)
    report.bad_attempts_expected = len(jobs) * (RETRIES + 1)
    deadline = time.monotonic() + settle_s
    records: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        records = {job: http.get(f"/jobs/{job}").json().get("webhook") or {} for job in jobs}
        if all(record.get("state") == "failed" for record in records.values()):
            break
        time.sleep(1.0)
    report.bad_attempts_recorded = sum(int(r.get("attempts", 0)) for r in records.values())
    report.bad_not_final = sum(1 for r in records.values() if r.get("state") != "failed")


def _schedule_errors(attempts: AttemptLog) -> list[float]:
    """Each gap between two attempts of one delivery, less what the schedule documents:
    the attempt's own deadline plus the i-th backoff interval."""
    errors = []
    for times in attempts.times.values():
        for i, (earlier, later) in enumerate(itertools.pairwise(times)):
            errors.append(later - earlier - DEADLINE_S - BACKOFF_S * 2**i)
    return errors


def goal_met(report: WebhookReport) -> bool:
    return (report.healthy_missing == 0 and report.percentile(0.95) < 1.0
            and report.bad_attempts_recorded == report.bad_attempts_expected
            and report.bad_not_final == 0)
