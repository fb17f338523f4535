"""Operational settings: logs and metrics (mixed into the one `Settings` object)."""

from typing import Literal

from pydantic import BaseModel, Field


class OperationsSettings(BaseModel):
    log_format: Literal["json", "text"] = Field(
        default="json", description="`json`: one JSON object per line (job id, model, durations)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    worker_metrics_port: int | None = Field(
        default=None, ge=1, le=65535,
        description="Port of a worker's Prometheus endpoint (/metrics); unset: no endpoint. "
        "The per-GPU launcher gives its n-th worker this port + n.",
    )
    worker_metrics_host: str = Field(
        default="127.0.0.1", description="Address the worker's metrics endpoint binds (0.0.0.0 "
        "in containers)."
    )
