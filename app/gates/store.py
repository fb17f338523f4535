"""Gates in Redis: the request, the images in their drawn order, the jobs of each wave.

A running gate is in the open set until its verdict, with no expiry: an API
restarted mid-gate finds it there (`app.gates.advance`). Its images' bytes are
held in the blob store under the gate's own name until it ends, so a later
wave can be queued long after the request's bytes are gone.
"""

import json
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.client import Pipeline

from app.http.backend import Backend
from app.http.deps import Caller
from app.http.errors import ApiError
from app.http.idempotency import Claim
from certify_contract import CertifyOptions
from certify_contract.gate_rule import GateRule


@dataclass(frozen=True)
class GateKeys:
    record: str
    items: str
    jobs: str
    results: str
    lock: str

    def all(self) -> tuple[str, ...]:
        return self.record, self.items, self.jobs, self.results


@dataclass(frozen=True)
class GateSpec:
    """What a gate was asked, fixed at creation."""

    owner: str
    model: str
    model_sha256: str | None
    kind: str
    options: CertifyOptions
    min_accuracy: float
    confidence: float
    set_size: int
    order_seed: int
    created_at: str
    callback_url: str | None = None
    # A registered model (`name@version`, resolved once): every wave loads this very version.
    model_source: dict[str, Any] | None = None

    def rule(self) -> GateRule:
        return gate_rule_of(self.set_size, self.min_accuracy, self.options, self.confidence)

    def to_json(self) -> str:
        fields = {k: v for k, v in self.__dict__.items() if k != "options"}
        return json.dumps({**fields, "options": self.options.to_dict()})

    @classmethod
    def from_json(cls, text: str | bytes) -> "GateSpec":
        data = json.loads(text)
        return cls(**{**data, "options": CertifyOptions.from_dict(data["options"])})


def gate_rule_of(set_size: int, min_accuracy: float, options: CertifyOptions,
                 confidence: float) -> GateRule:
    from certify_contract.gate_rule import gate_looks

    return GateRule(gate_looks(set_size), min_accuracy, float(options.radius or 0.0),
                    delta=1.0 - confidence, alpha=options.alpha)


def text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class GateStore:
    """The gates' Redis keys, reads and the small writes; waves are queued by `advance`."""

    def __init__(self, backend: Backend) -> None:
        self.backend, self.redis, self.settings = backend, backend.redis, backend.settings
        self.prefix = backend.keys.prefix

    def keys(self, gate_id: str) -> GateKeys:
        record = f"{self.prefix}:gate:{gate_id}"
        return GateKeys(record, f"{record}:items", f"{record}:jobs", f"{record}:results",
                        f"{record}:lock")

    @property
    def open_set(self) -> str:
        return f"{self.prefix}:gates:open"

    @property
    def unrecorded_set(self) -> str:
        """Gates whose last change the record database does not hold yet."""
        return f"{self.prefix}:gates:unrecorded"

    def index(self, owner: str | None) -> str:
        return f"{self.prefix}:gates:index" + (f":{owner}" if owner is not None else "")

    def create(self, gate_id: str, spec: GateSpec, items: list[dict[str, Any]], claim: Claim) -> None:
        """The gate whole, with its Idempotency-Key binding, in one transaction (its first
        wave is queued by `advance`)."""
        keys, now = self.keys(gate_id), time.time()

        def write(pipe: Pipeline) -> None:
            pipe.multi()
            pipe.hset(keys.record, mapping={"spec": spec.to_json(), "state": "running",
                                            "look": -1, "jobs_canceled": 0})
            pipe.rpush(keys.items, *[json.dumps(item) for item in items])
            for index in (self.index(spec.owner), self.index(None)):
                pipe.zadd(index, {gate_id: now})
            pipe.sadd(self.open_set, gate_id)
            # Recorded when created: in the same transaction, so no crash leaves a gate
            # running that the database will only learn of at its end.
            pipe.sadd(self.unrecorded_set, gate_id)

        claim.commit(self.redis, write)

    def raw(self, gate_id: str) -> dict[str, str]:
        return {text(k): text(v) for k, v in self.redis.hgetall(self.keys(gate_id).record).items()}

    def load(self, gate_id: str, caller: Caller) -> tuple[GateSpec, dict[str, str]]:
        """The gate when `caller` may see it; 404 as for an unknown id otherwise."""
        raw = self.raw(gate_id) if len(gate_id) == 32 else {}
        spec = GateSpec.from_json(raw["spec"]) if raw else None
        if spec is None or not caller.may_see(spec.owner):
            raise gate_not_found(gate_id)
        return spec, raw

    def newest(self, owner: str | None, count: int) -> list[tuple[str, float]]:
        """The `count` newest gates Redis lists (of `owner` only, when given): (id, created)."""
        pairs: list[tuple[bytes, float]] = self.redis.zrevrange(  # type: ignore[assignment]
            self.index(owner), 0, count - 1, withscores=True)
        return [(text(gate_id), float(created)) for gate_id, created in pairs]

    def items(self, gate_id: str, start: int = 0, count: int | None = None) -> list[dict[str, Any]]:
        """The images in their drawn order (`count` of them from `start`; default: all)."""
        stop = -1 if count is None else start + count - 1
        return [json.loads(i) for i in self.redis.lrange(self.keys(gate_id).items, start, stop)]

    def queued(self, gate_id: str) -> int:
        """Images queued as jobs so far (the first ones of the drawn order)."""
        return int(self.redis.llen(self.keys(gate_id).jobs))

    def job_ids(self, gate_id: str) -> list[str]:
        return [text(j) for j in self.redis.lrange(self.keys(gate_id).jobs, 0, -1)]

    def results(self, gate_id: str) -> dict[str, tuple[int, int]]:
        """job id -> (certified correct 0/1, model evaluations), for the ended jobs."""
        raw = self.redis.hgetall(self.keys(gate_id).results)
        return {text(k): tuple(json.loads(v)) for k, v in raw.items()}


def open_gate_ids(redis: Redis, prefix: str) -> list[str]:
    return [text(g) for g in redis.smembers(f"{prefix}:gates:open")]


def gate_not_found(gate_id: str) -> ApiError:
    return ApiError(404, "gate_not_found", f"No gate {gate_id!r} (unknown or expired).")
