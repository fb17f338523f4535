"""The outbox: records travel from Redis to the database through a Redis stream.

Whoever creates or ends a job adds an entry to the stream (in the same Redis
transaction as the state change, where the caller can): the record itself, or
a notice (`kind`, `id`) that a resolver turns into the record from the live
state when the entry is drained. A drainer writes each entry to the database
and only then acknowledges and deletes it. An entry whose
write failed (database down) stays pending and is retried; one claimed by a
drainer that died is taken over after `claim_idle_ms`. Writes are idempotent
upserts, so an entry written twice still makes exactly one record.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
import sqlalchemy.exc

from certify_store.records import BatchRecord, JobRecord, RecordStore

log = logging.getLogger(__name__)

GROUP = "recorders"
Record = JobRecord | BatchRecord
# Turns a notice's fields into the record to write, or None when there is nothing to write.
Resolver = Callable[[dict[str, str]], Record | None]


@dataclass(frozen=True)
class DrainReport:
    written: int
    failed: bool


class Outbox:
    def __init__(self, client: redis.Redis, stream: str = "certify:outbox") -> None:
        self.redis = client
        self.stream = stream

    def fields(self, record: JobRecord | BatchRecord) -> dict[Any, Any]:
        kind = "job" if isinstance(record, JobRecord) else "batch"
        return {"kind": kind, "record": json.dumps(record.to_dict(), separators=(",", ":"))}

    def add(self, record: JobRecord | BatchRecord, pipeline: Any = None) -> None:
        """Queue the record's write; pass a pipeline to make it part of the caller's transaction."""
        (pipeline if pipeline is not None else self.redis).xadd(self.stream, self.fields(record))

    @property
    def dead_letters(self) -> str:
        return f"{self.stream}:unreadable"

    def pending(self) -> int:
        """Entries not yet written to the database (added, or claimed and not acknowledged)."""
        return int(self.redis.xlen(self.stream))

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


class OutboxDrainer:
    """Writes the outbox's entries to the database; one per process, any number per stream."""

    def __init__(self, outbox: Outbox, store: RecordStore, consumer: str,
                 claim_idle_ms: int = 30_000, batch: int = 100, resolve: Resolver | None = None,
                 written: Callable[[Record], None] | None = None) -> None:
        self.outbox, self.store, self.consumer = outbox, store, consumer
        self.claim_idle_ms, self.batch = claim_idle_ms, batch
        self.resolve, self.written = resolve, written
        self._grouped = False  # the consumer group is made on the first drain (Redis may be away now)

    def drain_once(self, block_ms: int | None = None) -> DrainReport:
        """Write this drainer's pending entries, then others' stale ones, then new ones."""
        client, stream = self.outbox.redis, self.outbox.stream
        if not self._grouped:
            self.outbox.ensure_group()
            self._grouped = True
        written = 0
        for source in ("own", "stale", "new"):
            if source == "own":
                entries = _entries(client.xreadgroup(GROUP, self.consumer, {stream: "0"},
                                                     count=self.batch))
            elif source == "stale":
                entries = client.xautoclaim(stream, GROUP, self.consumer, self.claim_idle_ms,
                                            "0-0", count=self.batch)[1]
            else:
                entries = _entries(client.xreadgroup(GROUP, self.consumer, {stream: ">"},
                                                     count=self.batch, block=block_ms))
            for entry_id, fields in entries:
                if not fields:  # deleted while pending: nothing left to write
                    client.xack(stream, GROUP, entry_id)
                    continue
                pipe = client.pipeline()
                try:
                    self._write(fields)
                except sqlalchemy.exc.DBAPIError as exc:
                    log.warning("record store unavailable, %s entries wait: %s",
                                self.outbox.pending(), exc.orig)
                    return DrainReport(written, failed=True)
                except (ValueError, KeyError, TypeError) as exc:
                    # Malformed: retrying cannot help; keep it aside for a person, not in the way.
                    log.error("outbox entry %r cannot be read, moved to %s: %s", entry_id,
                              self.outbox.dead_letters, exc)
                    pipe.xadd(self.outbox.dead_letters, dict(fields))
                else:
                    written += 1
                pipe.xack(stream, GROUP, entry_id)
                pipe.xdel(stream, entry_id)
                pipe.execute()
        return DrainReport(written, failed=False)

    def _write(self, raw: dict[Any, Any]) -> None:
        fields = {_text(key): _text(value) for key, value in raw.items()}
        record: Record | None
        if "record" in fields:
            data = json.loads(fields["record"])
            record = JobRecord.from_dict(data) if fields["kind"] == "job" else BatchRecord.from_dict(data)
        elif self.resolve is not None:
            record = self.resolve(fields)
        else:
            raise ValueError(f"A notice ({fields.get('kind')}) and no resolver to read it.")
        if record is None:
            return
        if isinstance(record, JobRecord):
            self.store.put_job(record)
        else:
            self.store.put_batch(record)
        if self.written is not None:
            self.written(record)

    def run(self, stop: threading.Event, block_ms: int = 1000, max_backoff_s: float = 10.0,
            every: Callable[[], None] | None = None, every_s: float = 30.0) -> None:
        """Drain until `stop` is set; while the database is down, retry with a growing pause.
        `every` (a reconciliation) runs at the start and every `every_s` seconds."""
        backoff, next_every = 0.5, 0.0
        while not stop.is_set():
            try:
                if every is not None and time.monotonic() >= next_every:
                    every()
                    next_every = time.monotonic() + every_s
                report = self.drain_once(block_ms=block_ms)
            except (redis.RedisError, sqlalchemy.exc.DBAPIError) as exc:
                log.warning("outbox or record store unreachable: %s", exc)
                report = DrainReport(0, failed=True)
            if report.failed:
                stop.wait(backoff)
                backoff = min(backoff * 2, max_backoff_s)
            else:
                backoff = 0.5


def _entries(answer: Any) -> list[tuple[Any, dict[Any, Any]]]:
    return [entry for _stream, entries in answer or [] for entry in entries]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
