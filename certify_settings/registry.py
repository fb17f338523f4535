"""The model registry: who may register models, where their weights live, how much a worker
holds (mixed into the one `Settings` object)."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class RegistrySettings(BaseModel):
    model_uploads: Literal["admin", "tenants", "off"] = Field(
        default="admin", description="Who may register and delete models with POST /models: "
        "`admin` (admin keys; the one caller when API keys are off), `tenants` (every key; a "
        "tenant's models are visible to it and admins only) or `off`. Loading TorchScript runs "
        "the uploader's code in the worker: grant it to tenants only if you trust them.")
    model_store_dir: Path | None = Field(
        default=None, description="Folder of registered models' weights, content-addressed by "
        "sha256 (default: `models/` in the data directory); a volume the API and every worker "
        "share when they run on different hosts.")
    model_max_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1, description="Largest weights file POST /models takes "
        "(and the most a weights zip may declare unpacked).")
    worker_model_cache_bytes: int = Field(
        default=2 * 1024**3, ge=0, description="Weights bytes of registered models one worker "
        "keeps loaded; the least recently used are dropped beyond it (one model larger than "
        "this is loaded for its job and dropped after).")
