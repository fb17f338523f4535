"""The HTTP half of scripts/container_smoke.sh: jobs and batches against a running stack.

    python scripts/container_smoke.py URL KEY certify FILE [--n N --n0 N0]  # job view JSON
    python scripts/container_smoke.py URL KEY batch FILE COUNT --n N       # jobs/s line
    python scripts/container_smoke.py URL KEY same-as-local JOB.json FILE  # compares counts
    python scripts/container_smoke.py URL KEY wait-ready SECONDS

Each command exits non-zero with a message when what it checks does not hold.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ENDED = {"succeeded", "failed", "canceled"}
# What must agree between a job in the containers and `certify local --seed` on the host.
SAME = ("seed", "label", "abstained", "n", "n_a", "p_lower", "radius", "selection_counts",
        "counts", "sigma", "alpha")


def read(client: httpx.Client, path: str) -> dict[str, Any] | None:
    """A view, or None while the stack cannot answer (a Redis restart answers 503 meanwhile)."""
    try:
        answer = client.get(path)
    except httpx.TransportError:
        return None
    if answer.status_code in (502, 503, 504):
        return None
    answer.raise_for_status()
    view: dict[str, Any] = answer.json()
    return view


def wait_job(client: httpx.Client, job_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = read(client, f"/jobs/{job_id}")
        if view is not None and view["status"] in ENDED:
            return view
        time.sleep(0.5)
    raise SystemExit(f"job {job_id} did not end within {timeout:.0f} s")


def certify(client: httpx.Client, path: Path, options: dict[str, str], timeout: float
            ) -> dict[str, Any]:
    with path.open("rb") as file:
        answer = client.post("/certify", files={"file": (path.name, file)}, data=options)
    if answer.status_code != 202:
        raise SystemExit(f"POST /certify answered {answer.status_code}: {answer.text}")
    return wait_job(client, answer.json()["job_id"], timeout)


def batch(client: httpx.Client, path: Path, count: int, options: dict[str, str],
          timeout: float) -> dict[str, Any]:
    data = path.read_bytes()
    files = [("file", (f"{i:03d}-{path.name}", data)) for i in range(count)]
    started = time.monotonic()
    answer = client.post("/batches", files=files, data=options)
    if answer.status_code != 202:
        raise SystemExit(f"POST /batches answered {answer.status_code}: {answer.text}")
    batch_id = answer.json()["batch_id"]
    while time.monotonic() - started < timeout:
        view = read(client, f"/batches/{batch_id}")
        if view is not None and view["status"] == "ended":
            elapsed = time.monotonic() - started
            if view["counts"]["succeeded"] != count:
                raise SystemExit(f"batch {batch_id} ended with {view['counts']}")
            return {"batch_id": batch_id, "jobs": count, "seconds": round(elapsed, 2),
                    "jobs_per_s": round(count / elapsed, 3)}
        time.sleep(0.5)
    raise SystemExit(f"batch {batch_id} did not end within {timeout:.0f} s")


def registry(client: httpx.Client, admin_key: str, path: Path, options: dict[str, str],
             timeout: float) -> dict[str, Any]:
    """Register a TorchScript model with the operator's key over HTTP (the API writes it to the
    shared data volume), then certify with it as a tenant: the worker loads it from that volume
    on first use, with no restart; the certificate names its version and sha256."""
    from certify_testkit import registry_models

    name = f"smoke-{int(time.time())}"
    weights = registry_models.torchscript_bytes(1)
    started = time.monotonic()
    answer = client.post("/models", headers={"X-API-Key": admin_key}, files={
        "manifest": ("manifest.json", registry_models.manifest(name, "torchscript").encode()),
        "weights": ("model.pt", weights)})
    if answer.status_code != 201:
        raise SystemExit(f"POST /models answered {answer.status_code}: {answer.text}")
    registered = answer.json()
    view = certify(client, path, {**options, "model": f"{name}@{registered['version']}"}, timeout)
    elapsed = time.monotonic() - started
    expected = {"name": name, "version": registered["version"], "sha256": registered["sha256"]}
    if view["status"] != "succeeded" or view["result"]["model"] != expected:
        raise SystemExit(f"the registered model's job: {view}")
    return {"model": f"{name}@{registered['version']}", "sha256": registered["sha256"][:12],
            "post_to_certificate_s": round(elapsed, 2)}


def same_as_local(view: dict[str, Any], path: Path) -> dict[str, Any]:
    """`certify local` on this host with the job's seed and options gives the same certificate."""
    result, options = view["result"], view["options"]
    argv = [str(Path(sys.executable).parent / "certify"), "local", str(path), "--json",
            "--device", "cpu", "--model", view["model"], "--seed", str(result["seed"])]
    for name in ("n", "n0", "alpha", "sigma"):
        if options.get(name) is not None:
            argv += [f"--{name}", str(options[name])]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=600)
    local = json.loads(done.stdout.splitlines()[-1])
    compared = {key: (result[key], local[key]) for key in SAME if key in result and key in local}
    differ = {key: pair for key, pair in compared.items() if pair[0] != pair[1]}
    if differ or ("n_a" not in compared and "counts" not in compared):
        raise SystemExit(f"containers and `certify local` differ: {differ or compared}")
    return {"same": sorted(compared), "seed": result["seed"], "radius": result.get("radius")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("api_key")
    parser.add_argument("command",
                        choices=["certify", "batch", "same-as-local", "registry", "wait-ready"])
    parser.add_argument("args", nargs="*")
    parser.add_argument("--n", default="200")
    parser.add_argument("--n0", default="20")
    parser.add_argument("--timeout", type=float, default=600)
    ns = parser.parse_args()
    options = {"n": ns.n, "n0": ns.n0}
    with httpx.Client(base_url=ns.url, headers={"X-API-Key": ns.api_key}, timeout=60) as client:
        if ns.command == "certify":
            out: Any = certify(client, Path(ns.args[0]), options, ns.timeout)
            if out["status"] != "succeeded":
                raise SystemExit(f"job ended {out['status']}: {out.get('error')}")
        elif ns.command == "batch":
            out = batch(client, Path(ns.args[0]), int(ns.args[1]), options, ns.timeout)
        elif ns.command == "registry":  # args: ADMIN_KEY FILE
            out = registry(client, ns.args[0], Path(ns.args[1]), options, ns.timeout)
        elif ns.command == "same-as-local":
            out = same_as_local(json.loads(Path(ns.args[0]).read_text()), Path(ns.args[1]))
        else:
            deadline = time.monotonic() + float(ns.args[0])
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{ns.url}/readyz not ready within {ns.args[0]} s")
                time.sleep(1)
            out = client.get("/readyz").json()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
