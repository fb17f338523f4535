"""The typed client's batch calls and `certify evaluate --service`, against the real platform."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from certify_client import ApiError, BatchView, CertifyClient, PollPolicy
from certify_contract.evaluation import read_tsv, summarize
from certify_core.datasets import FASHION_MNIST_DIR
from tests.service.conftest import SAMPLE
from tests.service.platform_fixture import KEY_A, KEY_B, Platform

pytestmark = pytest.mark.integration
SMALL = {"n": 100, "n0": 10, "batch_size": 100}
CERTIFY = Path(sys.executable).parent / "certify"


@pytest.fixture
def api(platform: Platform) -> Iterator[CertifyClient]:
    with CertifyClient(platform.url, KEY_A, poll=PollPolicy(0.1, 1.5, 0.5)) as client:
        yield client


def test_create_add_close_wait_and_read_a_batch(api: CertifyClient) -> None:
    png = SAMPLE.read_bytes()
    opened = api.create_batch([("a.png", png), SAMPLE], labels={"a.png": 9}, options=SMALL,
                              open=True)
    assert isinstance(opened, BatchView) and opened.status == "open" and opened.total == 2
    api.add_files(opened.batch_id, [("c.png", png)], labels={"c.png": "class-9"})
    api.close_batch(opened.batch_id)
    seen: list[str] = []
    ended = api.wait_batch(opened.batch_id, on_progress=lambda v: seen.append(v.status))
    assert ended.ended and seen[-1] == "ended" and ended.counts.succeeded == 3
    assert ended.metrics is not None and ended.metrics.images == 2  # the unlabeled file is out
    items = list(api.batch_items(opened.batch_id, page_size=2))  # two pages
    assert [i.name for i in items] == ["a.png", SAMPLE.name, "c.png"]
    assert [i.label for i in items] == [9, None, 9]
    assert all(i.job.result is not None for i in items)
    tsv = api.batch_results_tsv(opened.batch_id).splitlines()
    assert len(tsv) == 4 and tsv[2].split("\t")[2] == ""  # no label, no `correct`
    assert opened.batch_id in {b.batch_id for b in api.batches(limit=100).batches}


def test_an_open_batch_may_start_empty(api: CertifyClient) -> None:
    opened = api.create_batch(options=SMALL, open=True)
    assert (opened.status, opened.total, opened.progress) == ("open", 0, 0.0)
    api.add_files(opened.batch_id, [SAMPLE])
    api.close_batch(opened.batch_id)
    assert api.wait_batch(opened.batch_id, timeout_s=60).counts.succeeded == 1
    with pytest.raises(ApiError) as closed:
        api.add_files(opened.batch_id, [SAMPLE])
    assert (closed.value.status_code, closed.value.code) == (409, "batch_closed")


def test_idempotent_create_and_cancel(api: CertifyClient) -> None:
    first = api.create_batch([SAMPLE] * 3, options={"n": 500_000, "batch_size": 500},
                             idempotency_key="client-batch-1")
    again = api.create_batch([SAMPLE] * 3, options={"n": 500_000, "batch_size": 500},
                             idempotency_key="client-batch-1")
    assert again.batch_id == first.batch_id and again.total == 3
    canceled = api.cancel_batch(first.batch_id)
    assert canceled.status == "canceled"
    assert api.wait_batch(first.batch_id, timeout_s=60).counts.canceled >= 1


def test_other_keys_get_404(platform: Platform, api: CertifyClient) -> None:
    batch = api.create_batch([SAMPLE], options=SMALL)
    with CertifyClient(platform.url, KEY_B) as other, pytest.raises(ApiError) as missing:
        other.batch(batch.batch_id)
    assert (missing.value.status_code, missing.value.code) == (404, "batch_not_found")


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="apt-get install -y dataset-fashion-mnist")
def test_evaluate_on_the_service_agrees_exactly_with_a_local_replay(
    platform: Platform, model_dir: Path, tmp_path: Path,
) -> None:
    import torch

    from certify_contract import CertifyOptions
    from certify_core import certify
    from certify_core.datasets import load_dataset
    from certify_core.models import load_model

    out = tmp_path / "service-run"
    done = subprocess.run(
        [str(CERTIFY), "evaluate", "--service", platform.url, "--api-key", KEY_A, "--model",
         "test-cnn", "--count", "5", "--skip", "13", "--n0", "10", "--n", "100",
         "--batch-size", "100", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    rows = read_tsv(out / "certify.tsv")
    assert [r.idx for r in rows] == [0, 13, 26, 39, 52]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"] == summarize(rows, [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5])
    # The local evaluation certifies image idx with seed SEED + idx; the service draws its own
    # seed per job and records it. Replayed locally with those seeds, every row is the same.
    model = load_model("test-cnn", torch.device("cpu"), (model_dir,))
    data = load_dataset("fashion-mnist", "test")
    options = CertifyOptions(n0=10, n=100, batch_size=100)
    for row in rows:
        images, labels = data.tensors(row.idx, row.idx + 1)
        local = certify(model, images[0], options, seed=summary["run"]["seeds"][str(row.idx)])
        assert row.label == int(labels[0])
        assert (row.predict, row.radius) == (-1 if local.label is None else local.label,
                                             local.radius or 0.0)
    assert (out / "summary.md").read_text().startswith("| run |")
    plotted = subprocess.run([str(CERTIFY), "plot", str(out), "--out", str(tmp_path / "p.png")],
                             capture_output=True, text=True, timeout=120, check=False)
    assert plotted.returncode == 0 and (tmp_path / "p.png").stat().st_size > 1000


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="apt-get install -y dataset-fashion-mnist")
def test_evaluate_on_the_service_builds_a_large_run_over_several_requests(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over FILES_PER_REQUEST images: an open batch, grown request by request, then closed."""
    from certify_cli import evaluate_service
    from certify_cli.main import main

    monkeypatch.setattr(evaluate_service, "FILES_PER_REQUEST", 2)  # 5 images: 3 requests
    out = tmp_path / "chunked"
    status = main(["evaluate", "--service", platform.url, "--api-key", KEY_A, "--model",
                   "test-cnn", "--count", "5", "--skip", "7", "--n0", "10", "--n", "100",
                   "--batch-size", "100", "--out", str(out)])
    assert status == 0
    run = json.loads((out / "summary.json").read_text())["run"]
    assert [r.idx for r in read_tsv(out / "certify.tsv")] == [0, 7, 14, 21, 28]
    with CertifyClient(platform.url, KEY_A) as client:
        view = client.batch(run["batch_id"])
    assert (view.status, view.total, view.closed_at is not None) == ("ended", 5, True)
    assert sorted(run["seeds"]) == ["0", "14", "21", "28", "7"]
