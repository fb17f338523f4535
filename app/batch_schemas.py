"""Response bodies of the batch endpoints (they make the OpenAPI document)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.schemas import JobView, WebhookRecord

BatchStatus = Literal["open", "running", "ended", "canceled"]


class BatchCounts(BaseModel):
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    canceled: int = 0


class BatchMetrics(BaseModel):
    """The metrics of `certify evaluate`, over the labeled jobs that succeeded so far."""

    images: int = Field(description="Labeled jobs that succeeded (the metrics' denominator).")
    certified_accuracy: dict[str, float] = Field(
        description="Fraction correct with a certified radius >= r, at the standard radii.")
    acr: float = Field(description="Standard ACR: the mean over all evaluated images of the "
                       "radius when correct, 0 otherwise.")
    abstention_rate: float
    clean_accuracy: float = Field(description="Fraction whose smoothed prediction is correct.")
    seconds_per_image: float


class BatchView(BaseModel):
    batch_id: str
    status: BatchStatus = Field(description="`open`: accepting files (POST /batches/{id}/files) "
                                "until closed; `running`: closed, jobs still to end; `ended`: "
                                "every job ended; `canceled`.")
    total: int = Field(description="Jobs in the batch (one per file).")
    counts: BatchCounts
    progress: float = Field(description="Share of the jobs that have ended, 0 to 1.")
    created_at: datetime
    closed_at: datetime | None = None
    ended_at: datetime | None = None
    model: str
    options: dict[str, Any]
    labeled: bool = Field(description="Whether any file has a label (then `metrics` is given).")
    metrics: BatchMetrics | None = None
    callback_url: str | None = None
    webhook: WebhookRecord | None = None
    jobs_url: str
    results_url: str


class BatchItem(BaseModel):
    index: int = Field(description="Position of the file in the batch (the TSV's `idx`).")
    name: str
    label: int | None = None
    job: JobView


class BatchItemPage(BaseModel):
    items: list[BatchItem]
    offset: int
    limit: int
    next_offset: int | None


class BatchList(BaseModel):
    batches: list[BatchView]
    offset: int
    limit: int
    next_offset: int | None
