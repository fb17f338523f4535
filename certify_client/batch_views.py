"""What the API answers about batches, as typed records (the API's `BatchView`, ...)."""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from certify_client.views import JobView, WebhookRecord, json_ready

BatchStatus = Literal["open", "running", "ended", "canceled"]


@dataclass(frozen=True)
class BatchCounts:
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    canceled: int = 0


@dataclass(frozen=True)
class BatchMetrics:
    """`certify evaluate`'s metrics over the labeled jobs that succeeded so far."""

    images: int
    certified_accuracy: dict[str, float]
    acr: float
    abstention_rate: float
    clean_accuracy: float
    seconds_per_image: float


@dataclass(frozen=True)
class BatchView:
    batch_id: str
    status: BatchStatus
    total: int
    counts: BatchCounts
    progress: float
    created_at: datetime
    model: str
    options: dict[str, Any]
    labeled: bool
    jobs_url: str
    results_url: str
    closed_at: datetime | None = None
    ended_at: datetime | None = None
    metrics: BatchMetrics | None = None
    callback_url: str | None = None
    webhook: WebhookRecord | None = None

    @property
    def ended(self) -> bool:
        """Every job has ended (or the batch was canceled and its running jobs stopped)."""
        return self.status == "ended" or (
            self.status == "canceled" and self.counts.queued + self.counts.running == 0)

    def to_dict(self) -> dict[str, Any]:
        ready: dict[str, Any] = json_ready(asdict(self))
        return ready


@dataclass(frozen=True)
class BatchItem:
    index: int
    name: str
    job: JobView
    label: int | None = None


@dataclass(frozen=True)
class BatchItemPage:
    items: list[BatchItem]
    offset: int
    limit: int
    next_offset: int | None = None


@dataclass(frozen=True)
class BatchList:
    batches: list[BatchView]
    offset: int
    limit: int
    next_offset: int | None = None
