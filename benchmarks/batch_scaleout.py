"""Batches across workers, and webhook delivery, measured on loopback in one run.

(a) Scale-out: a batch of --images Fashion-MNIST test images at small n with
    one worker, then the same batch with two workers on the same Redis:
    jobs/s (POST /batches to the batch's end) and their ratio.
(b) Per-job overhead: for --singles jobs sent one at a time with POST /certify,
    submit-to-end time minus the certification time the worker reports; for a
    batch item, (wall time x workers - the jobs' certification time) / jobs,
    i.e. the worker and API time a batch item costs besides certifying.
(c) Webhook latency: job end (the job's `ended_at`) to the receiver's arrival,
    p50/p95 over --singles jobs with a `callback_url` on 127.0.0.1.
(d) A receiver down for --down-s seconds, then up: attempts, time from the
    receiver coming up to the delivery, and deliveries seen (and their ids).

Starts its own redis-server, API, delivery worker and workers (each worker on
one torch thread, so that two workers use the two cores); the receiver runs
in this process. Timings on a machine shared with other work are noisy: the
ratio measured in one run is the number to read.

    python benchmarks/batch_scaleout.py [--images 200] [--n 500] [--singles 20]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from certify_cli.embedded import free_port, start_private_redis  # noqa: E402
from certify_testkit.webhook_receiver import Behaviour, Receiver  # noqa: E402

SECRET = "bench-secret"
MODEL = "fmnist-cnn-s025"


def environment(redis_url: str) -> dict[str, str]:
    return {**os.environ, "CERTIFY_REDIS_URL": redis_url, "CERTIFY_WORKER_MODELS": MODEL,
            "CERTIFY_DEFAULT_IMAGE_MODEL": MODEL, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
            "CERTIFY_WEBHOOK_SECRET": SECRET, "CERTIFY_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "CERTIFY_WEBHOOK_ALLOW_PRIVATE": "true", "CERTIFY_WEBHOOK_TIMEOUT_S": "2",
            "CERTIFY_WEBHOOK_RETRIES": "6", "CERTIFY_WEBHOOK_BACKOFF_S": "1"}


def spawn(env: dict[str, str], *argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *argv], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_workers(url: str, count: int, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url}/readyz")
            if answer.status_code == 200 and answer.json()["workers"] == count:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{count} workers did not become ready")


def test_images(count: int) -> list[tuple[str, bytes, int]]:
    from certify_core.datasets import load_dataset
    from certify_datasets.images import png_bytes

    data = load_dataset("fashion-mnist", "test")
    return [(f"{i}.png", png_bytes(data.inputs[i]), int(data.labels[i])) for i in range(count)]


def run_batch(http: httpx.Client, files: list[tuple[str, bytes, int]], fields: dict[str, str]
              ) -> tuple[float, float, float]:
    """(wall seconds from POST to end, POST seconds, summed certification seconds)."""
    start = time.perf_counter()
    answer = http.post("/batches", data=fields, files=[("file", (n, d)) for n, d, _ in files])
    posted = time.perf_counter() - start
    batch_id = answer.json()["batch_id"]
    while http.get(f"/batches/{batch_id}").json()["status"] != "ended":
        time.sleep(0.05)
    wall = time.perf_counter() - start
    offset: int | None = 0
    certifying = 0.0
    while offset is not None:
        page = http.get(f"/batches/{batch_id}/jobs", params={"offset": offset, "limit": 500}).json()
        certifying += sum(item["job"]["result"]["elapsed_s"] for item in page["items"])
        offset = page["next_offset"]
    return wall, posted, certifying


def single_jobs(http: httpx.Client, png: bytes, fields: dict[str, str], count: int,
                receiver: Receiver) -> tuple[list[float], list[float]]:
    """Per job: submit-to-end minus certification time; job end to webhook arrival."""
    overheads, latencies = [], []
    for _ in range(count):
        start = time.perf_counter()
        job_id = http.post("/certify", data={**fields, "callback_url": receiver.url},
                           files={"file": ("a.png", png)}).json()["job_id"]
        while (view := http.get(f"/jobs/{job_id}").json())["status"] not in ("succeeded",
                                                                              "failed"):
            time.sleep(0.005)
        overheads.append(time.perf_counter() - start - view["result"]["elapsed_s"])
        seen = len(receiver.received)
        receiver.wait_for(seen + 1, 30)
        arrived = receiver.received[-1].at
        latencies.append(arrived - datetime.fromisoformat(view["ended_at"]).timestamp())
    return overheads, latencies


def down_then_up(http: httpx.Client, png: bytes, fields: dict[str, str], down_s: float
                 ) -> dict[str, Any]:
    port = free_port()
    job_id = http.post("/certify", data={**fields, "callback_url":
                                         f"http://127.0.0.1:{port}/hook"},
                       files={"file": ("a.png", png)}).json()["job_id"]
    time.sleep(down_s)
    receiver = Receiver(port, SECRET).start()
    up_at = time.time()
    try:
        while (record := http.get(f"/jobs/{job_id}").json().get("webhook") or {}).get(
                "state") not in ("delivered", "failed"):
            time.sleep(0.05)
        time.sleep(2.0)  # would a duplicate follow?
        return {"state": record["state"], "attempts": record["attempts"],
                "after_up_s": receiver.received[0].at - up_at if receiver.received else None,
                "deliveries": len(receiver.received),
                "delivery_ids": len({r.headers["X-Certify-Delivery"] for r in receiver.received}),
                "all_verified": all(r.verified for r in receiver.received)}
    finally:
        receiver.stop()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--down-s", type=float, default=5.0)
    args = parser.parse_args()
    fields = {"n0": "50", "n": str(args.n), "batch_size": str(min(args.n, 500))}
    files = test_images(args.images)
    with tempfile.TemporaryDirectory() as workdir:
        redis_process, redis_url = start_private_redis(Path(workdir))
        env = environment(redis_url)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        processes = [redis_process, spawn(env, "-m", "app.webhooks.worker"),
                     spawn(env, "-m", "app", "--port", str(port)), spawn(env, "-m", "worker")]
        receiver = Receiver(free_port(), SECRET, Behaviour()).start()
        try:
            wait_workers(url, 1)
            with httpx.Client(base_url=url, timeout=600) as http:
                run_batch(http, files[:4], fields)  # warm-up: first-job costs out of the numbers
                one = run_batch(http, files, fields)
                overheads, latencies = single_jobs(http, files[0][1], fields, args.singles,
                                                   receiver)
                processes.append(spawn(env, "-m", "worker"))
                wait_workers(url, 2)
                run_batch(http, files[:4], fields)
                two = run_batch(http, files, fields)
                outage = down_then_up(http, files[0][1], fields, args.down_s)
        finally:
            receiver.stop()
            for process in reversed(processes):
                process.terminate()
                process.wait(30)
    report(args, one, two, overheads, latencies, outage)


def report(args: argparse.Namespace, one: tuple[float, float, float],
           two: tuple[float, float, float], overheads: list[float], latencies: list[float],
           outage: dict[str, Any]) -> None:
    jobs = args.images
    print(f"batch of {jobs} images, n={args.n}, n0=50 (shared machine: noisy; read the ratio)")
    for workers, (wall, posted, certifying) in ((1, one), (2, two)):
        item = (wall * workers - certifying) / jobs
        # Certification time per job rising with the second worker means the cores were
        # already busy (other work on a shared machine), not that batches scale badly.
        print(f"  {workers} worker(s): {wall:.1f} s, {jobs / wall:.2f} jobs/s; certify "
              f"{certifying / jobs * 1000:.0f} ms/job; POST /batches {posted:.2f} s "
              f"({posted / jobs * 1000:.1f} ms/file); per-item overhead {item * 1000:.0f} ms")
    print(f"  scale-out ratio (2 workers / 1): {one[0] / two[0]:.2f}x; at equal per-job "
          f"certification time: {(one[0] / two[0]) * (two[2] / one[2]):.2f}x")
    print(f"  load average during the run: {os.getloadavg()}")
    print(f"single POST /certify, {len(overheads)} jobs one at a time: overhead p50 "
          f"{statistics.median(overheads) * 1000:.0f} ms, p95 {pct(overheads, 0.95) * 1000:.0f} ms")
    print(f"webhook latency, job end -> receiver: p50 {statistics.median(latencies) * 1000:.0f} ms,"
          f" p95 {pct(latencies, 0.95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    print(f"receiver down {args.down_s:g} s then up: {outage}")


if __name__ == "__main__":
    main()
