"""How an rq job reads to a client (`certify_contract.JobView`): status, progress, result or error.

rq marks a job `finished` whenever the task returned; the task's own
`JobOutcome` says whether that was a success, a refused input or a
cancellation. rq's `failed` is left for crashes, lost workers and timeouts,
whose error `certify_jobs.crashes.record_crash` chose where rq handled them.
The model, media type and options are read from the job's payload, the one
place they are written.
"""

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from rq.exceptions import DeserializationError
from rq.job import Job, JobStatus
from rq.results import Result

from certify_contract import (
    ENDED_STATUSES,
    Certificate,
    CodedError,
    ErrorBody,
    JobOutcome,
    JobProgress,
    JobView,
    WebhookRecord,
)
from certify_contract import JobStatus as ServiceStatus
from certify_jobs.contract import ATTEMPTS_META, ERROR_META, PROGRESS_META, STARTED_META, JobPayload
from certify_jobs.crashes import UNEXPECTED
from certify_jobs.endings import WEBHOOK_META

QUEUED_STATES = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
OUTCOME = TypeAdapter(JobOutcome)
ERROR = TypeAdapter(ErrorBody)
PROGRESS = TypeAdapter(JobProgress)
JOB_VIEW = TypeAdapter(JobView)  # writes a view as the API answers it
WEBHOOK = TypeAdapter(WebhookRecord)
View = tuple[ServiceStatus, Certificate | None, ErrorBody | None]


def _crash_error(job: Job) -> ErrorBody:
    try:
        return ERROR.validate_python((job.meta or {}).get(ERROR_META))
    except ValidationError:  # nothing recorded: the crash happened outside any handler
        return UNEXPECTED


class JobVanished(LookupError):
    """The job left Redis between reading its hash and reading its result.

    An ended job's Redis copy is dropped once its record is written
    (`app.records.recorder`); a read that fetched the hash just before sees a
    finished job with no result. That is not a failure: its record answers.
    """


def _finished(job: Job) -> View:
    latest = job.latest_result()
    if latest is None and not job.connection.exists(job.key):
        raise JobVanished(job.id)
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


def payload_of(job: Job) -> JobPayload | None:
    """The job's payload, or None when it is not one (a job written to Redis by hand)."""
    try:
        return JobPayload.from_dict(job.args[0] if job.args else None)
    except (CodedError, TypeError, DeserializationError):
        return None


def _optional(adapter: TypeAdapter[Any], value: object) -> Any:
    try:
        return adapter.validate_python(value) if isinstance(value, dict) else None
    except ValidationError:
        return None


def webhook_record(value: object) -> WebhookRecord | None:
    """A delivery record as the delivery task stored it (a dict), if it reads as one."""
    record: WebhookRecord | None = _optional(WEBHOOK, value)
    return record


def _started(meta: dict[str, Any], job: Job) -> datetime | None:
    stamp = meta.get(STARTED_META)
    return datetime.fromisoformat(stamp) if isinstance(stamp, str) else job.started_at


def job_view(job: Job, cancel_requested: bool) -> JobView:
    status, result, error = _status(job)
    meta = job.meta or {}
    payload = payload_of(job)
    return JobView(
        job_id=job.id,
        status=status,
        model=payload.model if payload else None,
        media_type=payload.media_type if payload else None,
        created_at=job.created_at,
        started_at=_started(meta, job),
        ended_at=job.ended_at if status in ENDED_STATUSES else None,
        progress=_optional(PROGRESS, meta.get(PROGRESS_META)),
        attempts=int(meta.get(ATTEMPTS_META, 0)),
        options=payload.options if payload else None,
        cancel_requested=cancel_requested,
        result=result,
        error=error,
        webhook=webhook_record(meta.get(WEBHOOK_META)),
    )
