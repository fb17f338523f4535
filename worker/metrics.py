"""Prometheus metrics and JSON log lines of a worker process.

`observed_task` wraps the allow-listed task: it logs the job's start and end
with its id, model, method and durations, and counts jobs by outcome,
certification time, noisy samples and model evaluations. `serve_metrics`
starts the `/metrics` endpoint on `CERTIFY_WORKER_METRICS_PORT` (a daemon
thread, so it answers while a job runs).
"""

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.process_collector import ProcessCollector
from rq import get_current_job

from certify_contract import Certificate, CodedError, JobOutcome
from certify_jobs.contract import JobPayload
from certify_jobs.json_logs import job_fields
from certify_settings import Settings
from worker.runtime import CURRENT_RUNTIME

log = logging.getLogger("worker.jobs")
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
LABELS = ("model", "method")

# One registry per worker process (the process serves it on its own port).
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
JOBS = Counter("certify_worker_jobs", "Jobs this worker ended, by outcome "
               "(succeeded, failed, canceled, crashed).", (*LABELS, "outcome"), registry=REGISTRY)
JOB_DURATION = Histogram("certify_worker_job_duration_seconds", "Whole job: fetch, sandboxed "
                         "decode and certification.", (*LABELS, "outcome"),
                         buckets=DURATION_BUCKETS, registry=REGISTRY)
CERTIFY_DURATION = Histogram("certify_worker_certification_duration_seconds", "Certification "
                             "alone (sampling and counting) of succeeded jobs.", LABELS,
                             buckets=DURATION_BUCKETS, registry=REGISTRY)
SAMPLES = Counter("certify_worker_samples", "Noisy samples drawn (n0 + n) by succeeded jobs.",
                  LABELS, registry=REGISTRY)
EVALUATIONS = Counter("certify_worker_model_evaluations", "Base-model forward evaluations "
                      "(samples x patches) by succeeded jobs.", LABELS, registry=REGISTRY)
SAMPLE_RATE = Gauge("certify_worker_samples_per_second", "Noisy samples per second of the "
                    "last succeeded job.", LABELS, registry=REGISTRY)
EVALUATION_RATE = Gauge("certify_worker_model_evaluations_per_second", "Model evaluations per "
                        "second of the last succeeded job.", LABELS, registry=REGISTRY)
BUSY = Gauge("certify_worker_busy", "1 while this worker runs a job.", registry=REGISTRY)
INFO = Gauge("certify_worker_info", "This worker's name, device and served models (value 1).",
             ("worker", "device", "models"), registry=REGISTRY)


def serve_metrics(settings: Settings, worker_name: str, device: str, models: list[str]) -> None:
    INFO.labels(worker_name, device, ",".join(sorted(models))).set(1)
    if settings.worker_metrics_port is None:
        return
    start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host,
                      registry=REGISTRY)
    log.info("metrics on http://%s:%d/metrics", settings.worker_metrics_host,
             settings.worker_metrics_port, extra={"event": "metrics_listening"})


def _labels(payload: JobPayload | None, served: set[str] | None) -> tuple[str, str]:
    """Bounded label values: a malformed payload must not create new time series."""
    if payload is None:
        return "unknown", "other"
    model = payload.model if served is None or payload.model in served else "unknown"
    if payload.model_source is not None:  # one series for all registered versions, however many
        model = "registered"
    return model, payload.options.method


def _certificate_rates(certificate: Certificate) -> dict[str, float]:
    seconds = certificate.elapsed_s
    samples = certificate.n0 + certificate.n
    evaluations = samples * (certificate.geometry.k if certificate.geometry is not None else 1)
    return {"certify_s": round(seconds, 6), "samples": samples, "evaluations": evaluations,
            "samples_per_s": round(samples / seconds, 1) if seconds > 0 else 0.0,
            "evaluations_per_s": round(evaluations / seconds, 1) if seconds > 0 else 0.0}


def record_success(labels: tuple[str, str], certificate: Certificate) -> dict[str, Any]:
    rates = _certificate_rates(certificate)
    CERTIFY_DURATION.labels(*labels).observe(rates["certify_s"])
    SAMPLES.labels(*labels).inc(rates["samples"])
    EVALUATIONS.labels(*labels).inc(rates["evaluations"])
    SAMPLE_RATE.labels(*labels).set(rates["samples_per_s"])
    EVALUATION_RATE.labels(*labels).set(rates["evaluations_per_s"])
    return {**rates, "abstained": certificate.abstained, "radius": certificate.radius}


def _ended(fields: dict[str, Any], labels: tuple[str, str], result: JobOutcome,
           seconds: float) -> None:
    details: dict[str, Any] = {}
    if result.certificate is not None:
        details = record_success(labels, result.certificate)
    elif result.error is not None:
        details = {"error_code": result.error.error}
    JOBS.labels(*labels, result.outcome).inc()
    JOB_DURATION.labels(*labels, result.outcome).observe(seconds)
    level = logging.INFO if result.outcome in ("succeeded", "canceled") else logging.WARNING
    log.log(level, "job %s", result.outcome, extra={
        "event": "job_ended", **fields, "outcome": result.outcome,
        "duration_s": round(seconds, 6), **details})


def _served() -> set[str] | None:
    runtime = CURRENT_RUNTIME.get(None)
    return set(runtime.models) if runtime is not None else None


def _payload_or_none(payload_data: Any) -> JobPayload | None:
    try:
        return JobPayload.from_dict(payload_data)
    except CodedError:  # the task reports it as the job's error; here it only labels
        return None


def observed_task(
    task: Callable[[dict[str, Any]], JobOutcome],
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Wrap `task` with job log lines and metrics; rq stores the outcome as JSON."""

    @functools.wraps(task)
    def run(payload_data: dict[str, Any]) -> dict[str, Any]:
        job = get_current_job()
        payload = _payload_or_none(payload_data)
        fields = job_fields(job.id if job is not None else "", payload)
        labels = _labels(payload, _served())
        log.info("job started", extra={"event": "job_started", **fields})
        BUSY.set(1)
        start = time.perf_counter()
        try:
            result = task(payload_data)
        except BaseException:
            JOBS.labels(*labels, "crashed").inc()
            log.exception("job crashed", extra={"event": "job_ended", **fields,
                                                "outcome": "crashed",
                                                "duration_s": round(time.perf_counter() - start, 6)})
            raise
        finally:
            BUSY.set(0)
        _ended(fields, labels, result, time.perf_counter() - start)
        return result.to_dict()

    return run
