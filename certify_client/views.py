"""What the API answers about jobs, as typed records (the API's `JobView`, `JobList`, ...)."""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from certify_contract import Certificate, ErrorBody

JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]
ENDED: frozenset[str] = frozenset({"succeeded", "failed", "canceled"})


def json_ready(value: Any) -> Any:
    """A record's `asdict` with datetimes as ISO 8601 text: what `json.dumps` can write."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_ready(item) for item in value]
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class SubmittedJob:
    """The answer to a submission: the job to poll, and the key that made it idempotent."""

    job_id: str
    status: JobStatus
    status_url: str
    idempotency_key: str = ""
    """The Idempotency-Key the submission carried (send it again: same job, no duplicate)."""


@dataclass(frozen=True)
class JobProgress:
    done: int
    """Noisy samples evaluated so far (selection and estimation)."""
    total: int
    """n0 + n (adaptive sampling: n0 + n_max, the most it may draw)."""
    looks_taken: int | None = None
    """Adaptive sampling: the looks taken so far; null for fixed n."""
    looks: int | None = None
    """Adaptive sampling: the looks declared before sampling; null for fixed n."""


@dataclass(frozen=True)
class WebhookRecord:
    """The delivery of a webhook (the same `delivery_id` on every retry of one ending)."""

    delivery_id: str
    state: str
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class JobView:
    """One job: its status, progress, and the certificate or the error."""

    job_id: str
    status: JobStatus
    model: str | None = None
    media_type: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    progress: JobProgress | None = None
    attempts: int = 0
    cancel_requested: bool = False
    result: Certificate | None = None
    error: ErrorBody | None = None
    webhook: WebhookRecord | None = None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def to_dict(self) -> dict[str, Any]:
        """The view as JSON-ready values (the API's own field names)."""
        ready: dict[str, Any] = json_ready(asdict(self))
        return ready


@dataclass(frozen=True)
class JobPage:
    """One page of `GET /jobs`, newest first."""

    jobs: list[JobView]
    offset: int
    limit: int
    next_offset: int | None = None

    def to_dict(self) -> dict[str, Any]:
        ready: dict[str, Any] = json_ready(asdict(self))
        return ready
