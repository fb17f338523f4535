"""What the service adds on top of certification, measured on loopback in one run.

(a) Overhead: for small jobs submitted one at a time, submit-to-result time
    (POST, then GET every 5 ms until the job ends) minus the `elapsed_s` the
    worker reports for `certify` itself. The rest is HTTP, Redis, queueing,
    fetching the upload and the sandboxed decode child.
(b) Polling: GET /jobs/{id} of a finished job from 50 concurrent clients for a
    bounded time or request count: latency percentiles and throughput; then
    the same load on GET /healthz (touches nothing) as the machine's baseline.

Starts its own redis-server (unless --redis-url is given), worker and API (one
uvicorn process).
The load generator shares the machine's cores with the server, so (b) is a
lower bound on what a dedicated host serves.

    python benchmarks/service_overhead.py [--redis-url redis://HOST:PORT/DB]
        [--model fmnist-cnn-s025] [--jobs 10] [--clients 50] [--seconds 10]
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from certify_cli.embedded import free_port, start_private_redis

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "certify_core" / "samples" / "fmnist-ankle-boot.png"


def start_service(args: argparse.Namespace, redis_url: str) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "CERTIFY_REDIS_URL": redis_url, "CERTIFY_WORKER_MODELS": args.model,
           "CERTIFY_DEFAULT_IMAGE_MODEL": args.model, "PYTHONPATH": str(REPO)}
    commands = [["-m", "worker"], ["-m", "app", "--port", str(args.port)]]
    return [subprocess.Popen([sys.executable, *command], env=env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for command in commands]


def wait_ready(url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the service did not become ready")


def one_job(client: httpx.Client, data: bytes, fields: dict[str, str]) -> dict[str, Any]:
    start = time.perf_counter()
    job_id = client.post("/certify", files={"file": ("x.png", data)}, data=fields).json()["job_id"]
    while True:
        view: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        if view["status"] in ("succeeded", "failed", "canceled"):
            break
        time.sleep(0.005)
    total = time.perf_counter() - start
    if view["status"] != "succeeded":
        raise SystemExit(f"job ended {view['status']}: {view['error']}")
    return {"job_id": job_id, "total": total, "certify": view["result"]["elapsed_s"]}


def measure_overhead(url: str, jobs: int, n: int) -> str:
    fields = {"n": str(n), "n0": "20", "batch_size": "200"}
    with httpx.Client(base_url=url, timeout=60) as client:
        one_job(client, SAMPLE.read_bytes(), fields)  # warm-up: first-call costs
        runs = [one_job(client, SAMPLE.read_bytes(), fields) for _ in range(jobs)]
    overhead = [1000 * (r["total"] - r["certify"]) for r in runs]
    totals = [1000 * r["total"] for r in runs]
    certify_ms = [1000 * r["certify"] for r in runs]
    return (f"(a) {jobs} jobs, n={n}: submit-to-result median {statistics.median(totals):.0f} ms, "
            f"certify median {statistics.median(certify_ms):.0f} ms, overhead median "
            f"{statistics.median(overhead):.0f} ms (min {min(overhead):.0f}, max "
            f"{max(overhead):.0f}); job id for (b): {runs[-1]['job_id']}")


async def _poller(client: httpx.AsyncClient, path: str, stop_at: float, budget: list[int],
                  latencies: list[float]) -> None:
    while time.perf_counter() < stop_at and budget[0] > 0:
        budget[0] -= 1
        start = time.perf_counter()
        response = await client.get(path)
        latencies.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} -> {response.status_code}")


async def measure_polling(url: str, path: str, clients: int, seconds: float,
                          max_requests: int) -> str:
    latencies: list[float] = []
    budget = [max_requests]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(*(_poller(client, path, stop_at, budget, latencies)
                               for _ in range(clients)))
        elapsed = time.perf_counter() - start
    ms = sorted(1000 * x for x in latencies)
    pct = {p: ms[min(len(ms) - 1, int(p / 100 * len(ms)))] for p in (50, 90, 99)}
    return (f"(b) GET {path}, {clients} concurrent clients: {len(ms)} requests in "
            f"{elapsed:.1f} s = {len(ms) / elapsed:.0f} req/s; latency p50 {pct[50]:.1f} ms, "
            f"p90 {pct[90]:.1f} ms, p99 {pct[99]:.1f} ms, max {ms[-1]:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default=None, help="default: a private redis-server")
    parser.add_argument("--model", default="fmnist-cnn-s025")
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    args = parser.parse_args()
    args.port = args.port or free_port()
    url = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as workdir:
        processes: list[subprocess.Popen[bytes]] = []
        redis_url = args.redis_url
        if redis_url is None:
            server, redis_url = start_private_redis(Path(workdir))
            processes.append(server)
        processes += start_service(args, redis_url)
        run(args, url, processes)


def run(args: argparse.Namespace, url: str, processes: list[subprocess.Popen[bytes]]) -> None:
    try:
        wait_ready(url)
        line = measure_overhead(url, args.jobs, args.n)
        print(line, flush=True)
        job_id = line.rsplit(" ", 1)[-1]
        print(asyncio.run(measure_polling(url, f"/jobs/{job_id}", args.clients, args.seconds,
                                          args.max_requests)), flush=True)
        # The same load on a handler that touches nothing: what the machine and
        # one uvicorn process allow at all, for the ratio.
        print(asyncio.run(measure_polling(url, "/healthz", args.clients, args.seconds,
                                          args.max_requests)), flush=True)
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
