"""Job and batch records on SQLite and PostgreSQL: idempotent writes, filters, cursor pages."""

from datetime import UTC, datetime, timedelta

import pytest

from certify_store.records import (
    STAGE_CREATED,
    STAGE_ENDED,
    BatchRecord,
    CursorError,
    GateRecord,
    JobFilter,
    JobRecord,
    ModelRecord,
    RecordStore,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def created(job_id: str, owner: str = "tenant-a", at: datetime = T0, model: str = "m1") -> JobRecord:
    return JobRecord(job_id, owner, "queued", at, {"job_id": job_id, "status": "queued"},
                     STAGE_CREATED, model, "image/png", "ab" * 32)


def ended(record: JobRecord, status: str = "succeeded") -> JobRecord:
    view = {**record.view, "status": status, "result": {"radius": 0.5}}
    return JobRecord(record.job_id, record.owner, status, record.created_at, view, STAGE_ENDED,
                     record.model, record.media_type, record.upload_sha256,
                     record.created_at + timedelta(seconds=3), {"signed": True})


def test_a_job_record_reads_back_as_written(store: RecordStore) -> None:
    record = ended(created("a" * 32))
    store.put_job(record)
    assert store.job("a" * 32) == record
    assert store.job("b" * 32) is None


def test_writes_are_idempotent_and_never_move_a_record_back(store: RecordStore) -> None:
    first = created("a" * 32)
    store.put_job(first)
    store.put_job(first)
    assert store.job(first.job_id) == first
    end = ended(first)
    for record in (end, end, first):  # repeated end, then a late "created" retried by the outbox
        store.put_job(record)
    assert store.job(first.job_id) == end
    assert store.count_jobs() == 1


def test_an_ended_record_may_be_rewritten_at_the_same_stage(store: RecordStore) -> None:
    end = ended(created("a" * 32))
    store.put_job(end)
    later = JobRecord(**{**vars(end), "view": {**end.view, "webhook": {"state": "delivered"}}})
    store.put_job(later)
    assert store.job(end.job_id) == later


def _fill(store: RecordStore) -> list[JobRecord]:
    records = []
    for index in range(7):
        record = created(f"{index:032x}", owner="tenant-a" if index % 2 else "tenant-b",
                         at=T0 + timedelta(minutes=index // 2), model="m1" if index < 4 else "m2")
        record = ended(record, "failed") if index == 3 else record
        store.put_job(record)
        records.append(record)
    return records


def test_pages_are_newest_first_and_the_cursor_walks_every_record_once(store: RecordStore) -> None:
    records = _fill(store)  # pairs share a creation time: the id breaks the tie
    seen, cursor = [], None
    while True:
        page = store.jobs(JobFilter(), limit=3, cursor=cursor)
        seen += [record.job_id for record in page.records]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    expected = sorted(records, key=lambda r: (r.created_at, r.job_id), reverse=True)
    assert seen == [record.job_id for record in expected]


def test_filters_narrow_by_owner_status_model_and_time(store: RecordStore) -> None:
    records = _fill(store)

    def ids(where: JobFilter) -> set[str]:
        return {record.job_id for record in store.jobs(where, limit=100).records}

    assert ids(JobFilter(owner="tenant-a")) == {r.job_id for r in records if r.owner == "tenant-a"}
    assert ids(JobFilter(statuses=["failed"])) == {records[3].job_id}
    assert ids(JobFilter(model="m2")) == {r.job_id for r in records[4:]}
    window = JobFilter(created_after=T0 + timedelta(minutes=1), created_before=T0 + timedelta(minutes=2))
    assert ids(window) == {records[2].job_id, records[3].job_id}
    assert ids(JobFilter(owner="tenant-a", model="m2", statuses=["queued"])) == {records[5].job_id}


def test_a_cursor_the_store_did_not_write_is_refused(store: RecordStore) -> None:
    with pytest.raises(CursorError, match="previous page"):
        store.jobs(JobFilter(), limit=3, cursor="not-a-cursor!")


def test_batch_records_move_forward_only(store: RecordStore) -> None:
    first = BatchRecord("c" * 32, "tenant-a", "open", T0, {"state": "open"}, STAGE_CREATED, "m1")
    end = BatchRecord("c" * 32, "tenant-a", "ended", T0, {"state": "ended"}, STAGE_ENDED, "m1",
                      T0 + timedelta(hours=1))
    for record in (first, end, first):
        store.put_batch(record)
    assert store.batch("c" * 32) == end


def test_gate_records_move_forward_only_and_keep_their_signed_report(store: RecordStore) -> None:
    first = GateRecord("d" * 32, "tenant-a", "running", T0, {"state": "running"}, STAGE_CREATED,
                       "m1")
    report = {"format": "certify-signed-gate-report/1", "payload": {"verdict": {"verdict": "pass"}}}
    end = GateRecord("d" * 32, "tenant-a", "ended", T0, {"state": "ended"}, STAGE_ENDED, "m1",
                     "pass", T0 + timedelta(minutes=5), report)
    for record in (first, end, first):
        store.put_gate(record)
    assert store.gate("d" * 32) == end
    assert store.gate("e" * 32) is None


def test_records_travel_as_json_unchanged() -> None:
    record = ended(created("a" * 32))
    assert JobRecord.from_dict(record.to_dict()) == record


def model(name: str, version: str, owner: str = "tenant-a", at: datetime = T0) -> ModelRecord:
    return ModelRecord(name, version, "cd" * 32, owner, at, {"name": name, "version": version})


def test_a_model_version_is_written_once_and_listed_newest_first(store: RecordStore) -> None:
    first, second = model("net", "1"), model("net", "2", at=T0 + timedelta(seconds=1))
    assert store.add_model(first) and store.add_model(second)
    assert not store.add_model(model("net", "1", owner="tenant-b"))  # a version never changes
    assert store.model_versions("net") == [second, first]
    store.add_model(model("other", "1", owner="tenant-b"))
    assert [r.name for r in store.registered_models("tenant-b")] == ["other"]
    assert len(store.registered_models()) == 3
    assert store.delete_model("net", "2") and not store.delete_model("net", "2")
    assert store.model_versions("net") == [first]
