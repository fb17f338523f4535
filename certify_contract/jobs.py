"""What the API answers about jobs: status, progress, webhook delivery, the job view, a page.

The API returns these records (its OpenAPI document is generated from them)
and the client reads the same JSON back into them, so the two cannot drift.
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, get_args

from certify_contract.errors import ErrorBody
from certify_contract.options import CertifyOptions
from certify_contract.records import RECORD_CONFIG, json_ready
from certify_contract.results import Certificate

JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]
JOB_STATUSES: tuple[JobStatus, ...] = get_args(JobStatus)
# A job in one of these never changes again; one in the others may still run or be canceled.
ENDED_STATUSES: frozenset[JobStatus] = frozenset({"succeeded", "failed", "canceled"})
ACTIVE_STATUSES: frozenset[JobStatus] = frozenset(JOB_STATUSES) - ENDED_STATUSES

DeliveryState = Literal["pending", "delivered", "failed", "refused"]


@dataclass(frozen=True)
class SubmittedJob:
    """The answer to a submission: the job to poll."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    job_id: str
    """The job's id (32 hex digits)."""
    status: JobStatus
    """`queued`, or the status of the earlier job when the Idempotency-Key was used before."""
    status_url: str
    """Where to poll the job: `/jobs/{job_id}`."""
    idempotency_key: str | None = None
    """The Idempotency-Key the submission carried (send it again: the same job, no duplicate)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class JobProgress:
    """How far a running job has come."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    done: int
    """Noisy samples evaluated so far (selection + estimation)."""
    total: int
    """n0 + n (adaptive sampling: n0 + n_max, the most it may draw)."""
    looks_taken: int | None = None
    """Adaptive sampling: the looks taken so far; null for fixed n."""
    looks: int | None = None
    """Adaptive sampling: the looks declared before sampling; null for fixed n."""


@dataclass(frozen=True)
class WebhookRecord:
    """The delivery of a webhook: every retry of one ending carries the same `delivery_id`."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    delivery_id: str
    """One id per ending, the same on every retry (the `X-Certify-Delivery` header)."""
    state: DeliveryState
    """`pending` (retrying), `delivered`, `failed` (retries spent) or `refused` (address not
    allowed at delivery)."""
    attempts: int = 0
    """Deliveries tried so far."""
    last_status: int | None = None
    """HTTP status of the last answer."""
    last_error: str | None = None
    """Why the last attempt failed."""
    last_attempt_at: datetime | None = None
    """When the last attempt was made."""
    delivered_at: datetime | None = None
    """When a 2xx answer arrived."""


@dataclass(frozen=True, kw_only=True)
class JobView:
    """One job: its status, progress, and the certificate or the error."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    job_id: str
    """The job's id (32 hex digits)."""
    status: JobStatus
    """queued, running, succeeded, failed or canceled; the last three never change again."""
    model: str | None = None
    """The model certified."""
    media_type: str | None = None
    """The upload's media type, sniffed from its bytes."""
    created_at: datetime | None = None
    """When the job was queued."""
    started_at: datetime | None = None
    """When a worker started its latest attempt."""
    ended_at: datetime | None = None
    """When it ended; null while queued or running."""
    progress: JobProgress | None = None
    """Samples done so far, once a worker runs it."""
    attempts: int = 0
    """How many times a worker started this job."""
    options: CertifyOptions | None = None
    """The certification options the job runs with (defaults filled in): with `model`, the
    input and `result.seed` they re-run it with `certify local`."""
    cancel_requested: bool = False
    """A cancel was asked for; a running job stops within one batch of samples."""
    result: Certificate | None = None
    """The certificate, once the job succeeded: the seed the server drew, the counts behind it,
    and under `input` the certified tensor and how the upload became it."""
    error: ErrorBody | None = None
    """Why the job failed or was canceled (the shape of every error)."""
    webhook: WebhookRecord | None = None
    """The delivery of the job's `callback_url`, once it ended."""

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """The view as JSON-ready values: exactly the fields, and names, the API sends."""
        ready: dict[str, Any] = json_ready(asdict(self))
        return ready


@dataclass(frozen=True)
class JobPage:
    """One page of `GET /jobs`, newest first."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    jobs: list[JobView]
    """The jobs of this page."""
    offset: int
    """How many jobs come before this page."""
    limit: int
    """The most jobs a page holds."""
    next_offset: int | None = None
    """Offset of the next page, null on the last page."""
    next_cursor: str | None = None
    """Pass as `cursor` for the next page: stable while new jobs arrive (null on the last page,
    and while the record database is unreachable)."""

    def to_dict(self) -> dict[str, Any]:
        ready: dict[str, Any] = json_ready(asdict(self))
        return ready
