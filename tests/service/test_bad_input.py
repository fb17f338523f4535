"""Bad uploads and requests get the right 4xx and error body; the worker keeps serving."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from certify_jobs.unreadable import unreadable_key
from certify_testkit.processes import extra_api, poll_job, wait_for

pytestmark = pytest.mark.integration
SMALL = {"n": "100", "n0": "10", "batch_size": "50"}


def post(client: httpx.Client, data: bytes, content_type: str = "image/png",
         **fields: str) -> httpx.Response:
    return client.post("/certify", files={"file": ("up.png", data, content_type)},
                       data={**SMALL, **fields})


def assert_error(response: httpx.Response, status: int, code: str, field: str | None = None
                 ) -> None:
    """The one error shape, naming `field` when the error is about one (and only then)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and body["detail"] and body.get("field") == field, body
    assert set(body) == {"error", "detail"} | ({"field"} if field else set())


def test_rejected_before_enqueue(client: httpx.Client, sample_png: bytes) -> None:
    assert_error(post(client, b""), 422, "empty_file", "file")
    assert_error(post(client, b"hello, I am text pretending to be a PNG"), 415,
                 "unsupported_media_type", "file")
    assert_error(post(client, sample_png, n="0"), 422, "invalid_option", "n")
    assert_error(post(client, sample_png, alpha="1.5"), 422, "invalid_option", "alpha")
    assert_error(post(client, sample_png, n="1000001"), 422, "invalid_option", "n")
    assert_error(post(client, sample_png, method="smooth-reduce", stride="2", patches="3"),
                 422, "invalid_option", "stride")
    assert_error(post(client, sample_png, method="cohen", stride="2"), 422, "invalid_option",
                 "stride")
    assert_error(post(client, sample_png, model="no-such-model"), 422, "unknown_model", "model")
    assert_error(post(client, sample_png, sigma="1e-320"), 422, "invalid_option", "sigma")
    # Only the worker used to find these out, after a 202 (the test model takes 28 x 28).
    assert_error(post(client, sample_png, method="smooth-reduce", patch_size="40"),
                 422, "invalid_option", "patch_size")
    assert_error(post(client, sample_png, method="smooth-reduce", resize="16", patch_size="20"),
                 422, "invalid_option", "patch_size")
    assert_error(client.post("/certify", data=SMALL), 422, "invalid_option", "file")
    assert client.get("/jobs", params={"status": "succeeded"}).status_code == 200


def test_oversized_bodies_are_cut_off_while_streaming(client: httpx.Client) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300_000  # the test server allows 100 kB
    assert_error(post(client, big), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        boundary = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n"
        yield boundary
        for _ in range(40):
            yield b"\x00" * 10_000
        yield b"\r\n--b--\r\n"

    response = client.post("/certify", content=chunks(),
                           headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert_error(response, 413, "payload_too_large")


def test_unknown_jobs_are_404(client: httpx.Client) -> None:
    assert_error(client.get("/jobs/" + "0" * 32), 404, "job_not_found")
    assert_error(client.get("/jobs/../../etc"), 404, "not_found")
    assert_error(client.delete("/jobs/not-a-job-id"), 404, "job_not_found")


def test_corrupt_images_fail_their_job_and_the_worker_serves_the_next(
    client: httpx.Client, sample_png: bytes
) -> None:
    for broken in (sample_png[:40], b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, b"GIF89a" + b"\x00"):
        job = post(client, broken).json()["job_id"]
        view = poll_job(client, job)
        assert view["status"] == "failed", view
        assert view["error"]["error"] in ("corrupt_image", "unsupported_media_type"), view
    assert poll_job(client, post(client, sample_png).json()["job_id"])["status"] == "succeeded"


@pytest.fixture
def keyed_api(service: dict[str, object], logs: Path) -> Iterator[str]:
    with extra_api(service, logs / "keyed-api.log", CERTIFY_API_KEYS="key-one,key-two") as port:
        yield f"http://127.0.0.1:{port}"


def test_api_keys(keyed_api: str, sample_png: bytes) -> None:
    with httpx.Client(base_url=keyed_api) as anonymous:
        assert_error(anonymous.get("/jobs"), 401, "missing_api_key")
        assert_error(post(anonymous, sample_png), 401, "missing_api_key")
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/readyz").status_code == 200
    with httpx.Client(base_url=keyed_api, headers={"X-API-Key": "wrong"}) as wrong:
        assert_error(wrong.get("/models"), 401, "invalid_api_key")
    with httpx.Client(base_url=keyed_api, headers={"X-API-Key": "key-two"}) as good:
        job = post(good, sample_png).json()["job_id"]
        assert poll_job(good, job)["status"] == "succeeded"


def test_the_worker_runs_only_the_allow_listed_task(
    client: httpx.Client, service: dict[str, object], tmp_path: Path, sample_png: bytes
) -> None:
    import redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    victim = tmp_path / "keep-me"
    victim.write_text("still here")
    # Anyone who can write to Redis could enqueue this; the worker must refuse it.
    queue = Queue("certify", connection=redis.Redis.from_url(str(service["redis_url"])),
                  serializer=JSONSerializer)
    # Shaped like the service's own jobs (one JSON object): taken, refused, failed.
    job = queue.enqueue("os.remove", {"path": str(victim)}, job_id=uuid.uuid4().hex)
    view = poll_job(client, job.id)
    assert view["status"] == "failed" and view["error"]["error"] == "internal_error"
    assert victim.exists()
    assert "TaskNotAllowed" in (job.latest_result().exc_string or "")
    # Any other shape is not a job this service wrote: moved aside unrun, unknown to the API.
    odd = queue.enqueue("os.remove", str(victim), job_id=uuid.uuid4().hex)
    wait_for(lambda: queue.connection.exists(unreadable_key(odd.id)) == 1, 60, "it moved aside")
    assert client.get(f"/jobs/{odd.id}").status_code == 404
    assert victim.exists()
    assert poll_job(client, post(client, sample_png).json()["job_id"])["status"] == "succeeded"
