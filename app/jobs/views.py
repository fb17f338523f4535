"""How an rq job reads to a client: the five service statuses, progress, result or error.

rq marks a job `finished` whenever the task returned; the task's own
`JobOutcome` says whether that was a success, a refused input or a
cancellation. rq's `failed` is left for crashes, lost workers and timeouts,
whose error `certify_jobs.crashes.record_crash` chose where rq handled them.
"""

from typing import Any

from pydantic import TypeAdapter, ValidationError
from rq.job import Job, JobStatus
from rq.results import Result

from app.schemas import JobProgress, JobView, WebhookRecord
from certify_contract import Certificate, ErrorBody, JobOutcome
from certify_jobs.contract import (
    ATTEMPTS_META,
    ERROR_META,
    OPTIONS_META,
    PROGRESS_META,
    STARTED_META,
)
from certify_jobs.contract import JobStatus as ServiceStatus
from certify_jobs.crashes import UNEXPECTED
from certify_jobs.endings import WEBHOOK_META

QUEUED_STATES = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
OUTCOME = TypeAdapter(JobOutcome)
ERROR = TypeAdapter(ErrorBody)
View = tuple[ServiceStatus, Certificate | None, ErrorBody | None]


def _crash_error(job: Job) -> ErrorBody:
    try:
        return ERROR.validate_python((job.meta or {}).get(ERROR_META))
    except ValidationError:  # nothing recorded: the crash happened outside any handler
        return UNEXPECTED


def _finished(job: Job) -> View:
    latest = job.latest_result()
    value: Any = latest.return_value if latest is not None and latest.type == Result.Type.SUCCESSFUL \
        else None
    try:
        ended = OUTCOME.validate_python(value)
    except ValidationError:
        return "failed", None, ErrorBody("internal_error", "The job left no readable result.")
    return ended.outcome, ended.certificate, ended.error


def _status(job: Job) -> View:
    state = job.get_status(refresh=False)
    if state in QUEUED_STATES:
        return "queued", None, None
    if state == JobStatus.STARTED:
        return "running", None, None
    if state == JobStatus.CANCELED:
        return "canceled", None, ErrorBody("canceled", "Canceled before it ran.")
    if state == JobStatus.FINISHED:
        return _finished(job)
    return "failed", None, _crash_error(job)


def job_view(job: Job, cancel_requested: bool) -> JobView:
    status, result, error = _status(job)
    meta = job.meta or {}
    progress = meta.get(PROGRESS_META)
    options = meta.get(OPTIONS_META)
    webhook = meta.get(WEBHOOK_META)
    return JobView(
        job_id=job.id,
        status=status,
        model=meta.get("model"),
        media_type=meta.get("media_type"),
        created_at=job.created_at,
        started_at=meta.get(STARTED_META) or job.started_at,
        ended_at=job.ended_at if status not in ("queued", "running") else None,
        progress=JobProgress(**progress) if isinstance(progress, dict) else None,
        attempts=int(meta.get(ATTEMPTS_META, 0)),
        options=options if isinstance(options, dict) else None,
        cancel_requested=cancel_requested,
        result=result,
        error=error,
        webhook=WebhookRecord(**webhook) if isinstance(webhook, dict) else None,
    )
