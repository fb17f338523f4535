"""A gate's view, from its Redis state: progress per look, the counts, the verdict."""

from typing import Any

from pydantic import TypeAdapter

from app.gates.store import GateSpec, GateStore
from app.http.deps import Caller
from certify_contract import GateLook, GateView

VERDICT = TypeAdapter(dict[str, Any])
VIEW = TypeAdapter(GateView)


def gate_view(gates: GateStore, gate_id: str, caller: Caller) -> GateView:
    """The gate as `caller` may see it (404 for another key's gate)."""
    spec, raw = gates.load(gate_id, caller)
    return view_of(gates, gate_id, spec, raw)


def view_of(gates: GateStore, gate_id: str, spec: GateSpec, raw: dict[str, str]) -> GateView:
    rule = spec.rule()
    results = gates.results(gate_id)
    job_ids = gates.job_ids(gate_id)
    look = max(int(raw["look"]), 0)
    looks, done, certified = [], 0, 0
    for index, images in enumerate(rule.looks):
        wave = [results[j] for j in job_ids[done:images] if j in results] if index <= look else []
        certified += sum(c for c, _ in wave)
        looks.append(GateLook(images=images, ended=len(wave), certified=certified,
                              pass_from=rule.pass_from[index], fail_upto=rule.fail_upto[index]))
        done = images
    verdict = VERDICT.validate_json(raw["verdict"]) if raw.get("verdict") else None
    return VIEW.validate_python(dict(
        gate_id=gate_id, state=raw["state"], model=spec.model, model_sha256=spec.model_sha256,
        created_at=spec.created_at, ended_at=raw.get("ended_at"), radius=rule.radius,
        min_accuracy=spec.min_accuracy, confidence=spec.confidence, alpha=rule.alpha,
        n=spec.options.n, n0=spec.options.n0, set_size=spec.set_size, order_seed=spec.order_seed,
        look=look + 1, looks=looks, images=len(results),
        certified=sum(c for c, _ in results.values()),
        model_evaluations=sum(e for _, e in results.values()),
        jobs_canceled=int(raw.get("jobs_canceled", 0)), verdict=verdict))
