"""A worker's measured passes per second, through GET /models and GET /estimate.

The worker times noisy passes at warm-up and folds each finished job's
`model_evaluations` / `elapsed_s` into its figure (worker/throughput.py); the
API shows the median over live workers and divides the options' passes by it.
"""

import time
from typing import Any

import httpx
import pytest

from certify_client import CertifyClient
from certify_contract import CertifyOptions
from certify_testkit.processes import poll_job
from tests.service.test_bad_input import assert_error, post

pytestmark = pytest.mark.integration
JOB = {"n0": "20", "n": "500", "method": "smooth-reduce", "stride": "1", "batch_size": "500"}


def fp32_figure(client: httpx.Client) -> dict[str, Any]:
    models = {m["name"]: m for m in client.get("/models").raise_for_status().json()["models"]}
    figures = {(t["precision"], t["compile"]): t for t in models["test-cnn"]["throughput"]}
    figure: dict[str, Any] = figures["fp32", "off"]
    return figure


def settled_figure(client: httpx.Client) -> dict[str, Any]:
    """The published figure once no earlier job's ending is still to be published (the
    service is shared with earlier tests): the same count of jobs over more than one
    presence beat (a third of its 10 s TTL). Read at once, the figure could miss a job that
    had just ended, and the next one published would move by that job, not this test's."""
    figure = fp32_figure(client)
    while True:
        time.sleep(4)
        again = fp32_figure(client)
        if again["jobs"] == figure["jobs"]:
            return again
        figure = again


def test_the_warm_up_publishes_a_rate_and_a_job_moves_it_towards_its_own(
    client: httpx.Client, sample_png: bytes
) -> None:
    before = settled_figure(client)  # from the warm-up, and every job an earlier test ran
    assert before["passes_per_s"] > 0 and before["workers"] == 1
    estimate = client.get("/estimate", params={"model": "test-cnn", **JOB})
    assert estimate.status_code == 200, estimate.text
    planned = estimate.json()
    # stride 1 over 32 x 32 with 28-pixel patches: 5 x 5 patches per sample.
    assert planned["passes_per_sample"] == 25
    assert planned["passes_min"] == planned["passes_max"] == (20 + 500) * 25
    assert planned["seconds_max"] == pytest.approx(planned["passes_max"] / planned["passes_per_s"])

    submitted = post(client, sample_png, **JOB)
    assert submitted.status_code == 202, submitted.text
    cert = poll_job(client, submitted.json()["job_id"], timeout=120)["result"]
    assert cert["model_evaluations"] == planned["passes_max"]  # the estimate counts real passes
    job_rate = cert["model_evaluations"] / cert["elapsed_s"]

    deadline = time.monotonic() + 15  # the presence beat (a third of its 10 s TTL) publishes it
    while (after := fp32_figure(client))["jobs"] == before["jobs"]:
        assert time.monotonic() < deadline, f"no new figure after the job: {after}"
        time.sleep(0.5)
    assert after["jobs"] == before["jobs"] + 1
    # A ratio of decayed sums: the new rate lies between the old one and the job's own.
    low, high = sorted((before["passes_per_s"], job_rate))
    assert low - 0.1 <= after["passes_per_s"] <= high + 0.1, (before, job_rate, after)


def test_an_estimate_checks_its_options_and_model_as_a_submission_does(
    client: httpx.Client,
) -> None:
    assert_error(client.get("/estimate", params={"n": "0"}), 422, "invalid_option", "n")
    assert_error(client.get("/estimate", params={"model": "no-such-model"}), 422,
                 "unknown_model", "model")
    assert_error(client.get("/estimate", params={"model": "test-cnn", "frames": "8"}), 422,
                 "invalid_option", "frames")
    unmeasured = client.get("/estimate", params={"model": "test-cnn", "precision": "bf16"})
    assert unmeasured.status_code == 200, unmeasured.text
    assert unmeasured.json()["passes_per_s"] is None and unmeasured.json()["seconds_max"] is None
    video = client.get("/estimate", params={"media": "video", "n": "1000"}).json()
    assert video["model"] == "test-video" and video["passes_max"] == 1_100


def test_the_client_reads_the_estimate_as_its_record(service: dict[str, object]) -> None:
    with CertifyClient(str(service["url"])) as client:
        estimate = client.estimate(CertifyOptions(n=1_000, method="smooth-reduce"),
                                   model="test-cnn")
        video = client.estimate({"n": 50}, media="video")
    assert (estimate.passes_per_sample, estimate.passes_max) == (9, 1_100 * 9)
    assert estimate.passes_per_s is not None and estimate.seconds_max is not None
    assert estimate.seconds_max == pytest.approx(estimate.passes_max / estimate.passes_per_s)
    assert (video.model, video.passes_max) == ("test-video", 150)
