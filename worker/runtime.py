"""What a worker process holds for its whole life: settings, Redis, and its loaded models."""

import contextvars
import json
import logging
from dataclasses import dataclass
from typing import Any

import torch
from redis import Redis

from certify_core.models import LoadedModel, load_model
from certify_core.models.loading import available_models
from certify_jobs.contract import ServiceKeys
from certify_jobs.uploads import upload_store
from certify_media import MediaLimits, Sandbox
from certify_settings import Settings
from certify_store.blobs import BlobStore

log = logging.getLogger(__name__)


def choose_device(settings: Settings) -> torch.device:
    return torch.device(settings.device or ("cuda" if torch.cuda.is_available() else "cpu"))


@dataclass(frozen=True)
class WorkerRuntime:
    settings: Settings
    redis: Redis
    models: dict[str, LoadedModel]
    keys: ServiceKeys
    media_limits: MediaLimits
    sandbox: Sandbox  # decodes every upload, image or video
    blobs: BlobStore  # the uploads, on the folder the API shares

    @classmethod
    def start(cls, settings: Settings, redis: Redis) -> "WorkerRuntime":
        """Load every served model once, before the first job (never per job)."""
        device = choose_device(settings)
        models = {name: load_model(name, device, settings.model_dirs)
                  for name in settings.served_models}
        installed = available_models(settings.model_dirs)
        for name in settings.optional_models:
            if name in installed:
                models[name] = load_model(name, device, settings.model_dirs)
            else:
                log.info("Default model %r is not installed; not serving it.", name)
        media_limits = MediaLimits.from_settings(settings)
        sandbox = Sandbox(media_limits.sandbox)
        sandbox.start()  # before the first job, so that job does not wait for it
        return cls(settings, redis, models, ServiceKeys(), media_limits, sandbox,
                   upload_store(settings))

    def models_document(self, worker_name: str) -> str:
        """What GET /models shows for this worker's models (and how the API checks names)."""
        models: list[dict[str, Any]] = [
            {"name": name, "kind": model.manifest.kind, "sha256": model.sha256,
             "manifest": model.manifest.to_dict()}
            for name, model in self.models.items()
        ]
        return json.dumps({"worker": worker_name, "models": models})

    def cancel_requested(self, job_id: str) -> bool:
        return bool(self.redis.exists(self.keys.cancel(job_id)))


# The running worker binds its runtime here before it takes jobs; rq calls the
# task by dotted name, so the task finds its models through this variable.
CURRENT_RUNTIME: contextvars.ContextVar[WorkerRuntime] = contextvars.ContextVar("certify_runtime")
