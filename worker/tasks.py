"""The one allow-listed task: fetch the upload, decode it sandboxed, certify, report progress."""

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

import torch
from rq import get_current_job
from rq.job import Job
from rq.timeouts import JobTimeoutException

from certify_contract import Certificate, CodedError, ErrorBody, JobOutcome
from certify_core import CertificationCanceled, certify
from certify_core.certifier import certified_input_shape
from certify_core.models import LoadedModel
from certify_jobs.contract import (
    ATTEMPTS_META,
    ERROR_META,
    PROGRESS_META,
    STARTED_META,
    JobPayload,
)
from certify_jobs.uploads import read_upload, release_for_job, upload_key_of
from certify_media import DecodeRequest, decode_upload
from worker.metrics import observed_task
from worker.runtime import CURRENT_RUNTIME, WorkerRuntime

log = logging.getLogger(__name__)


class JobRefused(CodedError):
    """A job this worker will not run as given (its upload or model is not there)."""


def _begin_attempt(job: Job) -> None:
    job.meta[ATTEMPTS_META] = int(job.meta.get(ATTEMPTS_META, 0)) + 1
    job.meta[STARTED_META] = datetime.now(UTC).isoformat()
    for stale in (PROGRESS_META, ERROR_META):  # a retried job starts afresh
        job.meta.pop(stale, None)
    job.save_meta()


def _load_upload(runtime: WorkerRuntime, payload: JobPayload) -> bytes:
    data = read_upload(runtime.blobs, runtime.redis, payload.upload_key)
    if data is None:
        raise JobRefused("upload_expired", "The stored upload was gone before a worker ran the job.")
    if hashlib.sha256(data).hexdigest() != payload.upload_sha256:
        raise JobRefused("upload_mismatch", "The stored upload does not match its content hash.")
    return data


def _model(runtime: WorkerRuntime, payload: JobPayload) -> LoadedModel:
    """A served model, or a registered one loaded on first use (`model_load_failed` if it
    cannot be: the job fails, the worker goes on)."""
    if payload.model_source is not None:
        return runtime.registered.get(payload.model_source)
    model = runtime.models.get(payload.model)
    if model is None:
        raise JobRefused("unknown_model", f"This worker does not serve model {payload.model!r}.")
    return model


def _certify(runtime: WorkerRuntime, job: Job, payload: JobPayload) -> Certificate:
    model = _model(runtime, payload)
    if model.manifest.kind != payload.media_kind:
        raise JobRefused("model_media_mismatch",
                         f"Model {payload.model!r} takes {model.manifest.kind} input.")
    data = _load_upload(runtime, payload)
    # Video decodes to the whole certified frame tensor, not one clip.
    request = DecodeRequest(payload.media_kind, certified_input_shape(model, payload.options))
    decoded = decode_upload(data, request, runtime.media_limits, runtime.sandbox)

    looks: dict[str, int] = {}  # adaptive sampling: the looks taken, reported with progress

    def progress(done: int, total: int) -> None:
        job.meta[PROGRESS_META] = {"done": done, "total": total, **looks}
        job.save_meta()

    def on_look(taken: int, declared: int) -> None:
        looks.update(looks_taken=taken, looks=declared)
        job.meta[PROGRESS_META] = {**job.meta.get(PROGRESS_META, {}), **looks}
        job.save_meta()

    # A compiled mode's first job compiles inside its sampling time: not a rate to publish.
    compiled_before = set(model.compiled)
    certificate = certify(
        model, torch.from_numpy(decoded.array), payload.options, seed=payload.seed,
        progress=progress, should_cancel=lambda: runtime.cancel_requested(job.id),
        described_input=decoded.described, on_look=on_look,
    )
    if certificate.compile == "off" or certificate.compile in compiled_before:
        runtime.throughput.job_ended(payload.model, certificate.precision, certificate.compile,
                                     certificate.model_evaluations or 0, certificate.elapsed_s)
    return certificate


@observed_task  # job log lines (id, model, method, durations) and worker metrics
def run_certification(payload_data: dict[str, Any]) -> JobOutcome:
    """Every expected ending is an outcome; only crashes reach rq's failure path.

    An outcome is final (rq retries only crashes), so the job's upload is released then.
    """
    runtime = CURRENT_RUNTIME.get()
    job = get_current_job()
    if job is None:
        raise RuntimeError("run_certification runs only inside a certification worker.")
    _begin_attempt(job)
    outcome = _outcome(runtime, job, payload_data)
    upload_key = upload_key_of([payload_data])
    if upload_key is not None:
        release_for_job(runtime.blobs, upload_key, job.id, runtime.settings.upload_retention)
    return outcome


def _outcome(runtime: WorkerRuntime, job: Job, payload_data: dict[str, Any]) -> JobOutcome:
    try:
        if runtime.cancel_requested(job.id):
            raise CertificationCanceled("Canceled before it started.")
        return JobOutcome.succeeded(_certify(runtime, job, JobPayload.from_dict(payload_data)))
    except CertificationCanceled:
        return JobOutcome.canceled("Canceled at the caller's request.")
    except CodedError as exc:  # refused options, models, uploads and media, with their codes
        return JobOutcome.failed(exc.body())
    except JobTimeoutException:
        return JobOutcome.failed(ErrorBody(
            "job_timeout", f"The job exceeded {runtime.settings.job_timeout_s} s."))
