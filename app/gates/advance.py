"""Moving gates forward: queue a look's wave, count its ends, stop at the first clear look.

A thread in each API process visits the open gates every `TICK_S` (a Redis
lock per gate makes one process at a time move a gate), so a gate outlives
any one API process. The first wave holds the first look's images; the next
wave is queued only when a look did not decide. Within a wave the gate stops
as soon as the look's answer no longer depends on the jobs still running:
a pass counted with those images as not certified (the count can only grow)
or a fail counted with them all certified (it can only shrink). The jobs left
then are canceled: they are not needed.
"""

import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from redis.exceptions import RedisError
from rq.job import Job
from sqlalchemy.exc import SQLAlchemyError

from app.gates.report import mark_unrecorded, record_pending
from app.gates.store import GateSpec, GateStore, open_gate_ids
from app.http.backend import Backend
from app.http.errors import ApiError
from app.jobs.queue import JobQueue
from app.jobs.views import job_view
from certify_contract import ACTIVE_STATUSES, Certificate, GateVerdict, ModelSource
from certify_contract.gate_rule import GateRule
from certify_jobs.contract import JobPayload
from certify_jobs.endings import GATE_META, announce_job_end, queue_webhook
from certify_jobs.unreadable import fetch_many_readable

log = logging.getLogger(__name__)
TICK_S = 0.5
LOCK_S = 15  # a step takes well under this; a killed process holds a gate no longer
GATE_HOLDER = "gate-{}"
CERTIFICATE = TypeAdapter(Certificate)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@contextmanager
def gate_lock(store: GateStore, gate_id: str, wait_s: float = 0.0) -> Iterator[bool]:
    """Hold the gate's lock (True), or not (False) when another holder keeps it past
    `wait_s`: one step of a gate at a time, across threads and API processes."""
    key, token = store.keys(gate_id).lock, secrets.token_hex(8)
    deadline = time.monotonic() + wait_s
    while not (held := bool(store.redis.set(key, token, nx=True, ex=LOCK_S))) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield held
    finally:
        if held and store.redis.get(key) in (token, token.encode()):
            store.redis.delete(key)


def advance(store: GateStore, queue: JobQueue, gate_id: str) -> None:
    """One step of one gate, under its lock (a second process skips it this tick)."""
    with gate_lock(store, gate_id) as held:
        if not held:
            return
        raw = store.raw(gate_id)
        if raw.get("state") != "running":
            store.redis.srem(store.open_set, gate_id)
            return
        spec = GateSpec.from_json(raw["spec"])
        look = int(raw["look"])
        if look < 0:
            queue_wave(store, queue, gate_id, spec, 0)
            return
        _step(store, queue, gate_id, spec, spec.rule(), look)


def cancel(store: GateStore, queue: JobQueue, gate_id: str) -> None:
    """DELETE: end a running gate without a verdict, its jobs canceled (waits for a step)."""
    with gate_lock(store, gate_id, wait_s=LOCK_S) as held:
        raw = store.raw(gate_id)
        if not held or raw.get("state") != "running":
            return
        _, pending = collect(store, gate_id, GateSpec.from_json(raw["spec"]))
        finish(store, queue, gate_id, "canceled", None, pending)


def _step(store: GateStore, queue: JobQueue, gate_id: str, spec: GateSpec, rule: GateRule,
          look: int) -> None:
    results, pending = collect(store, gate_id, spec)
    certified = sum(c for c, _ in results.values())
    evaluations = sum(e for _, e in results.values())
    # Not run yet, or canceled (by the gate's owner): counted as neither outcome.
    unrun = rule.looks[look] - len(results)
    decided = rule.passes(look, certified) or rule.fails(look, certified + unrun)
    if not decided and store.queued(gate_id) < rule.looks[look]:  # the wave came in part
        queue_wave(store, queue, gate_id, spec, look)
        return
    if not decided and pending:
        return
    if not decided and look + 1 < len(rule.looks):
        queue_wave(store, queue, gate_id, spec, look + 1)
        return
    verdict = rule.verdict(look, len(results), certified, evaluations, spec.set_size,
                           unrun=unrun)
    finish(store, queue, gate_id, "ended", verdict, pending)


def collect(store: GateStore, gate_id: str, spec: GateSpec) -> tuple[dict[str, tuple[int, int]], list[Job]]:
    """The ended jobs' (certified correct, evaluations), stored once seen; the jobs still active."""
    results = store.results(gate_id)
    labels = {job_id: item["label"] for job_id, item in
              zip(store.job_ids(gate_id), store.items(gate_id), strict=False)}
    waiting = [j for j in labels if j not in results]
    found: set[str] = set()
    pending = []
    for job in (j for j in fetch_many_readable(store.redis, waiting) if j is not None):
        found.add(job.id)
        view = job_view(job, False)
        if view.status in ACTIVE_STATUSES:
            pending.append(job)
            continue
        if view.status == "canceled":  # not used (canceled by the gate, or by its owner)
            continue
        results[job.id] = _outcome(view.result if view.status == "succeeded" else None,
                                   labels[job.id])
        store.redis.hset(store.keys(gate_id).results, job.id, json.dumps(results[job.id]))
    for lost in set(waiting) - found:  # gone from Redis: its record says how it ended
        results[lost] = _recorded(store, lost, labels[lost])
        store.redis.hset(store.keys(gate_id).results, lost, json.dumps(results[lost]))
    return results, pending


def _outcome(cert: Certificate | None, label: int) -> tuple[int, int]:
    """(certified correct at R, model evaluations): an abstention or a failure counts 0."""
    if cert is None:
        return 0, 0
    correct = bool(cert.certified_at_radius) and cert.label == label
    return int(correct), int(cert.model_evaluations or 0)


def _recorded(store: GateStore, job_id: str, label: int) -> tuple[int, int]:
    """A job Redis no longer holds, from the record store (not certified when unknown)."""
    try:
        record = store.backend.records.job(job_id)
    except SQLAlchemyError:
        record = None
    result = (record.view.get("result") if record is not None else None) or None
    return _outcome(CERTIFICATE.validate_python(result) if result else None, label)


def queue_wave(store: GateStore, queue: JobQueue, gate_id: str, spec: GateSpec, look: int) -> None:
    """The images of look `look` not yet queued, as ordinary jobs, with the look, atomically.

    The first wave was admitted by `POST /gates`; a later one is admitted against the
    owner's limits like any submission, and as much of it as they allow is queued: the
    rest waits for room (a later tick), so a gate never queues past its owner's limits.
    """
    queued, keys = store.queued(gate_id), store.keys(gate_id)
    wanted = spec.rule().looks[look] - queued
    if look > 0:
        wanted = _admitted(store, queue, gate_id, spec, wanted)
        if not wanted:
            return
    items = store.items(gate_id, queued, wanted)
    with store.redis.pipeline(transaction=True) as pipe:
        for item in items:
            job_id = queue.new_job_id()
            payload = JobPayload(
                upload_key=item["upload_key"], upload_sha256=item["sha256"],
                upload_bytes=item["bytes"], media_type=item["media_type"],
                media_kind=spec.kind, model=spec.model, options=spec.options,  # type: ignore[arg-type]
                seed=secrets.randbits(62),  # drawn by the server, per image
                model_source=ModelSource.from_dict(spec.model_source) if spec.model_source else None)
            data = store.backend.blobs.read(item["upload_key"])
            queue.add_to(pipe, payload, job_id, owner=spec.owner, upload=data,
                         meta={GATE_META: gate_id})
            pipe.rpush(keys.jobs, job_id)
        pipe.hset(keys.record, "look", look)
        pipe.hdel(keys.record, "waiting_for_room")
        pipe.execute()
    queue.dispatch()


def _admitted(store: GateStore, queue: JobQueue, gate_id: str, spec: GateSpec, wanted: int) -> int:
    """How many of `wanted` jobs the owner's limits admit now (spent, as a submission would)."""
    fits = queue.room(spec.owner, spec.options, wanted)
    if fits:
        try:
            queue.admit(spec.owner, spec.options, fits)
            return fits
        except ApiError:  # another submission of the owner took the room first
            pass
    if store.redis.hsetnx(store.keys(gate_id).record, "waiting_for_room", now_iso()):
        log.info("gate waits for room under its owner's limits", extra={
            "event": "gate_waiting", "gate_id": gate_id, "jobs_wanted": wanted})
    return 0


def finish(store: GateStore, queue: JobQueue, gate_id: str, state: str,
           verdict: GateVerdict | None, pending: list[Job]) -> None:
    """Cancel the jobs left, write the ending, release the images, leave the open set."""
    for job in pending:
        queue.cancel(job)
        announce_job_end(store.redis, store.settings, job)  # only if it has ended
    keys = store.keys(gate_id)
    fields: dict[str, str | int] = {"state": state, "ended_at": now_iso(), "jobs_canceled": len(pending)}
    if verdict is not None:
        fields["verdict"] = json.dumps(verdict_dict(verdict))
    store.redis.hset(keys.record, mapping=fields)  # type: ignore[arg-type]
    for key in keys.all():
        store.redis.expire(key, store.settings.result_ttl_s)
    retention = store.settings.upload_retention
    for item in store.items(gate_id):
        store.backend.blobs.release(item["upload_key"], GATE_HOLDER.format(gate_id), retention)
    store.redis.srem(store.open_set, gate_id)
    mark_unrecorded(store, gate_id)
    callback = GateSpec.from_json(store.raw(gate_id)["spec"]).callback_url
    if callback and verdict is not None:
        queue_webhook(store.redis, store.settings, "gate", gate_id)
    log.info("gate ended", extra={"event": "gate_ended", "gate_id": gate_id,
                                  "verdict": verdict.verdict if verdict else state})


def verdict_dict(verdict: GateVerdict) -> dict[str, Any]:
    from dataclasses import asdict

    return {**asdict(verdict), "looks": list(verdict.looks)}


class GateAdvancer:
    """The thread that visits the open gates of every API process's Redis."""

    def __init__(self, backend: Backend, queue: JobQueue) -> None:
        self.store, self.queue = GateStore(backend), queue
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        redis_down = False
        while not self._stop.wait(TICK_S):
            try:
                self.tick()
                redis_down = False
            except RedisError as exc:  # Redis away: the gates wait in it, try again next tick
                if not redis_down:  # once per outage, not every tick
                    log.warning("gates not advanced while Redis is unreachable: %s", exc)
                redis_down = True
            except Exception:  # a bug must not stop the thread, nor the other gates
                log.exception("gates not advanced")

    def tick(self) -> None:
        for gate_id in open_gate_ids(self.store.redis, self.store.prefix):
            try:
                advance(self.store, self.queue, gate_id)
            except RedisError:
                raise
            except Exception:  # one broken gate must not stop the others
                log.exception("gate %s could not advance", gate_id)
        record_pending(self.store)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="gate-advancer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
