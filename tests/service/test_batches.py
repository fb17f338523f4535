"""Batches against real processes: Redis, the API, two workers and the delivery worker.

The images are real Fashion-MNIST test items sent as lossless PNGs.
"""

import io
import json
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer

from certify_contract.evaluation import STANDARD_RADII, EvalRow, summarize
from certify_core.datasets import FASHION_MNIST_DIR, LabeledDataset, load_dataset
from certify_datasets.images import png_bytes
from tests.service.platform_fixture import KEY_B, Platform

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(),
                       reason="apt-get install -y dataset-fashion-mnist"),
]
SMALL = {"n0": "10", "n": "100", "batch_size": "100"}


@pytest.fixture(scope="module")
def test_set() -> LabeledDataset:
    return load_dataset("fashion-mnist", "test")


@pytest.fixture
def http(platform: Platform) -> Iterator[httpx.Client]:
    with platform.client() as client:
        yield client


def images(data: LabeledDataset, indices: range | list[int]) -> list[tuple[str, bytes, int]]:
    return [(f"{i}.png", png_bytes(data.inputs[i]), int(data.labels[i])) for i in indices]


def post_batch(http: httpx.Client, files: list[tuple[str, bytes, int]], labels: bool = True,
               **fields: str) -> httpx.Response:
    form = {**SMALL, **fields}
    if labels:
        form["labels"] = json.dumps({name: label for name, _, label in files})
    return http.post("/batches", data=form,
                     files=[("file", (name, data, "image/png")) for name, data, _ in files])


def wait_batch(http: httpx.Client, batch_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        view: dict[str, Any] = http.get(f"/batches/{batch_id}").json()
        if view["status"] in ("ended", "canceled") and \
                view["counts"]["queued"] + view["counts"]["running"] == 0:
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.2)


def items(http: httpx.Client, batch_id: str) -> list[dict[str, Any]]:
    return list(http.get(f"/batches/{batch_id}/jobs", params={"limit": 500}).json()["items"])


def test_labeled_batch_matches_a_local_replay_with_the_recorded_seeds(
    http: httpx.Client, test_set: LabeledDataset, model_dir: Path,
) -> None:
    import torch

    from certify_contract import CertifyOptions
    from certify_core import certify
    from certify_core.models import load_model

    files = images(test_set, range(0, 60, 10))
    answer = post_batch(http, files)
    assert answer.status_code == 202, answer.text
    batch_id = answer.json()["batch_id"]
    view = wait_batch(http, batch_id)
    assert view["status"] == "ended" and view["counts"]["succeeded"] == len(files)
    model = load_model("test-cnn", torch.device("cpu"), (model_dir,))
    options = CertifyOptions.from_dict({k: int(v) for k, v in SMALL.items()})
    rows = []
    for item in items(http, batch_id):
        cert = item["job"]["result"]
        idx = int(item["name"].removesuffix(".png"))
        images_, _ = test_set.tensors(idx, idx + 1)
        # The worker decoded the PNG to the very tensor the local evaluation uses, and the
        # recorded seed reproduces its certificate exactly: no statistics are needed here.
        local = certify(model, images_[0], options, seed=cert["seed"])
        assert (local.label, local.radius, local.n_a) == (cert["label"], cert["radius"], cert["n_a"])
        predict = -1 if local.label is None else local.label
        rows.append(EvalRow(item["index"], item["label"], predict, local.radius or 0.0,
                            predict == item["label"], cert["elapsed_s"]))
    expected = summarize(rows, STANDARD_RADII)
    metrics = view["metrics"]
    assert metrics["images"] == len(files)
    assert metrics["acr"] == pytest.approx(expected["acr"], abs=1e-12)
    assert metrics["certified_accuracy"] == pytest.approx(expected["certified_accuracy"])
    tsv = http.get(f"/batches/{batch_id}/results.tsv")
    assert tsv.headers["content-type"].startswith("text/tab-separated-values")
    lines = tsv.text.splitlines()
    assert lines[0].split("\t") == ["idx", "name", "label", "predict", "radius", "correct", "time"]
    assert [line.split("\t")[1] for line in lines[1:]] == [name for name, _, _ in files]
    assert [float(line.split("\t")[4]) for line in lines[1:]] == [r.radius for r in rows]


def test_a_batch_spreads_over_both_workers(
    http: httpx.Client, test_set: LabeledDataset, platform: Platform,
) -> None:
    files = images(test_set, range(100, 112))
    answer = post_batch(http, files, labels=False, n="300", batch_size="300")
    batch_id = answer.json()["batch_id"]
    wait_batch(http, batch_id, timeout=240)
    redis = Redis.from_url(platform.redis_url)
    job_ids = [item["job"]["job_id"] for item in items(http, batch_id)]
    workers = {job.worker_name for job in Job.fetch_many(job_ids, connection=redis,
                                                         serializer=JSONSerializer) if job}
    # All 12 jobs are queued at once and both idle workers block on the one queue: the
    # first two pops go to different workers, so one worker taking every job would mean
    # the other never dequeued while it was busy.
    assert len(workers) == 2, workers


def test_cancel_a_batch_stops_the_rest(http: httpx.Client, test_set: LabeledDataset) -> None:
    files = images(test_set, range(200, 230))
    answer = post_batch(http, files, n="200000", batch_size="500")
    batch_id = answer.json()["batch_id"]
    canceled = http.delete(f"/batches/{batch_id}")
    assert canceled.status_code == 202
    view = wait_batch(http, batch_id, timeout=60)
    assert view["status"] == "canceled"
    assert view["counts"]["canceled"] >= len(files) - 2  # at most the two running could finish
    assert http.post(f"/batches/{batch_id}/files", files=[("file", ("x.png", files[0][1]))]
                     ).json()["error"] == "batch_closed"


def test_batches_belong_to_their_key(
    http: httpx.Client, platform: Platform, test_set: LabeledDataset,
) -> None:
    batch_id = post_batch(http, images(test_set, [300])).json()["batch_id"]
    with platform.client(KEY_B) as other:
        for method, path in [("GET", ""), ("DELETE", ""), ("GET", "/results.tsv"),
                             ("GET", "/jobs"), ("POST", "/close")]:
            answer = other.request(method, f"/batches/{batch_id}{path}")
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["error"] == "batch_not_found"
        assert batch_id not in [b["batch_id"] for b in other.get("/batches").json()["batches"]]
    assert batch_id in [b["batch_id"] for b in http.get("/batches").json()["batches"]]
    unknown = http.get(f"/batches/{'0' * 32}")
    assert unknown.status_code == 404 and unknown.json()["error"] == "batch_not_found"
    job_id = items(http, batch_id)[0]["job"]["job_id"]
    owner = Job.fetch(job_id, connection=Redis.from_url(platform.redis_url),
                      serializer=JSONSerializer).meta["owner"]
    assert owner != "anonymous" and len(owner) == 16  # the principal of KEY_A


def test_open_batch_grows_over_requests_then_closes(
    http: httpx.Client, test_set: LabeledDataset,
) -> None:
    first = images(test_set, [400, 401])
    batch_id = post_batch(http, first, open="true").json()["batch_id"]
    more = images(test_set, [402, 403])
    parts = [("file", (name, data)) for name, data, _ in more]
    labels = json.dumps({name: label for name, _, label in more})
    headers = {"Idempotency-Key": "add-1"}
    for _ in range(2):  # the retry with the same key adds nothing
        added = http.post(f"/batches/{batch_id}/files", data={"labels": labels}, files=parts,
                          headers=headers)
        assert added.status_code == 202, added.text
    assert http.get(f"/batches/{batch_id}").json()["status"] == "open"
    assert http.post(f"/batches/{batch_id}/close").status_code == 200
    view = wait_batch(http, batch_id)
    assert (view["total"], view["counts"]["succeeded"], view["metrics"]["images"]) == (4, 4, 4)


def test_idempotent_batch_creation(http: httpx.Client, test_set: LabeledDataset) -> None:
    files = images(test_set, [500, 501])
    ids = {post_batch(http, files, labels=False).json()["batch_id"]}
    keyed = [http.post("/batches", data=SMALL, headers={"Idempotency-Key": "batch-1"},
                       files=[("file", (n, d)) for n, d, _ in files]).json() for _ in range(2)]
    assert keyed[0]["batch_id"] == keyed[1]["batch_id"] and keyed[1]["total"] == 2
    assert keyed[0]["batch_id"] not in ids


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _tar(members: dict[str, bytes], link: str | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(info)
    return out.getvalue()


def test_archives_are_read_member_by_member(http: httpx.Client, test_set: LabeledDataset) -> None:
    files = images(test_set, [600, 601, 602])
    members = {f"set/{name}": data for name, data, _ in files}
    labels = json.dumps({f"set/{name}": label for name, _, label in files})
    for archive in (_zip(members), _tar(members)):
        answer = http.post("/batches", data={**SMALL, "labels": labels},
                           files=[("file", ("images.bin", archive))])
        assert answer.status_code == 202, answer.text
        view = wait_batch(http, answer.json()["batch_id"])
        assert (view["total"], view["metrics"]["images"]) == (3, 3)


@pytest.mark.parametrize(("archive", "status", "code"), [
    (lambda png: _zip({"../evil.png": png}), 422, "invalid_archive"),
    (lambda png: _zip({"/abs.png": png}), 422, "invalid_archive"),
    (lambda png: _tar({"ok.png": png}, link="link.png"), 422, "invalid_archive"),
    # 190 kB of zeros (under the 200 kB member limit) packs to ~200 B: ~1000x, over the 200x limit
    (lambda png: _zip({"bomb.png": bytes(190_000)}, zipfile.ZIP_DEFLATED), 422,
     "invalid_archive"),
    (lambda png: _zip({f"{i}.png": png for i in range(41)}), 413, "too_many_files"),
    (lambda png: _zip({"notes.txt": b"hello"}), 415, "unsupported_media_type"),
    (lambda png: b"PK\x03\x04 not really a zip", 422, "invalid_archive"),
])
def test_unsafe_archives_are_refused_before_anything_is_queued(
    http: httpx.Client, sample_png: bytes, archive: Any, status: int, code: str,
) -> None:
    answer = http.post("/batches", data=SMALL, files=[("file", ("a.zip", archive(sample_png)))])
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code


@pytest.mark.parametrize(("labels", "detail"), [
    ("not json", "not JSON"), ('["a"]', "JSON object"), ('{"other.png": 1}', "not in this"),
    ('{"0.png": 10}', "neither"), ('{"0.png": "Sneakers"}', "neither"),
])
def test_bad_labels_are_refused(http: httpx.Client, sample_png: bytes, labels: str,
                                detail: str) -> None:
    answer = http.post("/batches", data={**SMALL, "labels": labels},
                       files=[("file", ("0.png", sample_png))])
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_labels"
    assert detail in answer.json()["detail"]


def test_class_names_are_labels_too(http: httpx.Client, sample_png: bytes) -> None:
    answer = http.post("/batches", data={**SMALL, "labels": '{"0.png": "class-9"}'},
                       files=[("file", ("0.png", sample_png))])
    assert answer.status_code == 202
    view = wait_batch(http, answer.json()["batch_id"])
    assert items(http, view["batch_id"])[0]["label"] == 9


def test_batch_limits(http: httpx.Client, sample_png: bytes) -> None:
    too_many = http.post("/batches", data=SMALL,
                         files=[("file", (f"{i}.png", sample_png)) for i in range(41)])
    assert too_many.status_code == 413 and too_many.json()["error"] == "too_many_files"
    batch_id = http.post("/batches", data={**SMALL, "open": "true"},
                         files=[("file", (f"{i}.png", sample_png)) for i in range(40)]
                         ).json()["batch_id"]
    over = http.post(f"/batches/{batch_id}/files",
                     files=[("file", (f"{i}.png", sample_png)) for i in range(21)])
    assert over.status_code == 413 and "at most 60" in over.json()["detail"]
    http.delete(f"/batches/{batch_id}")


def test_paging_offsets_past_any_batch_are_refused_not_sent_to_redis(
    http: httpx.Client, sample_png: bytes
) -> None:
    batch_id = http.post("/batches", data=SMALL, files=[("file", ("0.png", sample_png))]
                         ).json()["batch_id"]
    # Redis refuses an LRANGE bound over 2**63 - 1: such an offset must never reach it.
    for offset in (2**63 - 1, 2**63, 10**30, 1_000_001):
        answer = http.get(f"/batches/{batch_id}/jobs", params={"offset": offset})
        assert answer.status_code == 422, (offset, answer.text)
        assert answer.json()["field"] == "offset"
    page = http.get(f"/batches/{batch_id}/jobs", params={"offset": 1_000_000, "limit": 500})
    assert page.status_code == 200 and page.json()["items"] == []
    wait_batch(http, batch_id)


def test_a_class_per_subfolder_archive_labels_itself(
    http: httpx.Client, test_set: LabeledDataset,
) -> None:
    files = images(test_set, [700, 701, 702])
    members = {f"set/class-{label}/{name}": data for name, data, label in files}
    members["set/7/extra.png"] = files[0][1]  # a folder may name the class index too
    answer = http.post("/batches", data={**SMALL, "labels": "folders"},
                       files=[("file", ("set.zip", _zip(members)))])
    assert answer.status_code == 202, answer.text
    view = wait_batch(http, answer.json()["batch_id"])
    labels = {item["name"]: item["label"] for item in items(http, view["batch_id"])}
    expected = {f"set/class-{label}/{name}": label for name, _, label in files}
    assert labels == {**expected, "set/7/extra.png": 7}
    assert view["metrics"]["images"] == 4


@pytest.mark.parametrize(("member", "detail"), [
    ("zebra/0.png", "'zebra/0.png' is in folder 'zebra', which is not a class of model 'test-cnn'"),
    ("0.png", "'0.png' is in no folder"),
])
def test_folder_labels_refuse_a_folder_the_model_does_not_know(
    http: httpx.Client, sample_png: bytes, member: str, detail: str,
) -> None:
    answer = http.post("/batches", data={**SMALL, "labels": "folders"},
                       files=[("file", ("set.zip", _zip({"class-1/ok.png": sample_png,
                                                          member: sample_png})))])
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_labels"
    assert answer.json()["field"] == "labels" and detail in answer.json()["detail"], answer.text
