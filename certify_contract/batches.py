"""What the API answers about batches: counts, metrics, the batch view, its items, pages."""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from certify_contract.jobs import JobView, WebhookRecord
from certify_contract.options import CertifyOptions
from certify_contract.records import RECORD_CONFIG, json_ready

BatchStatus = Literal["open", "running", "ended", "canceled"]


@dataclass(frozen=True)
class BatchCounts:
    """The batch's jobs by status."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    canceled: int = 0


@dataclass(frozen=True)
class BatchMetrics:
    """The metrics of `certify evaluate`, over the labeled jobs that succeeded so far."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    images: int
    """Labeled jobs that succeeded (the metrics' denominator)."""
    certified_accuracy: dict[str, float]
    """Fraction correct with a certified radius >= r, at the standard radii."""
    certified_accuracy_interval: dict[str, list[float]]
    """Its exact 95% (Clopper-Pearson) interval at each radius: [lower, upper]."""
    acr: float
    """Standard ACR: the mean over all evaluated images of the radius when correct, 0 otherwise."""
    abstention_rate: float
    """Fraction of abstentions."""
    clean_accuracy: float
    """Fraction whose smoothed prediction is correct."""
    seconds_per_image: float
    """Mean certification time per image."""


@dataclass(frozen=True, kw_only=True)
class BatchView:
    """One batch: its jobs counted by status, its progress and, with labels, its metrics."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    batch_id: str
    """The batch's id (32 hex digits)."""
    status: BatchStatus
    """`open`: accepting files (POST /batches/{id}/files) until closed; `running`: closed, jobs
    still to end; `ended`: every job ended; `canceled`."""
    total: int
    """Jobs in the batch (one per file)."""
    counts: BatchCounts
    """The jobs by status."""
    progress: float
    """Share of the jobs that have ended, 0 to 1."""
    created_at: datetime
    """When the batch was created."""
    closed_at: datetime | None = None
    """When it was closed (or canceled)."""
    ended_at: datetime | None = None
    """When its last job ended."""
    model: str
    """The model every job certifies with."""
    options: CertifyOptions
    """The certification options every job runs with (defaults filled in)."""
    labeled: bool
    """Whether any file has a label (then `metrics` is given)."""
    metrics: BatchMetrics | None = None
    """`certify evaluate`'s metrics over the labeled jobs that succeeded so far."""
    callback_url: str | None = None
    """Where the batch's final view is POSTed when it ends."""
    webhook: WebhookRecord | None = None
    """The delivery of `callback_url`, once the batch ended."""
    jobs_url: str
    """The batch's files in order, each with its job: `/batches/{id}/jobs`."""
    results_url: str
    """The reference TSV of the succeeded jobs: `/batches/{id}/results.tsv`."""

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
    """One file of a batch, with its job."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    index: int
    """Position of the file in the batch (the TSV's `idx`)."""
    name: str
    """The file's name (or the archive member's path)."""
    label: int | None
    """The file's class index, when labels were given for it."""
    job: JobView
    """The file's job."""


@dataclass(frozen=True)
class BatchItemPage:
    """One page of a batch's files, in order."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    items: list[BatchItem]
    offset: int
    limit: int
    next_offset: int | None = None
    """Offset of the next page, null on the last page."""


@dataclass(frozen=True)
class BatchList:
    """One page of the caller's batches, newest first."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    batches: list[BatchView]
    offset: int
    limit: int
    next_offset: int | None = None
    """Offset of the next page, null on the last page."""
