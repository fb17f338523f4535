"""The service under load: `wrk` against the API, and the workers' job throughput.

Starts its own redis-server, API and workers as processes, then

1. worker throughput: 40 jobs at n = 10 (n0 = 10) submitted at once, jobs/s
   until all have ended, with one worker and then with two;
2. HTTP (workers stopped or paused, so only the API and Redis use the CPU): `wrk` with
   50 connections for `--seconds` each on GET /healthz, GET /jobs/{id} (a
   succeeded job) and GET /jobs (a page of 50), interleaved for `--rounds`
   rounds (the median round is shown), then `--rounds` runs of POST /certify
   (a 28 x 28 PNG, multipart, built by a Lua script): requests/s, p50 and p99.

`wrk` (Debian package `wrk`) shares the machine with the server: the figures
are lower bounds, and on a shared machine they vary with others' load; compare
runs taken close together, and trust ratios from one run most.

    python benchmarks/load.py [--seconds 10] [--rounds 3] [--connections 50] [--api-workers 1]
        [--json out.json]
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from redis import Redis
from rq.suspension import resume, suspend

from certify_cli.embedded import free_port, start_private_redis
from certify_jobs.supervisor import stop_children

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "certify_core" / "samples" / "fmnist-ankle-boot.png"
SMALL_JOB = {"n": "10", "n0": "10", "batch_size": "10"}
TERMINAL = ("succeeded", "failed", "canceled")
POST_LUA = """
local f = assert(io.open("{sample}", "rb"))
local png = f:read("*all")
f:close()
local b = "wrkboundary7f3a"
local parts = {{}}
for name, value in pairs({{n = "10", n0 = "10", batch_size = "10"}}) do
  parts[#parts + 1] = "--" .. b .. "\\r\\nContent-Disposition: form-data; name=\\"" .. name
    .. "\\"\\r\\n\\r\\n" .. value .. "\\r\\n"
end
parts[#parts + 1] = "--" .. b .. "\\r\\nContent-Disposition: form-data; name=\\"file\\"; "
  .. "filename=\\"x.png\\"\\r\\nContent-Type: image/png\\r\\n\\r\\n" .. png .. "\\r\\n--" .. b .. "--\\r\\n"
wrk.method = "POST"
wrk.body = table.concat(parts)
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. b
"""


class Service:
    def __init__(self, workdir: Path, api_workers: int) -> None:
        self.redis, self.redis_url = start_private_redis(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "CERTIFY_REDIS_URL": self.redis_url, "PYTHONPATH": str(REPO),
                    "CERTIFY_DATA_DIR": str(workdir / "data"), "OMP_NUM_THREADS": "1"}
        self.api = self._start(["-m", "app", "--port", str(self.port),
                                "--workers", str(api_workers)])
        self.workers: list[subprocess.Popen[bytes]] = []
        self._wait(lambda: httpx.get(f"{self.url}/healthz").status_code == 200, "API start")

    def _start(self, argv: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, *argv], env=self.env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _wait(self, ready: object, what: str, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if ready():  # type: ignore[operator]
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"timed out waiting for {what}")

    def set_workers(self, count: int) -> None:
        stop_children(self.workers[count:], 10.0)
        del self.workers[count:]
        while len(self.workers) < count:
            self.workers.append(self._start(["-m", "worker"]))
        if count:
            self._wait(lambda: httpx.get(f"{self.url}/readyz").json().get("workers") == count,
                       f"{count} workers")

    @contextlib.contextmanager
    def paused_workers(self) -> Iterator[None]:
        """Workers that take no jobs but stay present (their presence key lives ~10 s, so a
        stopped process would soon make the API refuse the model with 503)."""
        connection = Redis.from_url(self.redis_url)
        suspend(connection)
        try:
            yield
        finally:
            resume(connection)
            connection.close()

    def close(self) -> None:
        stop_children([self.redis, self.api, *self.workers], 10.0)


def submit(client: httpx.Client) -> str:
    answer = client.post("/certify", files={"file": ("x.png", SAMPLE.read_bytes(), "image/png")},
                         data=SMALL_JOB)
    answer.raise_for_status()
    job_id: str = answer.json()["job_id"]
    return job_id


def jobs_per_second(client: httpx.Client, jobs: int) -> float:
    start = time.perf_counter()
    pending = {submit(client) for _ in range(jobs)}
    while pending:
        time.sleep(0.05)
        pending = {job for job in pending
                   if client.get(f"/jobs/{job}").json()["status"] not in TERMINAL}
    return jobs / (time.perf_counter() - start)


def wait_until_ended(client: httpx.Client, job: str) -> None:
    while client.get(f"/jobs/{job}").json()["status"] not in TERMINAL:
        time.sleep(0.05)


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> dict[str, float]:
    argv = ["wrk", "--latency", "--timeout", "10s", "-t", "2", "-c", str(connections),
            "-d", f"{seconds}s", url]
    if script is not None:
        argv[1:1] = ["-s", str(script)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    percentiles = dict(re.findall(r"^ +(50|99)% +(\S+) *$", out, re.M))
    if set(percentiles) != {"50", "99"}:
        raise SystemExit(f"unreadable wrk output for {url}:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"req_s": rate, "p50_ms": _milliseconds(percentiles["50"]),
            "p99_ms": _milliseconds(percentiles["99"]),
            "non_2xx": float(errors.group(1)) if errors else 0.0}


def median_round(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median requests/s (its own p50 and p99 with it)."""
    return sorted(runs, key=lambda run: run["req_s"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds of the GET runs; the median round is shown")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as workdir:
        service = Service(Path(workdir), args.api_workers)
        try:
            with httpx.Client(base_url=service.url, timeout=60.0) as client:
                for count in (1, 2):
                    service.set_workers(count)
                    figures[f"jobs_per_s_{count}_worker"] = round(
                        jobs_per_second(client, args.jobs), 2)
                finished = submit(client)
                wait_until_ended(client, finished)
                service.set_workers(0)
                script = Path(workdir) / "post.lua"
                script.write_text(POST_LUA.format(sample=SAMPLE))
                reads = {"GET /healthz": "/healthz", "GET /jobs/{id}": f"/jobs/{finished}",
                         "GET /jobs": "/jobs"}
                rounds: dict[str, list[dict[str, float]]] = {name: [] for name in reads}
                for _ in range(args.rounds):  # interleaved: others' load hits all alike
                    for name, path in reads.items():
                        rounds[name].append(run_wrk(service.url + path, args.seconds,
                                                    args.connections))
                figures.update({name: median_round(runs) for name, runs in rounds.items()})
                # Submissions need a live worker (the API refuses unserved models); a suspended
                # one stays present, takes no jobs and almost no CPU.
                service.set_workers(1)
                with service.paused_workers():
                    figures["POST /certify"] = median_round([
                        run_wrk(service.url + "/certify", args.seconds, args.connections, script)
                        for _ in range(args.rounds)])
        finally:
            service.close()
    for name, value in figures.items():
        if isinstance(value, dict):
            print(f"{name:16} {value['req_s']:9.1f} req/s   p50 {value['p50_ms']:7.1f} ms   "
                  f"p99 {value['p99_ms']:7.1f} ms   non-2xx {value['non_2xx']:.0f}")
        else:
            print(f"{name:16} {value}")
    healthz = figures["GET /healthz"]["req_s"]  # type: ignore[index]
    print(f"GET /jobs/{{id}} / GET /healthz = {figures['GET /jobs/{id}']['req_s'] / healthz:.2f}")  # type: ignore[index]
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
