"""Registered models in one worker: loaded on first use from the model store, kept in an LRU
cache bounded in bytes, and announced through the worker's presence.

A cached model is never reloaded per job (DESIGN's rule): a job finds it by `name@version`.
The bound counts weights bytes (the stored file's size, what a model costs in memory to
within its buffers); the least recently used models go first. A model larger than the whole
bound is loaded for its job and not kept. A model that fails to load raises `ModelLoadError`
(`model_load_failed`): the job fails, the worker keeps serving.
"""

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch

from certify_contract import ModelSource
from certify_core.models import LoadedModel
from certify_core.models.loading import load_registered_model
from certify_store.blobs import BlobStore

log = logging.getLogger(__name__)


class RegisteredModelCache:
    def __init__(self, store: BlobStore, device: torch.device, max_bytes: int) -> None:
        self.store = store
        self.device = device
        self.max_bytes = max_bytes
        self._held: OrderedDict[str, tuple[LoadedModel, int]] = OrderedDict()
        self._lock = threading.Lock()  # the presence thread reads `held()` while a job loads
        self.on_change: Callable[[], None] = lambda: None  # the worker re-announces its presence
        self.loads = 0  # cold loads so far (a reload after an eviction counts again)

    def get(self, source: ModelSource) -> LoadedModel:
        with self._lock:
            entry = self._held.get(source.ref)
            if entry is not None:
                self._held.move_to_end(source.ref)
                return entry[0]
        weights = self.store.path(source.weights_key)
        model = load_registered_model(source.manifest, weights, source.sha256, source.version,
                                      self.device)
        self.loads += 1
        size = weights.stat().st_size
        log.info("Loaded registered model %s (%d bytes)", source.ref, size)
        self._keep(source.ref, model, size)
        return model

    def _keep(self, ref: str, model: LoadedModel, size: int) -> None:
        if size > self.max_bytes:
            log.info("Model %s (%d bytes) exceeds the cache (%d bytes): not kept", ref, size,
                     self.max_bytes)
            return
        with self._lock:
            self._held[ref] = (model, size)
            while sum(held for _, held in self._held.values()) > self.max_bytes:
                evicted, _ = self._held.popitem(last=False)
                log.info("Evicted registered model %s (least recently used)", evicted)
        self.on_change()

    def held(self) -> list[dict[str, Any]]:
        """What the presence announces: each held model's name, version, sha256 and bytes."""
        with self._lock:
            return [{"name": model.name, "version": model.version, "sha256": model.sha256,
                     "bytes": size} for model, size in self._held.values()]
