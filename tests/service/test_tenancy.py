"""API keys separate tenants: a job is its creator's (and admins') only, against a real server."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.http.deps import principal_of
from certify_store.blobs import BlobStore
from certify_testkit.processes import extra_api, poll_job

pytestmark = pytest.mark.integration
SMALL = {"n": "100", "n0": "10", "batch_size": "50"}
ALICE, BOB, ADMIN = "alice-key", "bob-key", "operator-key"


@pytest.fixture(scope="module")
def tenant_api(service: dict[str, object], logs: Path) -> Iterator[str]:
    with extra_api(service, logs / "tenant-api.log", CERTIFY_API_KEYS=f"{ALICE},{BOB}",
                   CERTIFY_ADMIN_API_KEYS=ADMIN) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def clients(tenant_api: str) -> Iterator[dict[str, httpx.Client]]:
    made = {key: httpx.Client(base_url=tenant_api, headers={"X-API-Key": key}, timeout=30.0)
            for key in (ALICE, BOB, ADMIN)}
    try:
        yield made
    finally:
        for http in made.values():
            http.close()


def submit(client: httpx.Client, image: bytes, **fields: str) -> str:
    answer = client.post("/certify", files={"file": ("x.png", image, "image/png")},
                         data={**SMALL, **fields})
    assert answer.status_code == 202, answer.text
    job_id: str = answer.json()["job_id"]
    return job_id


def listed(client: httpx.Client) -> set[str]:
    answer = client.get("/jobs", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    return {job["job_id"] for job in answer.json()["jobs"]}


def test_another_keys_job_is_exactly_an_unknown_job(
    clients: dict[str, httpx.Client], sample_png: bytes
) -> None:
    alice, bob, admin = clients[ALICE], clients[BOB], clients[ADMIN]
    job = submit(alice, sample_png)
    assert poll_job(alice, job)["status"] == "succeeded"
    unknown = "f" * 32
    for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/input")):
        foreign = bob.request(method, f"/jobs/{job}{suffix}")
        missing = bob.request(method, f"/jobs/{unknown}{suffix}")
        assert foreign.status_code == missing.status_code == 404, (method, suffix, foreign.text)
        # The same body, except for the id the caller sent itself.
        assert foreign.json() == {**missing.json(),
                                  "detail": missing.json()["detail"].replace(unknown, job)}
        assert foreign.headers.keys() == missing.headers.keys()
    assert alice.get(f"/jobs/{job}").json()["status"] == "succeeded"
    assert alice.get(f"/jobs/{job}/input").content == sample_png
    assert admin.get(f"/jobs/{job}").status_code == 200
    assert admin.get(f"/jobs/{job}/input").content == sample_png


def test_lists_show_ones_own_jobs_and_admins_see_all(
    clients: dict[str, httpx.Client], sample_png: bytes
) -> None:
    alice, bob, admin = clients[ALICE], clients[BOB], clients[ADMIN]
    alices = {submit(alice, sample_png) for _ in range(2)}
    bobs = {submit(bob, sample_png)}
    assert alices <= listed(alice) and not bobs & listed(alice)
    assert bobs <= listed(bob) and not alices & listed(bob)
    assert alices | bobs <= listed(admin)
    # Paging walks one's own index: a page of one holds one's newest job.
    page = alice.get("/jobs", params={"limit": 1}).json()
    assert page["jobs"][0]["job_id"] in alices and page["next_offset"] == 1
    for job in alices | bobs:
        poll_job(admin, job)


def test_only_the_owner_or_an_admin_cancels(
    clients: dict[str, httpx.Client], sample_png: bytes
) -> None:
    alice, bob, admin = clients[ALICE], clients[BOB], clients[ADMIN]
    # Long enough (1e6 samples in batches of 50) to be still queued or running when canceled.
    job = submit(alice, sample_png, n="1000000")
    assert bob.delete(f"/jobs/{job}").status_code == 404
    assert not alice.get(f"/jobs/{job}").json()["cancel_requested"]
    answer = admin.delete(f"/jobs/{job}")
    # Still queued: canceled at once; running: flagged for its worker.
    canceled = answer.json()["status"] == "canceled" or answer.json()["cancel_requested"]
    assert answer.status_code == 202 and canceled, answer.text
    view = poll_job(alice, job)
    assert view["status"] == "canceled" and view["error"]["error"] == "canceled"


def test_equal_uploads_of_two_tenants_share_nothing(
    clients: dict[str, httpx.Client], service: dict[str, object], sample_png: bytes
) -> None:
    alice, bob = clients[ALICE], clients[BOB]
    image = sample_png + b"tenancy"  # trailing bytes: still the same PNG, a fresh digest
    mine, theirs = submit(alice, image), submit(bob, image)
    poll_job(alice, mine), poll_job(bob, theirs)
    digest = hashlib.sha256(image).hexdigest()
    env: dict[str, str] = service["env"]  # type: ignore[assignment]
    root = Path(env["CERTIFY_DATA_DIR"]) / "uploads"
    stored = {f"{path.parent.parent.name}/{path.name}" for path in root.glob(f"*/??/{digest}")}
    assert stored == {f"{principal_of(ALICE)}/{digest}", f"{principal_of(BOB)}/{digest}"}
    # Alice's upload going away (retention) leaves Bob's untouched, and the reverse.
    BlobStore(root).path(f"{principal_of(ALICE)}/{digest}").unlink()
    assert alice.get(f"/jobs/{mine}/input").status_code == 410
    assert bob.get(f"/jobs/{theirs}/input").content == image


def test_batch_lists_are_ones_own_and_admins_see_all(
    clients: dict[str, httpx.Client], sample_png: bytes
) -> None:
    """As for jobs: an admin reads any tenant's batch by id, and lists every tenant's."""
    alice, bob, admin = clients[ALICE], clients[BOB], clients[ADMIN]

    def batch(client: httpx.Client) -> str:
        answer = client.post("/batches", data=SMALL, files=[("file", ("x.png", sample_png))])
        assert answer.status_code == 202, answer.text
        batch_id: str = answer.json()["batch_id"]
        return batch_id

    def batches(client: httpx.Client) -> set[str]:
        answer = client.get("/batches", params={"limit": 100})
        assert answer.status_code == 200, answer.text
        return {view["batch_id"] for view in answer.json()["batches"]}

    alices, bobs = batch(alice), batch(bob)
    assert alices in batches(alice) and bobs not in batches(alice)
    assert bobs in batches(bob) and alices not in batches(bob)
    assert {alices, bobs} <= batches(admin)
    assert admin.get(f"/batches/{alices}").json()["batch_id"] == alices
    newest = admin.get("/batches", params={"limit": 1}).json()
    assert newest["batches"][0]["batch_id"] == bobs and newest["next_offset"] == 1
