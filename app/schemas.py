"""Response bodies of the API (they make the OpenAPI document)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from certify_contract import Certificate, ErrorBody
from certify_jobs.contract import JobStatus

EXAMPLE_JOB_ID = "6f1c2a7e0b9d4c55a1e3f0d2b8c4a9e1"


class SubmitResponse(BaseModel):
    job_id: str = Field(examples=[EXAMPLE_JOB_ID])
    status: JobStatus = Field(examples=["queued"])
    status_url: str = Field(examples=[f"/jobs/{EXAMPLE_JOB_ID}"])


class JobProgress(BaseModel):
    done: int = Field(description="Noisy samples evaluated so far (selection + estimation).")
    total: int = Field(description="n0 + n (adaptive sampling: n0 + n_max, the most it may draw).")
    looks_taken: int | None = Field(
        default=None, description="Adaptive sampling: the looks taken so far; null for fixed n.")
    looks: int | None = Field(
        default=None, description="Adaptive sampling: the looks declared before sampling.")


class WebhookRecord(BaseModel):
    """The delivery of a webhook: every retry of one ending carries the same `delivery_id`."""

    delivery_id: str
    state: str = Field(examples=["delivered"], description="`pending` (retrying), `delivered`, "
                       "`failed` (retries spent) or `refused` (address not allowed at delivery).")
    attempts: int = 0
    last_status: int | None = Field(default=None, description="HTTP status of the last answer.")
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


class JobView(BaseModel):
    job_id: str
    status: JobStatus
    model: str | None = None
    media_type: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    progress: JobProgress | None = None
    attempts: int = Field(default=0, description="How many times a worker started this job.")
    options: dict[str, Any] | None = Field(
        default=None, description="The certification options the job runs with (defaults filled "
        "in): with `model`, the input and `result.seed` they re-run it with `certify local`.")
    cancel_requested: bool = False
    result: Certificate | None = Field(
        default=None, description="The certificate, once the job succeeded: the seed the server "
        "drew, the counts behind it, and under `input` the certified tensor and how the upload "
        "became it.",
    )
    error: ErrorBody | None = Field(
        default=None, description="Why the job failed or was canceled (the shape of every error).")
    webhook: WebhookRecord | None = Field(
        default=None, description="The delivery of the job's `callback_url`, once it ended.")


class JobList(BaseModel):
    jobs: list[JobView]
    offset: int
    limit: int
    next_offset: int | None = Field(description="Offset of the next page, null on the last page.")


class ModelInfo(BaseModel):
    name: str
    kind: str = Field(examples=["image"])
    sha256: str
    workers: int = Field(description="Live workers serving this model.")
    manifest: dict[str, Any]


class ModelList(BaseModel):
    default_image_model: str
    default_video_model: str | None
    models: list[ModelInfo]


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    workers: int | None = None
