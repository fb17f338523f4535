"""What the record store costs and saves, measured against the previous version side by side.

Runs two services at once, each with its own redis-server, API and worker: one from a
checkout of the previous version (`--before`, e.g. `git worktree add /tmp/before <rev>`)
and one from this checkout. It prints

1. Redis bytes per ended job: `--jobs` small jobs (distinct 28 x 28 PNGs, n = 10) are
   submitted and ended; the growth of Redis's `used_memory`, and the `MEMORY USAGE` of the
   keys they left, divided by the number of jobs (a few seconds after the last one ended,
   so that this version's outbox has written the records);
2. GET /jobs/{id} of an ended job: `wrk` runs on both APIs, interleaved for `--rounds`
   rounds (median shown), with the workers stopped; the ratio after / before;
3. the record database's size per 10,000 records (copies of a real ended job's record with
   its signed certificate): SQLite's file, and PostgreSQL's `pg_total_relation_size`.

The machine is shared: trust the ratios of one run more than the absolute figures.

    python benchmarks/records.py --before PATH [--jobs 40] [--seconds 5] [--rounds 5]
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import sqlalchemy as sa
from PIL import Image
from redis import Redis

from certify_cli.embedded import free_port, start_private_redis
from certify_jobs.supervisor import stop_children

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from load import median_round, run_wrk  # noqa: E402

TERMINAL = ("succeeded", "failed", "canceled")
SMALL = {"n": "10", "n0": "10", "batch_size": "10"}


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (28, 28), dtype=np.uint8)).save(
        buffer, "PNG")
    return buffer.getvalue()


class Side:
    def __init__(self, checkout: Path, workdir: Path) -> None:
        workdir.mkdir()
        self.checkout = checkout
        self.redis_process, self.redis_url = start_private_redis(workdir)
        self.redis = Redis.from_url(self.redis_url)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("CERTIFY_")},
                    "CERTIFY_REDIS_URL": self.redis_url, "PYTHONPATH": str(checkout),
                    "CERTIFY_DATA_DIR": str(workdir / "data"), "OMP_NUM_THREADS": "1"}
        self.api = self._start(["-m", "app", "--port", str(self.port)])
        self.worker = self._start(["-m", "worker"])
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"{checkout}: the service did not become ready")

    def _start(self, argv: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, *argv], env=self.env, cwd=self.checkout,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def run_jobs(self, count: int, seed: int) -> list[str]:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            jobs = [client.post("/certify", files={"file": ("a.png", png(seed + i))},
                                data=SMALL).json()["job_id"] for i in range(count)]
            for job in jobs:
                while client.get(f"/jobs/{job}").json()["status"] not in TERMINAL:
                    time.sleep(0.1)
        return jobs

    def key_bytes(self) -> int:
        return sum(self.redis.memory_usage(key) or 0 for key in self.redis.scan_iter(count=1000))

    def close(self) -> None:
        stop_children([self.api, self.worker, self.redis_process], 10.0)


def redis_footprint(side: Side, jobs: int, seed: int) -> tuple[float, float]:
    side.run_jobs(2, seed + 10_000)  # the first jobs make the queue's own keys
    time.sleep(3)
    used, keys = int(side.redis.info("memory")["used_memory"]), side.key_bytes()
    side.run_jobs(jobs, seed)
    time.sleep(5)  # the outbox writes the records, and the ended jobs leave Redis
    grown = int(side.redis.info("memory")["used_memory"]) - used
    return grown / jobs, (side.key_bytes() - keys) / jobs


def record_sizes(after: Side, job_id: str, postgres_url: str) -> tuple[int, int]:
    sys.path.insert(0, str(after.checkout))
    from certify_store.database import create_engine, migrate
    from certify_store.locations import sqlite_url
    from certify_store.records import RecordStore

    source = RecordStore(create_engine(sqlite_url(Path(after.env["CERTIFY_DATA_DIR"]) / "certify.db")))
    record = source.job(job_id)
    assert record is not None and record.signed_certificate is not None
    sizes = []
    with tempfile.TemporaryDirectory() as folder:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as db:
            db.execute(sa.text(f"CREATE DATABASE {name}"))
        pg_url = sa.engine.make_url(postgres_url).set(database=name).render_as_string(False)
        try:
            for url in (sqlite_url(Path(folder) / "size.db"), pg_url):
                engine = create_engine(url)
                migrate(engine)
                store = RecordStore(engine)
                for _ in range(10_000):
                    store.put_job(replace(record, job_id=uuid.uuid4().hex))
                with engine.connect() as db:
                    if engine.dialect.name == "sqlite":
                        db.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
                        sizes.append((Path(folder) / "size.db").stat().st_size)
                    else:
                        sizes.append(int(db.execute(sa.text(
                            "SELECT pg_total_relation_size('jobs')")).scalar_one()))
                engine.dispose()
        finally:
            with admin.connect() as db:
                db.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
            admin.dispose()
    return sizes[0], sizes[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the previous version")
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        sides = {"before": Side(args.before.resolve(), Path(workdir) / "before"),
                 "after": Side(REPO, Path(workdir) / "after")}
        try:
            for name, side in sides.items():
                grown, keys = redis_footprint(side, args.jobs, seed=0)
                print(f"Redis per ended job, {name:6}: used_memory +{grown:,.0f} B, "
                      f"keys {keys:,.0f} B")
            ended = {name: side.run_jobs(1, seed=50_000)[0] for name, side in sides.items()}
            time.sleep(3)
            for side in sides.values():
                stop_children([side.worker], 10.0)
            rounds: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
            for _ in range(args.rounds):  # interleaved: others' load hits both alike
                for name, side in sides.items():
                    rounds[name].append(run_wrk(f"{side.url}/jobs/{ended[name]}", args.seconds,
                                                args.connections))
            medians = {name: median_round(runs) for name, runs in rounds.items()}
            for name, figure in medians.items():
                print(f"GET /jobs/{{id}} {name:6}: {figure['req_s']:8.1f} req/s  p50 "
                      f"{figure['p50_ms']:6.1f} ms  p99 {figure['p99_ms']:6.1f} ms  "
                      f"non-2xx {figure['non_2xx']:.0f}")
            print(f"GET /jobs/{{id}} after / before = "
                  f"{medians['after']['req_s'] / medians['before']['req_s']:.3f}")
            sqlite_bytes, pg_bytes = record_sizes(sides["after"], ended["after"], args.postgres)
            print(f"10,000 records: SQLite {sqlite_bytes:,} B, PostgreSQL {pg_bytes:,} B "
                  f"({sqlite_bytes / 10_000:,.0f} and {pg_bytes / 10_000:,.0f} B per record)")
        finally:
            for side in sides.values():
                side.close()


if __name__ == "__main__":
    main()
