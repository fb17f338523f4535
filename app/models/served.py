"""The models live workers serve, read from their announcements.

Each worker writes its models (name, kind, sha256, manifest, measured passes
per second) under a key that expires unless renewed (worker/presence.py); a
model is served while one such key names it, and remembered for a day as
seen (to tell "away for now" from "no such model").
"""

import json
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from app.http.backend import Backend
from certify_contract import ModelInfo, ModelSource, WarmUp
from certify_contract.throughput import combined_throughput
from certify_jobs.contract import MODELS_SEEN_TTL_S

# A worker that starts or stops is seen by submissions within this time.
SERVED_MODELS_FRESH_S = 1.0


@dataclass(frozen=True)
class ServedModel:
    info: ModelInfo
    # A registered model (POST /models): what the job carries for a worker to load it.
    source: ModelSource | None = None

    @property
    def sigma(self) -> float | None:
        value = self.info.manifest.get("sigma")
        return float(value) if value is not None else None


class ServedModels:
    """What the workers serve now, cached for at most `SERVED_MODELS_FRESH_S` per process."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._served: tuple[float, dict[str, ServedModel]] | None = None

    def now(self) -> dict[str, ServedModel]:
        backend, by_name = self.backend, dict[str, dict[str, Any]]()
        measured = dict[str, list[dict[str, Any]]]()
        for key in backend.redis.scan_iter(match=backend.keys.worker_models_pattern, count=200):
            raw = backend.redis.get(key)
            if raw is None:
                continue
            for model in json.loads(raw).get("models", []):
                figures = model.pop("measured", [])  # one worker's rates, combined below
                entry = by_name.setdefault(model["name"], {**model, "workers": 0})
                entry["workers"] += 1
                measured.setdefault(model["name"], []).extend(figures)
        return {name: ServedModel(ModelInfo(
                    **{**entry, "warm": [WarmUp(**warm) for warm in entry.get("warm", [])]},
                    throughput=combined_throughput(measured.get(name, []))))
                for name, entry in sorted(by_name.items())}

    def recently(self) -> dict[str, ServedModel]:
        """`now()`, at most SERVED_MODELS_FRESH_S old: a submission needs no SCAN."""
        moment = time.monotonic()
        if self._served is None or moment - self._served[0] > SERVED_MODELS_FRESH_S:
            self._served = (moment, self.now())
        return self._served[1]

    def seen_recently(self, name: str) -> bool:
        """A worker announced `name` within the last day (its workers may be down for now)."""
        seen = self.backend.redis.hget(self.backend.keys.models_seen, name)
        return seen is not None and time.time() - float(seen) < MODELS_SEEN_TTL_S


async def get_served_models(request: Request) -> ServedModels:
    served: ServedModels = request.app.state.served_models
    return served


ServedModelsDep = Annotated[ServedModels, Depends(get_served_models)]
