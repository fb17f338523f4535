"""The model registry, measured on loopback in one run.

(a) Cold load per format: `load_registered_model` on a fresh fmnist_cnn in each format
    (TorchScript, torch.export .pt2, safetensors), in this process: the first load (what a
    worker's first model of that format pays, imports included), then the median of
    --repeats more: reading, placing and probing the forward pass (DESIGN: the shape is
    checked at load).
(b) Registration to certificate: with an API and one worker running (started here, on a
    private Redis), `POST /models` then `POST /certify` naming the new model, to the job's
    end, per format: the wall time a platform waits after registering a version, which
    includes the worker's cold load and a small certification (n0 10, n --n).
(c) The same certification again (the model now cached in the worker): what (b) costs
    beyond an ordinary job is mostly the cold load.

Timings on a machine shared with other work are noisy; quote them with `uptime`.

    python benchmarks/registry.py [--repeats 5] [--n 100]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from certify_cli.embedded import free_port, start_private_redis  # noqa: E402
from certify_core.models.loading import load_registered_model, sha256_file  # noqa: E402
from certify_testkit import registry_models  # noqa: E402

SAMPLE = REPO / "certify_core" / "samples" / "fmnist-ankle-boot.png"
FORMATS = ("torchscript", "exported", "safetensors")


def cold_loads(repeats: int, workdir: Path) -> dict[str, tuple[float, float]]:
    """Per format: the first load in this process (imports and first-use setup included), and
    the median of the rest."""
    medians = {}
    for fmt in FORMATS:
        path = workdir / f"weights-{fmt}"
        path.write_bytes(registry_models.WEIGHTS[fmt]())
        manifest = __import__("json").loads(registry_models.manifest(f"bench-{fmt}", fmt))
        digest, seconds = sha256_file(path), []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            load_registered_model(manifest, path, digest, "1", torch.device("cpu"))
            seconds.append(time.perf_counter() - start)
        medians[fmt] = (seconds[0], statistics.median(seconds[1:]))
    return medians


def spawn(env: dict[str, str], *argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *argv], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def certify(http: httpx.Client, model: str, n: int) -> float:
    """Seconds from submission to the job's end."""
    start = time.perf_counter()
    job = http.post("/certify", files={"file": ("x.png", SAMPLE.read_bytes(), "image/png")},
                    data={"model": model, "n0": "10", "n": str(n)}).json()
    while (view := http.get(f"/jobs/{job['job_id']}").json())["status"] in ("queued", "running"):
        time.sleep(0.02)
    if view["status"] != "succeeded":
        raise SystemExit(f"{model}: {view}")
    return time.perf_counter() - start


def registration_to_certificate(n: int, workdir: Path) -> dict[str, tuple[float, float, float]]:
    redis, redis_url = start_private_redis(workdir)
    env = {**os.environ, "CERTIFY_REDIS_URL": redis_url, "CERTIFY_DATA_DIR": str(workdir / "data"),
           "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "CERTIFY_DEFAULT_VIDEO_MODEL": ""}
    port = free_port()
    children = [redis, spawn(env, "-m", "worker"), spawn(env, "-m", "app", "--port", str(port))]
    url, timings = f"http://127.0.0.1:{port}", {}
    try:
        deadline = time.monotonic() + 180
        while not _ready(url):
            if time.monotonic() > deadline:
                raise SystemExit("the service did not become ready")
            time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=120) as http:
            for fmt in FORMATS:
                weights = registry_models.WEIGHTS[fmt](1)
                start = time.perf_counter()
                answer = http.post("/models", files={
                    "manifest": ("m.json", registry_models.manifest(f"bench-{fmt}", fmt)),
                    "weights": ("w.bin", weights)})
                registered = time.perf_counter() - start
                if answer.status_code != 201:
                    raise SystemExit(answer.text)
                first = certify(http, f"bench-{fmt}", n)
                timings[fmt] = (registered, registered + first, certify(http, f"bench-{fmt}", n))
    finally:
        for child in reversed(children):
            child.terminate()
            try:
                child.wait(30)  # a worker's warm stop waits out its blocking dequeue
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return timings


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz").status_code == 200
    except httpx.HTTPError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="certify-registry-bench-") as workdir:
        loads = cold_loads(args.repeats, Path(workdir))
        ends = registration_to_certificate(args.n, Path(workdir))
    print(f"fmnist_cnn (1.9 MB of weights), CPU, one torch thread; n0 10, n {args.n}")
    print(f"{'format':<12} {'1st load':>9} {'cold load':>10} {'POST /models':>13} "
          f"{'to 1st cert':>12} {'cached cert':>12}")
    for fmt in FORMATS:
        registered, first, cached = ends[fmt]
        print(f"{fmt:<12} {loads[fmt][0]:>8.3f}s {loads[fmt][1]:>9.3f}s {registered:>12.3f}s "
              f"{first:>11.3f}s {cached:>11.3f}s")


if __name__ == "__main__":
    main()
