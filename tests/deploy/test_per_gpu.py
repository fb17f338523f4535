"""The worker image's launcher: one worker per GPU that nvidia-smi lists, pinned and on its own port."""

import os
import stat
from pathlib import Path

from worker.per_gpu import check, child_envs, visible_gpus


def fake_nvidia_smi(directory: Path, indices: str) -> str:
    script = directory / "nvidia-smi"
    script.write_text(f"#!/bin/sh\nprintf '{indices}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return f"{directory}:{os.environ.get('PATH', '/usr/bin:/bin')}"


def test_one_worker_per_listed_gpu(tmp_path: Path) -> None:
    env = {"PATH": fake_nvidia_smi(tmp_path, "0\\n1\\n2\\n"), "CERTIFY_WORKER_METRICS_PORT": "9100"}
    children = child_envs(env)
    assert [c["CUDA_VISIBLE_DEVICES"] for c in children] == ["0", "1", "2"]
    assert [c["CERTIFY_WORKER_METRICS_PORT"] for c in children] == ["9100", "9101", "9102"]


def test_cpu_device_or_no_gpu_means_one_unpinned_worker(tmp_path: Path) -> None:
    with_gpus = fake_nvidia_smi(tmp_path, "0\\n1\\n")
    assert visible_gpus({"PATH": with_gpus, "CERTIFY_DEVICE": "cpu"}) == []
    assert visible_gpus({"PATH": str(tmp_path / "empty")}) == []
    [only] = child_envs({"PATH": with_gpus, "CERTIFY_DEVICE": "cpu"})
    assert "CUDA_VISIBLE_DEVICES" not in only and "CERTIFY_WORKER_METRICS_PORT" not in only


def test_health_check_fails_when_a_metrics_port_does_not_answer() -> None:
    assert check([{"PATH": "/usr/bin"}]) == 0  # no endpoint configured: nothing to check
    assert check([{"CERTIFY_WORKER_METRICS_PORT": "1"}]) == 1
