"""The one allow-listed task: fetch the upload, decode it guarded, certify, report progress."""

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

import torch
from rq import get_current_job
from rq.job import Job
from rq.timeouts import JobTimeoutException

from certify_core import CertificationCanceled, CertifyError, CertifyOptions, certify
from certify_core.certifier import certified_input_shape
from certify_jobs.contract import (
    ATTEMPTS_META,
    PROGRESS_META,
    STARTED_META,
    JobPayload,
    PayloadError,
    error_info,
    outcome,
)
from certify_media.errors import MediaError
from worker.decode_guard import decode_guarded
from worker.metrics import observed_task
from worker.runtime import CURRENT_RUNTIME, WorkerRuntime

log = logging.getLogger(__name__)


class JobRefused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def _begin_attempt(job: Job) -> None:
    job.meta[ATTEMPTS_META] = int(job.meta.get(ATTEMPTS_META, 0)) + 1
    job.meta[STARTED_META] = datetime.now(UTC).isoformat()
    job.meta.pop(PROGRESS_META, None)
    job.save_meta()


def _load_upload(runtime: WorkerRuntime, payload: JobPayload) -> bytes:
    data = runtime.redis.get(payload.upload_key)
    if not isinstance(data, bytes):
        raise JobRefused("upload_expired", "The stored upload expired before a worker ran the job.")
    if hashlib.sha256(data).hexdigest() != payload.upload_sha256:
        raise JobRefused("upload_mismatch", "The stored upload does not match its content hash.")
    return data


def _certify(runtime: WorkerRuntime, job: Job, payload: JobPayload) -> dict[str, Any]:
    model = runtime.models.get(payload.model)
    if model is None:
        raise JobRefused("unknown_model", f"This worker does not serve model {payload.model!r}.")
    if model.manifest.kind != payload.media_kind:
        raise JobRefused("model_media_mismatch",
                         f"Model {payload.model!r} takes {model.manifest.kind} input.")
    try:
        options = CertifyOptions(**payload.options)
    except TypeError as exc:
        raise JobRefused("invalid_payload", f"Unknown certification options: {exc}.") from None
    options.validate()
    data = _load_upload(runtime, payload)
    # Video decodes to the whole certified frame tensor, not one clip.
    shape = certified_input_shape(model, options)
    array, info = decode_guarded(
        payload.media_kind, data, shape, runtime.decode_limits, runtime.images)

    def progress(done: int, total: int) -> None:
        job.meta[PROGRESS_META] = {"done": done, "total": total}
        job.save_meta()

    certificate = certify(
        model, torch.from_numpy(array), options, seed=payload.seed, progress=progress,
        should_cancel=lambda: runtime.cancel_requested(job.id), input_info=info,
    )
    return certificate.to_dict()


@observed_task  # job log lines (id, model, method, durations) and worker metrics
def run_certification(payload_data: dict[str, Any]) -> dict[str, Any]:
    """Every expected ending is returned as an outcome; only crashes reach rq's failure path."""
    runtime = CURRENT_RUNTIME.get()
    job = get_current_job()
    if job is None:
        raise RuntimeError("run_certification runs only inside a certification worker.")
    _begin_attempt(job)
    try:
        if runtime.cancel_requested(job.id):
            raise CertificationCanceled("Canceled before it started.")
        payload = JobPayload.from_dict(payload_data)
        return outcome("succeeded", certificate=_certify(runtime, job, payload))
    except CertificationCanceled:
        detail = "Canceled at the caller's request."
        return outcome("canceled", error=error_info("canceled", detail))
    except (CertifyError, MediaError, JobRefused) as exc:
        return outcome("failed", error=error_info(exc.code, exc.detail))
    except PayloadError as exc:
        return outcome("failed", error=error_info("invalid_payload", str(exc)))
    except JobTimeoutException:
        return outcome("failed", error=error_info(
            "job_timeout", f"The job exceeded {runtime.settings.job_timeout_s} s."))
