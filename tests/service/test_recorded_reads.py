"""A poll that races the recorder: the job leaves Redis between its hash and its result.

An ended job's Redis copy is dropped once its record is written. A read that
fetched the job's hash just before used to find a finished job with no result
and answered `failed: internal_error`; a client polling for a terminal state
stopped there, on a job that had succeeded. The read must answer the record.
The interleaving is forced here (the recorder's own `forget_recorded` runs
between the two reads); tests/service/test_redis_restart_queue.py met it by
chance under load.
"""

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer

from app.http.backend import Backend
from app.http.deps import Caller
from app.jobs.reads import JobReads
from app.records.recorder import Recorder
from certify_jobs.contract import ANONYMOUS
from certify_settings import Settings
from certify_store.database import migrate
from certify_testkit.processes import free_port, start_redis, stop

pytestmark = pytest.mark.integration

CANCELED = {"outcome": "canceled", "error": {"error": "canceled", "detail": "Stopped by its caller."}}


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    port = free_port()
    server = start_redis(port, tmp_path)
    try:
        settings = Settings(redis_url=f"redis://127.0.0.1:{port}/0", data_dir=tmp_path / "data")
        backend = Backend(Redis(port=port), settings)
        migrate(backend.records.engine)
        yield backend
    finally:
        stop(server)


def ended_job(backend: Backend) -> str:
    """A real rq job, run to its end by a real (burst) worker: it returns a canceled outcome."""
    job_id = uuid.uuid4().hex
    backend.queue.enqueue("builtins.dict", kwargs=CANCELED, result_ttl=600, job_id=job_id)
    backend.redis.zadd(backend.keys.jobs_index, {job_id: time.time()})  # as the API lists it
    SimpleWorker([backend.queue], connection=backend.redis, serializer=JSONSerializer).work(burst=True)
    return job_id


class RecordedMidRead(JobReads):
    """Fetches a job, then lets the recorder drop it before its result is read."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.recorder = Recorder(backend, JobReads(backend))

    def fetch(self, job_id: str) -> Job | None:
        job = super().fetch(job_id)
        if job is None:
            return None
        record = self.recorder.job_record(job_id)
        assert record is not None and record.status == "canceled"
        real_latest = job.latest_result

        def latest_after_the_recorder(*args: Any, **kwargs: Any) -> Any:
            self.backend.records.put_job(record)
            self.recorder.forget_recorded(record)  # what the drainer does, at the worst moment
            return real_latest(*args, **kwargs)

        job.latest_result = latest_after_the_recorder  # type: ignore[method-assign]
        return job


def test_a_poll_that_loses_the_job_to_its_record_answers_the_record(backend: Backend) -> None:
    job_id = ended_job(backend)
    reads = RecordedMidRead(backend)
    rendered = reads.rendered(job_id, Caller(ANONYMOUS, admin=False))
    assert not backend.redis.exists(f"rq:job:{job_id}")  # the race did happen
    assert rendered.status == "canceled", rendered.body
    assert b"internal_error" not in rendered.body


def test_the_other_reads_of_a_vanishing_job_answer_its_record_or_nothing(backend: Backend) -> None:
    job_id = ended_job(backend)
    assert RecordedMidRead(backend).status_of(job_id) == "canceled"
    job_id = ended_job(backend)
    assert RecordedMidRead(backend).live_rendered(job_id) is None
    job_id = ended_job(backend)
    listed = RecordedMidRead(backend).list_rendered(None, 0, 10, None)[0]
    assert listed and all(b"internal_error" not in body for body in listed)
