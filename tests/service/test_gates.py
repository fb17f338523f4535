"""Release gates through a running service: real Redis, a real worker serving the shipped
Fashion-MNIST model, real HTTP, real test images.

The verdicts asserted are far from the rule's boundary: the shipped s025 model certifies
about 70% of test images correct at R = 0.25 (docs/GATES.md), so a gate at A = 0.2 passes
and one at A = 0.95 fails unless the rule or the service is wrong; with 50 images at the
first look, a pass at A = 0.2 needs >= 17 certified correct and a fail at A = 0.95 needs
<= 43, each missed with probability far below 1e-6 at a true rate near 0.7.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from safetensors.torch import save as save_safetensors

from certify_contract.gate_rule import recheck_report
from certify_contract.webhooks import EVENT_HEADER
from certify_core.datasets import FASHION_MNIST_DIR, LabeledDataset, load_dataset
from certify_datasets.images import png_bytes
from certify_store.database import create_engine
from certify_store.locations import StoreLocations
from certify_store.records import RecordStore
from certify_testkit.processes import (
    free_port,
    service_env,
    start_api,
    start_delivery_worker,
    start_worker,
    stop,
    wait_for,
)
from certify_testkit.webhook_receiver import Receiver
from tests.service.platform_fixture import KEY_A, KEY_B, SECRET

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(),
                       reason="apt-get install -y dataset-fashion-mnist"),
]
MODEL = "fmnist-cnn-s025"
CERTIFY = Path(sys.executable).parent / "certify"
FIELDS = {"model": MODEL, "radius": "0.25", "n0": "20", "n": "200", "batch_size": "200",
          "alpha": "0.001"}


class GateService:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = self.start_api()

    def start_api(self) -> Any:
        api = start_api(self.env, self.port, self.logs / "gates-api.log")
        wait_for(lambda: httpx.get(f"{self.url}/readyz", headers={"X-API-Key": KEY_A}
                                   ).status_code == 200, 120, "gates worker ready", api)
        return api

    def restart_api(self) -> None:
        stop(self.api)
        self.api = self.start_api()

    def client(self, key: str = KEY_A) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=60.0)


@pytest.fixture(scope="module")
def gates_service(redis_base: str, model_dir: Path, logs: Path) -> Iterator[GateService]:
    """One worker serving the shipped s025 model and an API, on Redis DB 10."""
    env = service_env(f"{redis_base}/10", model_dir, CERTIFY_API_KEYS=f"{KEY_A},{KEY_B}",
                      CERTIFY_WORKER_MODELS=MODEL, CERTIFY_DEFAULT_IMAGE_MODEL=MODEL,
                      CERTIFY_BATCH_MAX_FILES_PER_REQUEST="100", CERTIFY_WEBHOOK_SECRET=SECRET,
                      CERTIFY_WEBHOOK_ALLOWED_HOSTS="127.0.0.1", CERTIFY_WEBHOOK_ALLOW_PRIVATE="true",
                      CERTIFY_MODEL_UPLOADS="tenants")  # a gate may name a registered version
    workers = [start_worker(env, logs / "gates-worker.log"),
               start_delivery_worker(env, logs / "gates-delivery.log")]
    service = None
    try:
        service = GateService(env, logs)
        yield service
    finally:
        if service is not None:
            stop(service.api)
        for worker in workers:
            stop(worker)


@pytest.fixture(scope="module")
def test_set() -> LabeledDataset:
    return load_dataset("fashion-mnist", "test")


def post_gate(http: httpx.Client, data: LabeledDataset, count: int, *,
              headers: Mapping[str, str] | None = None, **fields: str) -> httpx.Response:
    names = [f"{i}.png" for i in range(count)]
    labels = {name: int(data.labels[i]) for i, name in enumerate(names)}
    return http.post("/gates", data={**FIELDS, "labels": json.dumps(labels), **fields},
                     files=[("file", (name, png_bytes(data.inputs[i]), "image/png"))
                            for i, name in enumerate(names)], headers=headers)


def wait_gate(http: httpx.Client, gate_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        view: dict[str, Any] = http.get(f"/gates/{gate_id}").json()
        if view["state"] != "running":
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.3)


def gate_jobs(service: GateService, gate_id: str) -> list[Job]:
    redis = Redis.from_url(service.env["CERTIFY_REDIS_URL"])
    ids = [i.decode() for i in redis.lrange(f"certify:gate:{gate_id}:jobs", 0, -1)]
    return [j for j in Job.fetch_many(ids, connection=redis, serializer=JSONSerializer) if j]


def assert_stopped_cleanly(service: GateService, view: dict[str, Any]) -> None:
    """Only the first look's wave was queued, and every job of it ended; the ones the
    verdict did not need were canceled."""
    print(f"gate A={view['min_accuracy']}: {view['verdict']['verdict']} with {view['images']} "
          f"images, {view['model_evaluations']} model evaluations, {view['jobs_canceled']} jobs "
          f"canceled, accuracy >= {view['verdict']['accuracy_lower']:.3f}")
    jobs = gate_jobs(service, view["gate_id"])
    assert len(jobs) == view["looks"][0]["images"] == 50
    time.sleep(1.0)  # a canceled running job stops within one batch of samples
    statuses = [str(j.get_status(refresh=True)) for j in jobs]
    assert not [s for s in statuses if s.endswith(("queued", "started", "deferred", "scheduled"))]
    assert view["images"] + view["jobs_canceled"] == 50
    assert view["verdict"]["images"] == view["images"]


@pytest.mark.slow
def test_a_clear_pass_stops_at_the_first_look(gates_service: GateService,
                                              test_set: LabeledDataset) -> None:
    with gates_service.client() as http:
        answer = post_gate(http, test_set, 60, min_accuracy="0.2")
        assert answer.status_code == 202, answer.text
        view = wait_gate(http, answer.json()["gate_id"])
    verdict = view["verdict"]
    assert view["state"] == "ended" and verdict["verdict"] == "pass", view
    assert verdict["looks"] == [50, 60] and verdict["looks_taken"] == 1
    assert verdict["accuracy_lower"] >= 0.2 and verdict["model_evaluations"] > 0
    assert view["model_sha256"] and view["set_size"] == 60
    assert_stopped_cleanly(gates_service, view)


@pytest.mark.slow
def test_a_clear_fail_stops_at_the_first_look_and_posts_its_verdict(
        gates_service: GateService, test_set: LabeledDataset) -> None:
    receiver = Receiver(free_port(), SECRET).start()
    try:
        with gates_service.client() as http:
            answer = post_gate(http, test_set, 60, min_accuracy="0.95", callback_url=receiver.url)
            view = wait_gate(http, answer.json()["gate_id"])
        (got,) = receiver.wait_for(1, 30)
    finally:
        receiver.stop()
    assert got.verified and got.headers[EVENT_HEADER] == "gate.ended"
    assert json.loads(got.body)["verdict"] == view["verdict"]
    verdict = view["verdict"]
    assert verdict["verdict"] == "fail" and verdict["looks_taken"] == 1, view
    assert verdict["q_upper"] < 0.95 + 0.001
    assert_stopped_cleanly(gates_service, view)


def test_another_keys_gate_is_not_found(gates_service: GateService,
                                        test_set: LabeledDataset) -> None:
    with gates_service.client() as http, gates_service.client(KEY_B) as other:
        gate_id = post_gate(http, test_set, 5, min_accuracy="0.5").json()["gate_id"]
        for answer in (other.get(f"/gates/{gate_id}"), other.delete(f"/gates/{gate_id}")):
            assert answer.status_code == 404
            assert answer.json()["error"] == "gate_not_found"
        assert gate_id not in [g["gate_id"] for g in other.get("/gates").json()["gates"]]
        assert gate_id in [g["gate_id"] for g in http.get("/gates").json()["gates"]]
        canceled = http.delete(f"/gates/{gate_id}").json()
        assert canceled["state"] in ("canceled", "ended")


def test_a_post_retried_with_its_idempotency_key_makes_one_gate(gates_service: GateService,
                                                                 test_set: LabeledDataset) -> None:
    with gates_service.client() as http:
        release = {"Idempotency-Key": "release-1.4.2"}
        first = post_gate(http, test_set, 5, headers=release, min_accuracy="0.5")
        again = post_gate(http, test_set, 5, headers=release, min_accuracy="0.5")
        other = post_gate(http, test_set, 5, headers={"Idempotency-Key": "release-1.4.3"},
                          min_accuracy="0.5")
        assert first.status_code == again.status_code == other.status_code == 202, again.text
        gate_id = first.json()["gate_id"]
        assert again.json()["gate_id"] == gate_id and again.headers["location"] == f"/gates/{gate_id}"
        assert other.json()["gate_id"] != gate_id
        listed = [g["gate_id"] for g in http.get("/gates", params={"limit": 100}).json()["gates"]]
        assert listed.count(gate_id) == 1 and other.json()["gate_id"] in listed
        for made in (gate_id, other.json()["gate_id"]):
            http.delete(f"/gates/{made}")


def test_a_gate_gone_from_redis_is_listed_and_read_from_its_record(
        gates_service: GateService, test_set: LabeledDataset) -> None:
    records = RecordStore(create_engine(
        StoreLocations(Path(gates_service.env["CERTIFY_DATA_DIR"]), None, None).url))
    with gates_service.client() as http:
        gate_id = post_gate(http, test_set, 5, min_accuracy="0.5").json()["gate_id"]
        http.delete(f"/gates/{gate_id}")

        def recorded_as_ended() -> bool:
            record = records.gate(gate_id)
            return record is not None and record.state != "running"

        wait_for(recorded_as_ended, 30, "the canceled gate's record")
        # As after its day in Redis, or a Redis that lost its data: no keys, no index entry.
        redis = Redis.from_url(gates_service.env["CERTIFY_REDIS_URL"])
        redis.delete(*[f"certify:gate:{gate_id}{part}" for part in ("", ":items", ":jobs", ":results")])
        for index in redis.scan_iter("certify:gates:index*"):
            redis.zrem(index, gate_id)
        read = http.get(f"/gates/{gate_id}")
        listed = {g["gate_id"]: g for g in http.get("/gates", params={"limit": 100}).json()["gates"]}
    assert read.status_code == 200 and read.json()["state"] == "canceled"
    assert gate_id in listed and listed[gate_id]["state"] == "canceled"


@pytest.mark.parametrize(("fields", "code"), [
    ({"radius": ""}, "invalid_gate"),
    ({"min_accuracy": "1.5"}, "invalid_option"),
    ({"confidence": "0"}, "invalid_option"),
    ({"labels": json.dumps({"0.png": 1})}, "invalid_gate"),
    ({"model": "no-such-model"}, "unknown_model"),
])
def test_bad_gate_requests_are_refused(gates_service: GateService, test_set: LabeledDataset,
                                       fields: dict[str, str], code: str) -> None:
    with gates_service.client() as http:
        answer = post_gate(http, test_set, 3, **{"min_accuracy": "0.5", **fields})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == code and body["detail"]


@pytest.mark.slow
def test_a_gate_outlives_an_api_restart(gates_service: GateService,
                                        test_set: LabeledDataset) -> None:
    with gates_service.client() as http:
        answer = post_gate(http, test_set, 60, min_accuracy="0.2").json()
        gate_id = answer["gate_id"]
    assert answer["state"] == "running" and answer["verdict"] is None
    gates_service.restart_api()  # its first wave is queued; the new process must carry it on
    with gates_service.client() as http:
        view = wait_gate(http, gate_id)
    assert view["verdict"]["verdict"] == "pass"


def certify_gate(service: GateService, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTIFY_")}
    return subprocess.run(
        [str(CERTIFY), "gate", "--service", service.url, "--api-key", KEY_A, "--model", MODEL,
         "--data", "fashion-mnist", "--max-images", "60", "--radius", "0.25", "--n-max", "200",
         "--n0", "20", "--batch-size", "200", *args],
        capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.slow
def test_the_command_line_exits_0_on_pass_1_on_fail_2_on_error(gates_service: GateService) -> None:
    passed = certify_gate(gates_service, "--min-accuracy", "0.2")
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("certify gate: pass:") and passed.stdout.count("\n") == 1
    # More images than a form has parts (1,000) and than a batch request takes (100 here):
    # the command sends one archive, and a gate takes up to CERTIFY_GATE_MAX_IMAGES.
    failed = certify_gate(gates_service, "--min-accuracy", "0.95", "--json", "--max-images", "1200")
    assert failed.returncode == 1, failed.stderr
    verdict = json.loads(failed.stdout)
    assert verdict["verdict"] == "fail" and verdict["set_size"] == 1200 and verdict["gate_id"]
    broken = certify_gate(gates_service, "--min-accuracy", "0.5", "--confidence", "1.5")
    assert broken.returncode == 2 and "confidence" in broken.stderr
    unknown = certify_gate(gates_service, "--min-accuracy", "0.5", "--model", "no-such-model")
    assert unknown.returncode == 2 and "no-such-model" in unknown.stderr


@pytest.mark.slow
def test_delete_cancels_a_running_gate_and_its_jobs(gates_service: GateService,
                                                    test_set: LabeledDataset) -> None:
    with gates_service.client() as http:
        gate_id = post_gate(http, test_set, 60, min_accuracy="0.5", n="20000",
                            batch_size="500").json()["gate_id"]
        view = http.delete(f"/gates/{gate_id}").json()
        assert view["state"] == "canceled" and view["verdict"] is None, view
        assert view["jobs_canceled"] > 0 and view["images"] + view["jobs_canceled"] == 50
        assert http.get(f"/gates/{gate_id}/report").json()["error"] == "no_report"
    time.sleep(2.0)  # a running job stops within one batch of samples
    statuses = [str(j.get_status(refresh=True)) for j in gate_jobs(gates_service, gate_id)]
    assert not [s for s in statuses if s.endswith(("queued", "started", "deferred", "scheduled"))]


def signed_report(http: httpx.Client, gate_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while (answer := http.get(f"/gates/{gate_id}/report")).status_code == 409:
        assert answer.json()["error"] == "no_report"
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.3)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def verify(service: GateService, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CERTIFY), "verify", str(path), "--service", service.url],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_the_signed_report_verifies_and_a_changed_field_does_not(
        gates_service: GateService, test_set: LabeledDataset, tmp_path: Path) -> None:
    with gates_service.client() as http, gates_service.client(KEY_B) as other:
        gate_id = post_gate(http, test_set, 60, min_accuracy="0.95").json()["gate_id"]
        assert http.get(f"/gates/{gate_id}/report").json()["error"] in ("no_report",)
        view = wait_gate(http, gate_id)
        document = signed_report(http, gate_id)
        assert other.get(f"/gates/{gate_id}/report").status_code == 404
    payload = document["payload"]
    assert document["format"] == "certify-signed-gate-report/1"
    assert payload["verdict"] == view["verdict"] and payload["model"]["name"] == MODEL
    assert len(payload["images"]) == view["images"]
    assert sum(image["certified"] for image in payload["images"]) == view["certified"]
    path = tmp_path / "report.json"
    path.write_text(json.dumps(document))
    valid = verify(gates_service, path)
    assert valid.returncode == 0 and f"gate {gate_id} (fail)" in valid.stdout, valid.stdout
    assert "verdict from its images" in valid.stdout
    # The verdict follows from the images the report lists; with one more of them certified
    # the counts (and so the bounds) no longer match what the verdict states.
    assert recheck_report(payload) == []
    flipped = json.loads(json.dumps(payload))
    next(image for image in flipped["images"] if not image["certified"])["certified"] = 1
    problems = recheck_report(flipped)
    print("re-check of the changed record:", problems)
    assert problems and all(line.startswith("verdict") for line in problems), problems
    payload["verdict"]["verdict"] = "pass"
    path.write_text(json.dumps(document))
    changed = verify(gates_service, path)
    assert changed.returncode == 1 and "verdict.verdict: differs" in changed.stdout, changed.stdout


def test_a_gate_runs_on_a_registered_version_and_its_report_names_it(
        gates_service: GateService, test_set: LabeledDataset) -> None:
    """The shipped model's weights registered over HTTP as safetensors: every wave loads that
    version, and the signed report names it."""
    zoo = Path(__file__).resolve().parents[2] / "certify_core" / "zoo" / MODEL
    manifest = json.loads((zoo / "manifest.json").read_text())
    manifest = {key: manifest[key] for key in ("input_shape", "class_names", "sigma",
                                               "architecture", "architecture_kwargs",
                                               "normalization")}
    state = torch.load(zoo / "weights.pt", weights_only=True)
    weights = save_safetensors({name: tensor.contiguous() for name, tensor in state.items()})
    with gates_service.client() as http:
        registered = http.post("/models", files={
            "manifest": ("manifest.json", json.dumps(
                {**manifest, "name": "gated", "format": "safetensors"}).encode()),
            "weights": ("weights.safetensors", weights)})
        assert registered.status_code == 201, registered.text
        version = registered.json()["version"]
        answer = post_gate(http, test_set, 60, min_accuracy="0.95", model=f"gated@{version}")
        assert answer.status_code == 202, answer.text
        view = wait_gate(http, answer.json()["gate_id"])
        assert view["verdict"]["verdict"] == "fail" and view["model"] == f"gated@{version}", view
        jobs = gate_jobs(gates_service, view["gate_id"])
        assert {job.args[0]["model_source"]["version"] for job in jobs} == {version}
        report = signed_report(http, view["gate_id"])
    assert report["payload"]["model"]["version"] == version
    assert report["payload"]["model"]["sha256"] == registered.json()["sha256"]

