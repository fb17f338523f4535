"""A gate's durable record and signed report, in the record store.

A gate is written when it is created and when it ends; each write waits in a
Redis set until the database has it (the advancer retries every tick), so a
database that is down delays a record but never loses it. The report of an
ended gate is signed as certificates are (`certify_store.signatures`):
`certify verify` checks it and names any changed field.
"""

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.gates.store import GateSpec, GateStore, text
from app.gates.views import VIEW, view_of
from certify_contract import GateView
from certify_store.records import STAGE_CREATED, STAGE_ENDED, GateRecord
from certify_store.signatures import sign_gate_report

log = logging.getLogger(__name__)


def mark_unrecorded(store: GateStore, gate_id: str) -> None:
    store.redis.sadd(store.unrecorded_set, gate_id)


def record_pending(store: GateStore) -> None:
    """Write every gate whose last change the database does not hold yet."""
    for gate_id in [text(g) for g in store.redis.smembers(store.unrecorded_set)]:
        try:
            record_gate(store, gate_id)
        except SQLAlchemyError as exc:
            log.warning("gate %s not recorded yet (record database): %s", gate_id, exc)
            return
        store.redis.srem(store.unrecorded_set, gate_id)


def record_gate(store: GateStore, gate_id: str) -> None:
    raw = store.raw(gate_id)
    if not raw:  # expired from Redis before the database came back: nothing left to write
        return
    spec = GateSpec.from_json(raw["spec"])
    view = view_of(store, gate_id, spec, raw)
    ended = view.state != "running"
    signed = sign_gate_report(store.backend.keyring, report_of(store, gate_id, spec, view)) \
        if view.verdict is not None else None
    store.backend.records.put_gate(GateRecord(
        gate_id, spec.owner, view.state, datetime.fromisoformat(spec.created_at),
        VIEW.dump_python(view, mode="json"), STAGE_ENDED if ended else STAGE_CREATED, spec.model,
        view.verdict.verdict if view.verdict else None,
        datetime.fromisoformat(view.ended_at) if view.ended_at else None, signed))


def report_of(store: GateStore, gate_id: str, spec: GateSpec, view: GateView) -> dict[str, Any]:
    """What the gate was asked, the data set it drew from, each image it used, the verdict."""
    items = store.items(gate_id)
    results = store.results(gate_id)
    used = []
    for position, (job_id, item) in enumerate(zip(store.job_ids(gate_id), items, strict=False)):
        if job_id in results:
            certified, evaluations = results[job_id]
            used.append({"position": position, "name": item["name"], "sha256": item["sha256"],
                         "label": item["label"], "job_id": job_id, "certified": certified,
                         "model_evaluations": evaluations})
    listing = sorted((item["index"], item["sha256"], item["label"]) for item in items)
    verdict = VIEW.dump_python(view, mode="json")["verdict"]
    return {
        "gate_id": gate_id, "model": {"name": spec.model, "sha256": spec.model_sha256,
                  "version": (spec.model_source or {}).get("version")},
        "rule": {"radius": view.radius, "min_accuracy": view.min_accuracy,
                 "confidence": view.confidence, "alpha": view.alpha,
                 "looks": [look.images for look in view.looks]},
        "options": spec.options.to_dict(),
        "data": {"set_size": spec.set_size, "sha256": hashlib.sha256(
            json.dumps(listing, separators=(",", ":")).encode()).hexdigest()},
        "order_seed": spec.order_seed, "images": used, "verdict": verdict,
        "created_at": spec.created_at, "ended_at": view.ended_at,
    }
