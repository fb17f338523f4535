"""Submit, poll, list, cancel: a real API, a real worker, real Redis, real HTTP."""

import json
from pathlib import Path

import httpx
import pytest

from certify_cli.main import main as certify_main
from certify_testkit.processes import poll_job, wait_for
from tests.service.conftest import SAMPLE

pytestmark = pytest.mark.integration
SMALL = {"n": "200", "n0": "20", "batch_size": "50"}


def submit(client: httpx.Client, data: bytes, **fields: str) -> httpx.Response:
    return client.post("/certify", files={"file": ("x.png", data, "image/png")}, data=fields)


def test_certificate_equals_certify_local_with_the_recorded_seed(
    client: httpx.Client, sample_png: bytes, model_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accepted = submit(client, sample_png, **SMALL)
    assert accepted.status_code == 202
    body = accepted.json()
    assert accepted.headers["location"] == body["status_url"] == f"/jobs/{body['job_id']}"
    view = poll_job(client, body["job_id"])
    assert view["status"] == "succeeded", view
    # Fixed n: no looks (they are reported for adaptive sampling only).
    assert view["progress"] == {"done": 220, "total": 220, "looks_taken": None, "looks": None}
    remote = view["result"]
    assert remote["input"]["shape"] == [1, 28, 28] and remote["input"]["resize_method"]

    monkeypatch.setenv("CERTIFY_MODEL_DIR", str(model_dir))
    capsys.readouterr()
    assert certify_main(["local", str(SAMPLE), "--model", "test-cnn", "--json", "--n", "200",
                         "--n0", "20", "--batch-size", "50", "--seed", str(remote["seed"])]) == 0
    local = json.loads(capsys.readouterr().out)
    remote.pop("elapsed_s"), local.pop("elapsed_s")
    assert remote == local


def test_cancel_a_queued_and_a_running_job(client: httpx.Client, sample_png: bytes) -> None:
    # One worker: the long job keeps it busy, so the second one waits in the queue.
    running = submit(client, sample_png, n="1000000", batch_size="100").json()["job_id"]
    wait_for(lambda: (client.get(f"/jobs/{running}").json().get("progress") or {}).get("done", 0)
             > 0, 60, "the long job to make progress")
    queued = submit(client, sample_png, **SMALL).json()["job_id"]
    assert client.get(f"/jobs/{queued}").json()["status"] == "queued"

    assert client.delete(f"/jobs/{queued}").json()["status"] == "canceled"
    assert client.delete(f"/jobs/{running}").json()["cancel_requested"] is True
    ended = poll_job(client, running, timeout=20)
    assert ended["status"] == "canceled" and ended["error"]["error"] == "canceled"
    assert ended["progress"]["done"] < 1_000_100
    # The queued one never ran, and the worker is free for the next job.
    assert poll_job(client, queued)["attempts"] == 0
    after = poll_job(client, submit(client, sample_png, **SMALL).json()["job_id"])
    assert after["status"] == "succeeded"


def test_idempotency_key_returns_the_first_job(client: httpx.Client, sample_png: bytes) -> None:
    headers = {"Idempotency-Key": "retry-me-1"}
    first = client.post("/certify", files={"file": ("a.png", sample_png)}, data=SMALL,
                        headers=headers).json()
    second = client.post("/certify", files={"file": ("a.png", sample_png)}, data=SMALL,
                         headers=headers).json()
    assert first["job_id"] == second["job_id"]
    poll_job(client, first["job_id"])


def test_job_list_is_newest_first_paginated_and_filterable(
    client: httpx.Client, sample_png: bytes
) -> None:
    ids = [submit(client, sample_png, **SMALL).json()["job_id"] for _ in range(3)]
    for job_id in ids:
        poll_job(client, job_id)
    page = client.get("/jobs", params={"limit": 2}).json()
    assert [job["job_id"] for job in page["jobs"]] == ids[::-1][:2]
    assert page["next_offset"] == 2
    rest = client.get("/jobs", params={"limit": 2, "offset": 2}).json()
    assert rest["jobs"][0]["job_id"] == ids[0]
    succeeded = client.get("/jobs", params={"status": "succeeded", "limit": 200}).json()["jobs"]
    assert {job["status"] for job in succeeded} == {"succeeded"}
    assert set(ids) <= {job["job_id"] for job in succeeded}


def test_models_and_probes(client: httpx.Client) -> None:
    models = client.get("/models").json()
    assert [m["name"] for m in models["models"]] == ["test-cnn", "test-video"]
    assert models["models"][0]["manifest"]["sigma"] == 0.25 and models["models"][0]["workers"] == 1
    assert client.get("/healthz").json() == {"status": "ok", "workers": None}
    assert client.get("/readyz").json()["workers"] == 1
    spec = client.get("/openapi.json").json()
    form = spec["components"]["schemas"]["CertifyForm"]["properties"]
    assert form["n"]["maximum"] == 1_000_000 and form["n"]["default"] == 100_000
    assert "ErrorBody" in spec["components"]["schemas"]
    result = spec["components"]["schemas"]["JobView"]["properties"]["result"]
    assert {"$ref": "#/components/schemas/Certificate"} in result["anyOf"]
    error = spec["components"]["schemas"]["JobView"]["properties"]["error"]
    assert {"$ref": "#/components/schemas/ErrorBody"} in error["anyOf"]


def test_polls_revalidate_with_etags_and_say_when_to_come_back(
    client: httpx.Client, sample_png: bytes
) -> None:
    job = submit(client, sample_png, **SMALL).json()["job_id"]
    first = client.get(f"/jobs/{job}")
    if first.json()["status"] in ("queued", "running"):
        assert int(first.headers["retry-after"]) >= 1
    view = poll_job(client, job)
    ended = client.get(f"/jobs/{job}")
    assert ended.json() == view and "retry-after" not in ended.headers
    assert ended.headers["cache-control"] == "private, no-cache"
    etag = ended.headers["etag"]
    unchanged = client.get(f"/jobs/{job}", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    # Read again (from the stored view): the same bytes and tag; another tag gets the body.
    again = client.get(f"/jobs/{job}", headers={"If-None-Match": '"other"'})
    assert again.status_code == 200 and again.content == ended.content
    assert again.headers["etag"] == etag


def test_a_queued_job_holds_its_options_once(
    client: httpx.Client, service: dict[str, object], sample_png: bytes
) -> None:
    """The payload (the job's one argument) is where the options live: not in the job's meta
    too, where a second copy could drift from what the worker runs."""
    import redis
    from rq.job import Job
    from rq.serializers import JSONSerializer

    job_id = submit(client, sample_png, **SMALL).json()["job_id"]
    connection = redis.Redis.from_url(str(service["redis_url"]))
    job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
    (payload,) = job.args
    assert payload["options"]["n"] == 200
    assert "options" not in json.dumps(job.meta) and not job.kwargs
    assert client.get(f"/jobs/{job_id}").json()["options"] == payload["options"]
