"""Every accepted job ends with exactly one record: through a stopped database, a killed
API (its drainer), a killed worker and notices lost before they reached the outbox.

A private PostgreSQL (stopped and started mid-run), a private Redis, two workers and an
API run as real processes. Jobs are submitted before, during and after the database's
outage; while it is down the API is killed with SIGKILL (its drainer had claimed entries
it could not write) and started again, a worker is killed mid-job, and the outbox is
emptied, as if the processes that were to add those notices had died first (the
reconciliation must find those jobs). At the end every accepted job has exactly one
record, ended, with the status the API reports, and each certificate verifies.
"""

import contextlib
import io
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis
import sqlalchemy as sa
from PIL import Image
from rq import Worker

from certify_store.keys import read_public_keys
from certify_store.signatures import served_form, verify
from certify_testkit.postgres import PrivatePostgres
from certify_testkit.processes import (
    TERMINAL,
    free_port,
    service_env,
    start_api,
    start_redis,
    start_worker,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SMALL = {"n": "10", "n0": "5"}


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 255, (28, 28), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped by the test
            server.stop()
        server.remove()


def submit(client: httpx.Client, seed: int, **fields: str) -> str:
    answer = client.post("/certify", files={"file": ("a.png", png(seed))}, data={**SMALL, **fields})
    assert answer.status_code == 202, answer.text
    job_id: str = answer.json()["job_id"]
    return job_id


def test_no_record_is_lost_or_duplicated(postgres: PrivatePostgres, tmp_path: Path,
                                          model_dir: Path, logs: Path) -> None:
    redis_port = free_port()
    processes = [start_redis(redis_port, tmp_path)]
    env = service_env(f"redis://127.0.0.1:{redis_port}/0", model_dir,
                      CERTIFY_DATA_DIR=str(tmp_path / "data"), CERTIFY_DATABASE_URL=postgres.url)
    port = free_port()
    connection = redis.Redis(port=redis_port)
    try:
        workers = [start_worker(env, logs / f"faults-worker-{i}.log") for i in range(2)]
        processes += workers
        api = start_api(env, port, logs / "faults-api.log")
        processes.append(api)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_for(lambda: client.get("/readyz").status_code == 200, 90, "ready", workers[0])
            accepted = [submit(client, seed) for seed in range(4)]
            postgres.stop()  # the database goes away while those run and end
            accepted += [submit(client, seed) for seed in range(4, 8)]
            long_job = submit(client, 99, n="200000", batch_size="100")
            accepted.append(long_job)
            wait_for(lambda: client.get(f"/jobs/{long_job}").json()["status"] == "running", 60,
                     "the long job to run", workers[0])
            busy = [w.pid for w in Worker.all(connection=connection)
                    if w.get_current_job_id() == long_job]
            assert busy and busy[0] is not None
            os.kill(busy[0], signal.SIGKILL)  # a worker dies mid-job; the other retries it
            time.sleep(2)
            api.kill()  # the drainer dies with what it had claimed and could not write
            api.wait()
            connection.xtrim("certify:outbox", maxlen=0)  # notices lost before the outbox
            api = start_api(env, port, logs / "faults-api.log")
            processes.append(api)
            postgres.start()
            accepted += [submit(client, seed) for seed in range(8, 12)]
            client.delete(f"/jobs/{long_job}")
            statuses = {}
            for job_id in accepted:
                deadline = time.monotonic() + 120
                while (view := client.get(f"/jobs/{job_id}")).json().get("status") not in TERMINAL:
                    assert time.monotonic() < deadline, view.text
                    time.sleep(0.2)
                statuses[job_id] = view.json()["status"]
            keys = client.get("/.well-known/certify-keys").json()
        engine = sa.create_engine(postgres.url)

        def recorded() -> dict[str, tuple[str, int, str | None]]:
            with engine.connect() as db:
                rows = db.execute(sa.text("SELECT job_id, status, stage, signed_certificate, view "
                                          "FROM jobs"))
                return {row.job_id: (row.status, row.stage, row.signed_certificate and
                                     json.dumps(served_form(json.loads(row.signed_certificate),
                                                            json.loads(row.view)["result"])))
                        for row in rows}

        wait_for(lambda: all(recorded().get(j, ("", 0, None))[1] == 2 for j in accepted), 120,
                 "every record ended", api)
        rows = recorded()
        with engine.connect() as db:
            count = db.execute(sa.text("SELECT count(*) FROM jobs")).scalar_one()
        engine.dispose()
        lost = set(accepted) - set(rows)
        print(f"\nrecord faults: {len(accepted)} accepted, {count} records, {len(lost)} lost, "
              f"{count - len(set(accepted) & set(rows))} extra; statuses "
              f"{sorted((s, list(statuses.values()).count(s)) for s in set(statuses.values()))}")
        assert not lost and count == len(accepted)
        assert {job: rows[job][0] for job in accepted} == statuses
        public = read_public_keys(json.dumps(keys))
        for job_id, (status, _, signed) in rows.items():
            assert (signed is not None) == (status == "succeeded"), job_id
            if signed is not None:
                assert verify(json.loads(signed), public).valid
    finally:
        for process in reversed(processes):
            stop(process)
