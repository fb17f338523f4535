"""The model registry on a running service: register over HTTP, certify with no restart.

One API (tenants may register: CERTIFY_MODEL_UPLOADS=tenants) and one worker whose cache of
registered models holds one fmnist_cnn (about 1.9 MB) but not two, on Redis DB 9. The model
files are made here from the shipped architecture, in each format.
"""

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from certify_testkit import registry_models
from certify_testkit.processes import (
    extra_api,
    free_port,
    poll_job,
    service_env,
    start_api,
    start_worker,
    stop,
    wait_for,
)

pytestmark = pytest.mark.integration

ADMIN, TENANT_A, TENANT_B = "admin-key-0123456789", "tenant-a-0123456789", "tenant-b-0123456789"
SMALL = {"n0": "10", "n": "100", "alpha": "0.01", "batch_size": "50"}
CACHE_BYTES = 3_000_000  # one fmnist_cnn's weights, not two


@pytest.fixture(scope="module")
def registry_service(redis_base: str, model_dir: Path, logs: Path) -> Iterator[dict[str, Any]]:
    metrics_port = free_port()
    env = service_env(
        f"{redis_base}/9", model_dir, CERTIFY_API_KEYS=f"{TENANT_A},{TENANT_B}",
        CERTIFY_WORKER_METRICS_PORT=str(metrics_port), CERTIFY_WORKER_METRICS_HOST="127.0.0.1",
        CERTIFY_ADMIN_API_KEYS=ADMIN, CERTIFY_MODEL_UPLOADS="tenants",
        CERTIFY_WORKER_MODEL_CACHE_BYTES=str(CACHE_BYTES), CERTIFY_MODEL_MAX_BYTES="8000000")
    worker_log = logs / "registry-worker.log"
    worker = start_worker(env, worker_log)
    processes: list[subprocess.Popen[bytes]] = [worker]
    try:
        port = free_port()
        processes.append(start_api(env, port, logs / "registry-api.log"))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200, 90, "worker", worker)
        yield {"url": url, "env": env, "worker_log": worker_log, "port": port,
               "metrics_url": f"http://127.0.0.1:{metrics_port}/metrics"}
    finally:
        for process in reversed(processes):
            stop(process)


def client(service: dict[str, Any], key: str) -> httpx.Client:
    return httpx.Client(base_url=service["url"], headers={"X-API-Key": key}, timeout=60.0)


def register(http: httpx.Client, manifest: str, weights: bytes) -> httpx.Response:
    return http.post("/models", files={"manifest": ("manifest.json", manifest, "application/json"),
                                       "weights": ("weights.bin", weights)})


def certify(http: httpx.Client, model: str, image: bytes) -> dict[str, Any]:
    answer = http.post("/certify", files={"file": ("x.png", image, "image/png")},
                       data={**SMALL, "model": model})
    assert answer.status_code == 202, answer.text
    return poll_job(http, answer.json()["job_id"], timeout=120)


@pytest.mark.parametrize("fmt", ["torchscript", "exported", "safetensors"])
def test_a_registered_model_certifies_with_no_restart(
    registry_service: dict[str, Any], sample_png: bytes, fmt: str,
) -> None:
    with client(registry_service, TENANT_A) as http:
        answer = register(http, registry_models.manifest(f"reg-{fmt}", fmt),
                          registry_models.WEIGHTS[fmt]())
        assert answer.status_code == 201, answer.text
        model = answer.json()
        assert (model["name"], model["version"], model["format"]) == (f"reg-{fmt}", "1", fmt)
        assert model["latest"] and model["size_bytes"] == len(registry_models.WEIGHTS[fmt]())
        for ref in (f"reg-{fmt}", f"reg-{fmt}@1"):  # the name alone is its latest
            view = certify(http, ref, sample_png)
            assert view["status"] == "succeeded", view
            assert view["model"] == f"reg-{fmt}@1"
            assert view["result"]["model"] == {"name": f"reg-{fmt}", "version": "1",
                                               "sha256": model["sha256"]}
        metrics = httpx.get(registry_service["metrics_url"]).text
        assert 'model="registered"' in metrics and f"reg-{fmt}" not in metrics
        listed = {entry["name"]: entry for entry in http.get("/models").json()["registered"]}
        assert listed[f"reg-{fmt}"]["sha256"] == model["sha256"]
        assert http.get("/models").json()["models"], "the served models are still listed"
        # The worker times the jobs it runs on it and announces the rate with its presence
        # (renewed every few seconds): GET /models and GET /estimate show it as for served ones.
        deadline, rates = time.monotonic() + 15, {}
        while not rates and time.monotonic() < deadline:
            entry = {e["name"]: e for e in http.get("/models").json()["registered"]}[f"reg-{fmt}"]
            rates = {(t["precision"], t["compile"]): t for t in entry["throughput"]}
            time.sleep(0.5)
        fp32 = rates[("fp32", "off")]
        assert fp32["passes_per_s"] > 0 and fp32["jobs"] >= 1 and entry["workers_holding"] == 1
        estimate = http.get("/estimate", params={"model": f"reg-{fmt}@1", "n": 1000}).json()
        assert estimate["passes_per_s"] == fp32["passes_per_s"], estimate
        assert estimate["seconds_max"] == pytest.approx(estimate["passes_max"] / fp32["passes_per_s"],
                                                        rel=1e-6)


def test_a_new_version_becomes_the_latest_and_the_signed_certificate_names_it(
    registry_service: dict[str, Any], sample_png: bytes,
) -> None:
    with client(registry_service, TENANT_A) as http:
        first = register(http, registry_models.manifest("versioned", "safetensors"),
                         registry_models.safetensors_bytes(1)).json()
        second = register(http, registry_models.manifest("versioned", "safetensors"),
                          registry_models.safetensors_bytes(2)).json()
        assert (first["version"], second["version"]) == ("1", "2")
        again = register(http, registry_models.manifest("versioned", "safetensors", version="2"),
                         registry_models.safetensors_bytes(3))
        assert again.status_code == 409 and again.json()["error"] == "model_version_exists"
        versions = http.get("/models/versioned").json()
        assert versions["latest"] == "2" and [v["version"] for v in versions["versions"]] == ["2", "1"]
        view = certify(http, "versioned", sample_png)
        assert view["result"]["model"]["version"] == "2"
        assert view["result"]["model"]["sha256"] == second["sha256"]
        signed = _signed(http, view["job_id"])
        assert signed["payload"]["model"] == {"name": "versioned", "version": "2",
                                              "sha256": second["sha256"]}
        old = certify(http, "versioned@1", sample_png)
        assert old["result"]["model"]["sha256"] == first["sha256"]


def _signed(http: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        answer = http.get(f"/jobs/{job_id}/certificate")
        if answer.status_code == 200 or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.text
            signed: dict[str, Any] = answer.json()
            return signed
        time.sleep(0.2)


def test_another_tenants_model_is_not_found(registry_service: dict[str, Any],
                                            sample_png: bytes) -> None:
    with client(registry_service, TENANT_A) as owner, client(registry_service, TENANT_B) as other, \
            client(registry_service, ADMIN) as admin:
        assert register(owner, registry_models.manifest("private-a", "safetensors"),
                        registry_models.safetensors_bytes()).status_code == 201
        unknown = other.get("/models/no-such-model")
        answer = other.get("/models/private-a")
        assert answer.status_code == 404 and answer.json()["error"] == "model_not_found"
        assert answer.json()["detail"] == unknown.json()["detail"].replace("no-such-model", "private-a")
        assert "private-a" not in {m["name"] for m in other.get("/models").json()["registered"]}
        refused = other.post("/certify", files={"file": ("x.png", sample_png, "image/png")},
                             data={**SMALL, "model": "private-a"})
        assert refused.status_code == 422 and refused.json()["error"] == "unknown_model"
        assert other.delete("/models/private-a@1").status_code == 404
        taken = register(other, registry_models.manifest("private-a", "safetensors"),
                         registry_models.safetensors_bytes())
        assert taken.status_code == 409 and taken.json()["error"] == "model_name_taken"
        assert admin.get("/models/private-a").status_code == 200  # admins see every tenant's
        assert owner.delete("/models/private-a@1").status_code == 200
        assert owner.get("/models/private-a").status_code == 404


def test_the_worker_cache_evicts_the_least_recently_used_and_reloads_it(
    registry_service: dict[str, Any], sample_png: bytes,
) -> None:
    with client(registry_service, TENANT_A) as http:
        for name, seed in (("lru-one", 11), ("lru-two", 12)):
            assert register(http, registry_models.manifest(name, "torchscript"),
                            registry_models.torchscript_bytes(seed)).status_code == 201

        def holding(name: str) -> int:
            count: int = http.get(f"/models/{name}").json()["versions"][0]["workers_holding"]
            return count

        for name in ("lru-one", "lru-two", "lru-one"):
            assert certify(http, name, sample_png)["status"] == "succeeded"
            other = "lru-two" if name == "lru-one" else "lru-one"
            # The presence is rewritten when the cache changes: one held, the other evicted.
            wait_for(lambda n=name, o=other: holding(n) == 1 and holding(o) == 0, 10,
                     f"{name} held alone")
    loads = Path(registry_service["worker_log"]).read_text().count("Loaded registered model lru-one@1")
    assert loads == 2, "lru-one was loaded, evicted by lru-two, and loaded again"


def test_a_model_that_fails_to_load_fails_its_job_and_the_worker_goes_on(
    registry_service: dict[str, Any], sample_png: bytes, tmp_path: Path,
) -> None:
    marker = tmp_path / "the-pickle-ran"
    with client(registry_service, TENANT_A) as http:
        hostile = {"raises-on-load": ("torchscript", registry_models.torchscript_raising_on_load(), {}),
                   "wrong-shape": ("safetensors", registry_models.safetensors_bytes(),
                                   {"input_shape": [1, 32, 32]}),
                   # torch.export.load unpickles a .pt2's sample inputs in full when the
                   # restricted load fails; the worker forces the restricted load.
                   "pickle-in-pt2": ("exported", registry_models.exported_with_pickle_inside(
                       str(marker)), {})}
        for name, (fmt, weights, extra) in hostile.items():
            assert register(http, registry_models.manifest(name, fmt, **extra), weights).status_code == 201
            view = certify(http, name, sample_png)
            assert view["status"] == "failed" and view["error"]["error"] == "model_load_failed", view
        assert not marker.exists(), "the pickle inside the .pt2 ran in the worker"
        assert register(http, registry_models.manifest("after-failures", "exported"),
                        registry_models.exported_bytes()).status_code == 201
        assert certify(http, "after-failures", sample_png)["status"] == "succeeded"


@pytest.mark.parametrize(("weights", "status", "code"), [
    (registry_models.pickled_state_dict, 415, "pickled_model_refused"),
    (lambda: b"\x80\x04\x95" + bytes(100), 415, "pickled_model_refused"),
    (lambda: registry_models.torchscript_bytes()[:-4096], 422, "corrupt_model_archive"),
    (registry_models.zip_bomb, 422, "model_archive_bomb"),
    (lambda: b"GIF89a not a model", 415, "unsupported_model_format"),
    (registry_models.safetensors_bytes, 422, "model_format_mismatch"),
])
def test_hostile_weights_get_their_own_code(
    registry_service: dict[str, Any], weights: Any, status: int, code: str,
) -> None:
    with client(registry_service, TENANT_A) as http:
        answer = register(http, registry_models.manifest("hostile", "torchscript"), weights())
        assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text
        assert http.get("/models/hostile").status_code == 404  # nothing was registered


@pytest.mark.parametrize(("change", "field"), [
    ({"format": "pickle"}, "format"), ({"input_shape": [1, 28]}, "input_shape"),
    ({"name": "a/b"}, "name"), ({"architecture": None}, "architecture"),
    ({"input_shape": [3, 100000, 100000]}, "input_shape"),
])
def test_a_bad_manifest_names_its_field(registry_service: dict[str, Any], change: dict[str, Any],
                                        field: str) -> None:
    with client(registry_service, TENANT_A) as http:
        answer = register(http, registry_models.manifest("bad-manifest", "safetensors", **change),
                          registry_models.safetensors_bytes())
        assert answer.status_code == 422 and answer.json()["error"] == "invalid_model_manifest"
        assert f"`{field}`" in answer.json()["detail"]


def test_a_10_gb_declared_body_is_refused_before_it_is_read(registry_service: dict[str, Any]) -> None:
    head = (f"POST /models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {TENANT_A}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {10 * 1024**3}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", registry_service["port"]), timeout=10) as conn:
        conn.sendall(head.encode() + b"--x\r\n")
        received = b""
        while chunk := conn.recv(4096):  # the server closes the connection after its answer
            received += chunk
    answer = received.decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413") and '"payload_too_large"' in answer, answer


def test_who_may_register_follows_the_setting(registry_service: dict[str, Any], logs: Path) -> None:
    with extra_api(registry_service, logs / "registry-admin-api.log",
                   CERTIFY_MODEL_UPLOADS="admin") as port:
        url = f"http://127.0.0.1:{port}"
        manifest = registry_models.manifest("admins-only", "safetensors")
        with httpx.Client(base_url=url, headers={"X-API-Key": TENANT_B}) as tenant:
            refused = register(tenant, manifest, registry_models.safetensors_bytes())
            assert refused.status_code == 403 and refused.json()["error"] == "model_uploads_forbidden"
        with httpx.Client(base_url=url, headers={"X-API-Key": ADMIN}, timeout=60) as admin:
            assert register(admin, manifest, registry_models.safetensors_bytes()).status_code == 201


def test_a_batch_certifies_with_a_registered_version(registry_service: dict[str, Any],
                                                     sample_png: bytes) -> None:
    with client(registry_service, TENANT_A) as http:
        model = register(http, registry_models.manifest("batched", "exported"),
                         registry_models.exported_bytes()).json()
        answer = http.post("/batches", data={**SMALL, "model": "batched"},
                           files=[("file", (f"{i}.png", sample_png, "image/png")) for i in range(2)])
        assert answer.status_code == 202, answer.text
        batch_id = answer.json()["batch_id"]
        deadline = time.monotonic() + 120
        while (view := http.get(f"/batches/{batch_id}").json())["counts"]["succeeded"] < 2:
            assert time.monotonic() < deadline and view["counts"]["failed"] == 0, view
            time.sleep(0.2)
        assert view["model"] == "batched@1"
        for item in http.get(f"/batches/{batch_id}/jobs").json()["items"]:
            assert item["job"]["result"]["model"] == {"name": "batched", "version": "1",
                                                      "sha256": model["sha256"]}


def test_a_delete_names_its_version(registry_service: dict[str, Any]) -> None:
    with client(registry_service, TENANT_A) as http:
        assert register(http, registry_models.manifest("to-delete", "safetensors"),
                        registry_models.safetensors_bytes()).status_code == 201
        answer = http.delete("/models/to-delete")
        assert answer.status_code == 400 and "to-delete@VERSION" in answer.json()["detail"]
        assert http.delete("/models/to-delete@2").status_code == 404
        assert http.delete("/models/to-delete@1").json()["version"] == "1"
        assert http.get("/models/to-delete").status_code == 404


def test_an_admins_model_is_shared_with_every_tenant(registry_service: dict[str, Any],
                                                     sample_png: bytes) -> None:
    with client(registry_service, ADMIN) as admin, client(registry_service, TENANT_B) as tenant:
        model = register(admin, registry_models.manifest("platform-net", "safetensors"),
                         registry_models.safetensors_bytes(5)).json()
        assert "platform-net" in {m["name"] for m in tenant.get("/models").json()["registered"]}
        view = certify(tenant, "platform-net", sample_png)
        assert view["result"]["model"]["sha256"] == model["sha256"]
        refused = tenant.delete("/models/platform-net@1")
        assert refused.status_code == 403 and refused.json()["error"] == "model_uploads_forbidden"
        taken = register(tenant, registry_models.manifest("platform-net", "safetensors"),
                         registry_models.safetensors_bytes())
        assert taken.status_code == 409 and taken.json()["error"] == "model_name_taken"
        assert admin.delete("/models/platform-net@1").status_code == 200
