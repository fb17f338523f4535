"""The outbox: every record reaches the database exactly once, through a database outage
and a drainer that dies between its write and its acknowledgement."""

import json
import threading
from datetime import UTC, datetime

import redis
import sqlalchemy as sa

from certify_store.database import create_engine
from certify_store.outbox import GROUP, Outbox, OutboxDrainer
from certify_store.records import STAGE_CREATED, STAGE_ENDED, JobFilter, JobRecord, RecordStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def record(index: int, stage: int) -> JobRecord:
    status = "queued" if stage == STAGE_CREATED else "succeeded"
    return JobRecord(f"{index:032x}", "tenant", status, T0, {"status": status}, stage)


def all_statuses(store: RecordStore) -> dict[str, str]:
    return {r.job_id: r.status for r in store.jobs(JobFilter(), limit=1000).records}


def test_records_wait_in_the_outbox_while_the_database_is_down(redis_client: redis.Redis,
                                                              store: RecordStore) -> None:
    outbox = Outbox(redis_client)
    for index in range(20):
        outbox.add(record(index, STAGE_CREATED))
    down = RecordStore(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    report = OutboxDrainer(outbox, down, "drainer-1").drain_once()
    assert report.failed and report.written == 0 and outbox.pending() == 20
    for index in range(20):  # the jobs end while the database is still away
        outbox.add(record(index, STAGE_ENDED))
    drainer = OutboxDrainer(outbox, store, "drainer-1")
    while drainer.drain_once().written:
        pass
    assert outbox.pending() == 0 and store.count_jobs() == 20
    assert set(all_statuses(store).values()) == {"succeeded"}


def test_a_drainer_killed_after_writing_leaves_no_duplicate(redis_client: redis.Redis,
                                                            store: RecordStore) -> None:
    outbox = Outbox(redis_client)
    for index in range(5):
        outbox.add(record(index, STAGE_ENDED))
    outbox.ensure_group()
    # A drainer that read every entry and wrote them, then died before acknowledging any.
    claimed = redis_client.xreadgroup(GROUP, "dead", {outbox.stream: ">"}, count=10)[0][1]
    for _entry_id, fields in claimed:
        store.put_job(JobRecord.from_dict(json.loads(fields[b"record"])))
    survivor = OutboxDrainer(outbox, store, "survivor", claim_idle_ms=0)
    assert survivor.drain_once().written == 5
    assert outbox.pending() == 0 and store.count_jobs() == 5
    assert redis_client.xpending(outbox.stream, GROUP)["pending"] == 0


def test_a_record_added_in_the_callers_transaction_is_drained(redis_client: redis.Redis,
                                                              store: RecordStore) -> None:
    outbox = Outbox(redis_client)
    with redis_client.pipeline() as pipe:
        pipe.set("job-state", "ended")
        outbox.add(record(1, STAGE_ENDED), pipeline=pipe)
        pipe.execute()
    stop = threading.Event()
    drainer = OutboxDrainer(outbox, store, "thread")
    thread = threading.Thread(target=drainer.run, args=(stop,), kwargs={"block_ms": 50})
    thread.start()
    try:
        for _ in range(200):
            if store.count_jobs():
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert all_statuses(store) == {f"{1:032x}": "succeeded"} and outbox.pending() == 0


def test_the_drainer_rides_out_a_database_that_comes_back(redis_client: redis.Redis,
                                                          engine: sa.Engine) -> None:
    from certify_store.database import migrate

    outbox = Outbox(redis_client)
    store = RecordStore(engine)
    outbox.add(record(7, STAGE_ENDED))
    # No schema yet: every write fails as a database error, and the entry stays.
    assert OutboxDrainer(outbox, store, "d").drain_once().failed and outbox.pending() == 1
    migrate(engine)
    assert OutboxDrainer(outbox, store, "d").drain_once().written == 1
    assert store.count_jobs() == 1 and outbox.pending() == 0


def test_an_unreadable_entry_is_set_aside_not_retried_forever(redis_client: redis.Redis,
                                                             store: RecordStore) -> None:
    outbox = Outbox(redis_client)
    redis_client.xadd(outbox.stream, {"kind": "job", "record": "{not json"})
    outbox.add(record(2, STAGE_ENDED))
    assert OutboxDrainer(outbox, store, "d").drain_once().written == 1
    assert store.count_jobs() == 1 and outbox.pending() == 0
    assert redis_client.xlen(outbox.dead_letters) == 1
