"""How an rq job reads to a client: the five service statuses, progress, result or error.

rq marks a job `finished` whenever the task returned; the task's own
`outcome` says whether that was a success, a refused input or a
cancellation. rq's `failed` is left for crashes, lost workers and timeouts.
"""

from typing import Any

from rq.job import Job, JobStatus
from rq.results import Result

from app.schemas import JobError, JobProgress, JobView
from certify_jobs.contract import ATTEMPTS_META, PROGRESS_META, STARTED_META

QUEUED_STATES = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def _crash_error(job: Job) -> JobError:
    latest = job.latest_result()
    text = (latest.exc_string or "") if latest is not None else ""
    if "AbandonedJobError" in text:
        return JobError(code="worker_lost", detail="The worker running this job stopped "
                        "(killed or lost) and no retries were left.")
    if "JobTimeoutException" in text:
        return JobError(code="job_timeout", detail="The job exceeded the job time limit.")
    return JobError(code="internal_error", detail="The worker failed unexpectedly on this job.")


def _finished(job: Job) -> tuple[str, dict[str, Any] | None, JobError | None]:
    latest = job.latest_result()
    value = latest.return_value if latest is not None and latest.type == Result.Type.SUCCESSFUL \
        else None
    if not isinstance(value, dict):
        return "failed", None, JobError(code="internal_error", detail="The job left no result.")
    kind = value.get("outcome")
    if kind == "succeeded":
        return "succeeded", value.get("certificate"), None
    error = value.get("error") or {"code": "internal_error", "detail": "Unknown failure."}
    return ("canceled" if kind == "canceled" else "failed"), None, JobError(**error)


def _status(job: Job) -> tuple[str, dict[str, Any] | None, JobError | None]:
    state = job.get_status(refresh=False)
    if state in QUEUED_STATES:
        return "queued", None, None
    if state == JobStatus.STARTED:
        return "running", None, None
    if state == JobStatus.CANCELED:
        return "canceled", None, JobError(code="canceled", detail="Canceled before it ran.")
    if state == JobStatus.FINISHED:
        return _finished(job)
    return "failed", None, _crash_error(job)


def job_view(job: Job, cancel_requested: bool) -> JobView:
    status, result, error = _status(job)
    meta = job.meta or {}
    progress = meta.get(PROGRESS_META)
    return JobView(
        job_id=job.id,
        status=status,  # type: ignore[arg-type]
        model=meta.get("model"),
        media_type=meta.get("media_type"),
        created_at=job.created_at,
        started_at=meta.get(STARTED_META) or job.started_at,
        ended_at=job.ended_at if status not in ("queued", "running") else None,
        progress=JobProgress(**progress) if isinstance(progress, dict) else None,
        attempts=int(meta.get(ATTEMPTS_META, 0)),
        cancel_requested=cancel_requested,
        result=result,
        error=error,
    )
