"""What a worker process holds for its whole life: settings, Redis, and its loaded models."""

import contextvars
import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import torch
from redis import Redis

from certify_contract import CertifyOptions
from certify_core.arithmetic import measure_passes, resolve_arithmetic, warm_up
from certify_core.models import LoadedModel, load_model
from certify_core.models.loading import available_models
from certify_jobs.contract import ServiceKeys
from certify_jobs.uploads import upload_store
from certify_media import MediaLimits, Sandbox
from certify_media.confinement import hide_environment
from certify_settings import Settings
from certify_store.blobs import BlobStore
from worker.registered_models import RegisteredModelCache
from worker.throughput import Throughputs

log = logging.getLogger(__name__)


FORCE_WEIGHTS_ONLY = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"  # read by torch at every torch.load


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
    warm: dict[str, list[dict[str, Any]]]  # per model, what ran before the first job
    blobs: BlobStore  # the uploads, on the folder the API shares
    throughput: Throughputs  # passes per second, per model and arithmetic (its presence shows)
    registered: RegisteredModelCache  # models registered over HTTP, loaded on first use

    @classmethod
    def start(cls, settings: Settings, redis: Redis) -> "WorkerRuntime":
        """Load every served model once, before the first job (never per job)."""
        # Every torch.load in this process only rebuilds tensors, even where torch itself asks
        # for a full unpickle: torch.export.load does for a .pt2's sample inputs when they fail
        # the restricted load, so a registered .pt2 could otherwise run a pickle's code here.
        os.environ[FORCE_WEIGHTS_ONLY] = "1"
        device = choose_device(settings)
        models = {name: load_model(name, device, settings.model_dirs)
                  for name in settings.served_models}
        installed = available_models(settings.model_dirs)
        for name in settings.optional_models:
            if name in installed:
                models[name] = load_model(name, device, settings.model_dirs)
            else:
                log.info("Default model %r is not installed; not serving it.", name)
        throughput = Throughputs()
        warm = {name: warm_up_model(model, settings, throughput) for name, model in models.items()}
        media_limits = MediaLimits.from_settings(settings)
        # Its environment holds the Redis URL: closed to the decoder (certify_media.confinement).
        if not hide_environment():
            log.warning("Could not make the worker undumpable; a decoder of the same uid "
                        "could read its environment.")
        sandbox = Sandbox(media_limits.sandbox)
        sandbox.start()  # before the first job, so that job does not wait for it
        registered = RegisteredModelCache(BlobStore(settings.model_store_dir_or_default), device,
                                          settings.worker_model_cache_bytes)
        return cls(settings, redis, models, ServiceKeys(), media_limits, sandbox, warm,
                   upload_store(settings), throughput, registered)

    def models_document(self, worker_name: str) -> str:
        """What GET /models shows for this worker's models (and how the API checks names)."""
        models: list[dict[str, Any]] = [
            {"name": name, "kind": model.manifest.kind, "sha256": model.sha256,
             "manifest": model.manifest.to_dict(), "warm": self.warm.get(name, []),
             "measured": self.throughput.of_model(name)}
            for name, model in self.models.items()
        ]
        # A registered model's jobs are recorded under `name@version` (the job's model).
        registered = [{**held, "measured": self.throughput.of_model(f"{held['name']}@{held['version']}")}
                      for held in self.registered.held()]
        return json.dumps({"worker": worker_name, "models": models, "registered": registered})

    def cancel_requested(self, job_id: str) -> bool:
        return bool(self.redis.exists(self.keys.cancel(job_id)))


def warm_up_model(model: LoadedModel, settings: Settings,
                  throughput: Throughputs) -> list[dict[str, Any]]:
    """Run the manifest's default arithmetic and the operator's pairs once, compiling them here
    (once per process) rather than in a job; then time noisy passes in each, the first figure
    of `throughput`."""
    wanted = [resolve_arithmetic(CertifyOptions(), model)]
    for precision, compile_mode in settings.warm_up_pairs:
        # The options check each pair's values; the library refuses fp16 off CUDA.
        options = CertifyOptions.from_dict({"precision": precision, "compile": compile_mode})
        wanted.append(resolve_arithmetic(options, model))
    done: list[dict[str, Any]] = []
    generator = torch.Generator(device=model.device).manual_seed(0)
    for arithmetic in dict.fromkeys(wanted):
        seconds = warm_up(model, arithmetic)
        passes, timed_s = measure_passes(model, arithmetic, generator)
        throughput.warmed_up(model.name, arithmetic.precision, arithmetic.compile, passes, timed_s)
        log.info("Warmed up %s in %s, compile %s: %.1f s; %.0f passes/s", model.name,
                 arithmetic.precision, arithmetic.compile, seconds, passes / timed_s)
        done.append({"precision": arithmetic.precision, "compile": arithmetic.compile,
                     "forward_rows": arithmetic.forward_rows, "seconds": round(seconds, 3)})
    return done


# The running worker binds its runtime here before it takes jobs; rq calls the
# task by dotted name, so the task finds its models through this variable.
CURRENT_RUNTIME: contextvars.ContextVar[WorkerRuntime] = contextvars.ContextVar("certify_runtime")
