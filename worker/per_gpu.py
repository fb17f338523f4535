"""`python -m worker.per_gpu`: one worker process per visible GPU (the worker image's command).

Each child is a plain `python -m worker` with `CUDA_VISIBLE_DEVICES` set to
its one GPU and its own metrics port (`CERTIFY_WORKER_METRICS_PORT` + index).
GPUs are listed with `nvidia-smi`, never through CUDA in this process. With
no GPU, or with `CERTIFY_DEVICE` naming a non-CUDA device, one worker runs.
If any child exits, the others are stopped and this process exits non-zero,
so the container's restart policy brings the whole set back; SIGTERM (docker
stop) is passed on as a warm stop to every child.

`python -m worker.per_gpu --check` is the container's health check: every
child's metrics endpoint must answer.
"""

import argparse
import os
import shutil
import subprocess
import sys
import urllib.request

from certify_jobs.supervisor import supervise

STOP_GRACE_S = 60.0  # a warm stop lets a worker end its current batch and job state


def visible_gpus(env: dict[str, str]) -> list[str]:
    """GPU indices as this container sees them ([] when none or when a CPU device is set)."""
    device = env.get("CERTIFY_DEVICE", "")
    if device and not device.startswith("cuda"):
        return []
    smi = shutil.which("nvidia-smi", path=env.get("PATH"))
    if smi is None:
        return []
    listed = subprocess.run([smi, "--query-gpu=index", "--format=csv,noheader"],
                            capture_output=True, text=True, timeout=30, check=False)
    if listed.returncode != 0:
        return []
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def child_envs(env: dict[str, str]) -> list[dict[str, str]]:
    gpus = visible_gpus(env)
    base_port = env.get("CERTIFY_WORKER_METRICS_PORT")
    children = []
    for index, gpu in enumerate(gpus or [None]):
        child = dict(env)
        if gpu is not None:
            child["CUDA_VISIBLE_DEVICES"] = gpu
        if base_port:
            child["CERTIFY_WORKER_METRICS_PORT"] = str(int(base_port) + index)
        children.append(child)
    return children


def run_workers(envs: list[dict[str, str]]) -> int:
    children = [subprocess.Popen([sys.executable, "-m", "worker"], env=env) for env in envs]
    # The workers do not depend on each other: all are told to stop at once.
    return supervise(children, "worker.per_gpu", STOP_GRACE_S, one_by_one=False, poll_s=0.5)


def check(envs: list[dict[str, str]]) -> int:
    """Exit 0 when every worker's metrics endpoint answers (or none is configured)."""
    for env in envs:
        port = env.get("CERTIFY_WORKER_METRICS_PORT")
        if port is None:
            continue
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
                if reply.status != 200:
                    return 1
        except OSError:
            return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m worker.per_gpu", description=__doc__)
    parser.add_argument("--check", action="store_true", help="health check, then exit")
    args = parser.parse_args()
    envs = child_envs(dict(os.environ))
    sys.exit(check(envs) if args.check else run_workers(envs))


if __name__ == "__main__":
    main()
