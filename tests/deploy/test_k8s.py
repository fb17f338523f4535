"""deploy/k8s/: what every workload promises, the Secrets it reads, and the podman rewrite.

The manifests run for real only in `make container-test` (podman kube play); these
checks read them with PyYAML and run the two helper scripts on them.
"""

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import REPO

K8S = REPO / "deploy" / "k8s"
WORKLOADS = ("api.yaml", "webhooks.yaml", "worker-gpu.yaml", "worker-cpu.yaml", "redis.yaml")


def docs(*names: str) -> list[dict[str, Any]]:
    return [doc for name in names for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def pods(name: str) -> list[dict[str, Any]]:
    return [doc for doc in docs(name) if doc["kind"] in ("Deployment", "StatefulSet")]


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    keys = tmp_path_factory.mktemp("keys")
    (keys / "active").write_text("ed25519-test")
    (keys / "ed25519-test.pem").write_text("not a real key")
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "k8s_secrets.py"),
                           "--redis-password", "pw-1", "--api-keys", "k1,k2",
                           "--signing-keys", str(keys)],
                          capture_output=True, text=True, check=True, timeout=60)
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.mark.parametrize("name", WORKLOADS)
def test_every_container_has_limits_a_liveness_probe_and_a_pinned_pull(name: str) -> None:
    for workload in pods(name):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            assert "livenessProbe" in container, name
            assert container["imagePullPolicy"] == "IfNotPresent", name


def test_our_pods_run_as_the_images_user() -> None:
    for name in WORKLOADS[:-1]:
        for workload in pods(name):
            context = workload["spec"]["template"]["spec"]["securityContext"]
            assert context["runAsUser"] == 10001 and context["runAsNonRoot"], name


def test_api_probes_health_and_readiness() -> None:
    api = pods("api.yaml")[0]["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_gpu_workers_request_a_gpu_and_cpu_workers_do_not() -> None:
    gpu = pods("worker-gpu.yaml")[0]["spec"]["template"]["spec"]["containers"][0]
    cpu = pods("worker-cpu.yaml")[0]["spec"]["template"]["spec"]["containers"][0]
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "nvidia.com/gpu" not in cpu["resources"]["limits"]
    assert {"name": "CERTIFY_DEVICE", "value": "cpu"} in cpu["env"]


def test_redis_is_a_statefulset_with_a_volume_aof_and_a_password() -> None:
    redis = pods("redis.yaml")[0]
    assert redis["kind"] == "StatefulSet"
    assert redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    command = redis["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    for flag in ("--appendonly yes", "--appendfsync everysec", "--maxmemory-policy noeviction",
                 '--requirepass "$REDISCLI_AUTH"'):
        assert flag in command


def test_every_secret_a_manifest_reads_is_made(secrets: list[dict[str, Any]]) -> None:
    made = {doc["metadata"]["name"]: set(doc["data"]) for doc in secrets}
    for name in WORKLOADS:
        for workload in pods(name):
            spec = workload["spec"]["template"]["spec"]
            for container in spec["containers"]:
                for item in container.get("env", []):
                    ref = (item.get("valueFrom") or {}).get("secretKeyRef")
                    if ref and not ref.get("optional"):
                        assert ref["key"] in made[ref["name"]], (name, ref)
            for volume in spec.get("volumes", []):
                if "secret" in volume:
                    assert volume["secret"]["secretName"] in made, name
    redis = next(doc for doc in secrets if doc["metadata"]["name"] == "certify-redis")
    assert base64.b64decode(redis["data"]["url"]) == b"redis://:pw-1@redis:6379/0"


def test_keda_scales_the_gpu_workers_on_the_queue() -> None:
    scaled = next(doc for doc in docs("keda.yaml") if doc["kind"] == "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == pods("worker-gpu.yaml")[0]["metadata"]["name"]
    assert scaled["spec"]["triggers"][0]["metadata"]["listName"] == "rq:queue:certify"


def test_the_podman_rewrite_changes_only_what_podman_lacks(
        secrets: list[dict[str, Any]], tmp_path: Path) -> None:
    (tmp_path / "secrets.yaml").write_text(yaml.safe_dump_all(secrets))
    out = tmp_path / "kube"
    subprocess.run([sys.executable, str(REPO / "scripts" / "podman_kube.py"), str(out),
                    str(tmp_path / "secrets.yaml"),
                    *(str(K8S / name) for name in ("storage.yaml", "redis.yaml", "api.yaml")),
                    "--image", "certify-api:latest=localhost/api:t", "--publish", "certify-api=18999"],
                   check=True, timeout=60)
    plays = [line.split() for line in (out / "plays.txt").read_text().splitlines()]
    assert [(Path(p).name, alias, port) for p, alias, port in plays] == [
        ("00-redis.yaml", "redis", "-"), ("01-certify-api.yaml", "certify-api", "18999")]
    assert (out / "claims.txt").read_text().split() == ["certify-data", "certify-models",
                                                        "data-redis-0"]
    redis = yaml.safe_load(Path(plays[0][0]).read_text())
    assert redis["kind"] == "Deployment" and "ports" not in redis["spec"]["template"]["spec"][
        "containers"][0]
    api = yaml.safe_load(Path(plays[1][0]).read_text())
    pod = api["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert api["spec"]["replicas"] == 1 and container["image"] == "localhost/api:t"
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "hostPort": 18999}]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["CERTIFY_REDIS_URL"] == "redis://:pw-1@redis:6379/0"
    assert env["CERTIFY_API_KEYS"] == "k1,k2" and "CERTIFY_WEBHOOK_SECRET" not in env
    keys = next(v for v in pod["volumes"] if v["name"] == "signing-keys")["hostPath"]["path"]
    assert (Path(keys) / "active").read_text() == "ed25519-test"
    assert (Path(keys) / "active").stat().st_mode & 0o777 == 0o440
    assert "healthz" in container["livenessProbe"]["exec"]["command"][0]
    assert json.dumps(container["resources"]) == json.dumps(
        pods("api.yaml")[0]["spec"]["template"]["spec"]["containers"][0]["resources"])
