"""Adaptive sampling through the API and the worker: bad options are 422, good ones are recorded."""

import httpx
import pytest

from certify_testkit.processes import poll_job
from tests.service.test_bad_input import assert_error, post

pytestmark = pytest.mark.integration
ADAPTIVE = {"sampling": "adaptive", "n": "400", "looks": "100,200"}


@pytest.mark.parametrize(("fields", "field"), [
    ({"looks": "200,100"}, "looks"), ({"looks": "100,100"}, "looks"),
    ({"looks": "1000"}, "n"),  # the largest sample count below the first look
    ({"looks": "x"}, "looks"), ({"radius": "0"}, "radius"), ({"radius": "-0.5"}, "radius"),
    ({"tolerance": "0"}, "tolerance"), ({"tolerance": "1.5"}, "tolerance"),
    # 400 samples certify at most 2.08 sigma (sigma <= 10): refused before it is queued
    ({"radius": "25"}, "radius"),
])
def test_bad_adaptive_options_are_422(
    client: httpx.Client, sample_png: bytes, fields: dict[str, str], field: str
) -> None:
    assert_error(post(client, sample_png, **{**ADAPTIVE, **fields}), 422, "invalid_option", field)


def test_adaptive_options_without_adaptive_sampling_are_422(
    client: httpx.Client, sample_png: bytes
) -> None:
    assert_error(post(client, sample_png, looks="100,200"), 422, "invalid_option", "looks")


def test_a_radius_alone_asks_for_a_decision(client: httpx.Client, sample_png: bytes) -> None:
    response = post(client, sample_png, radius="0.01", n="200")
    assert response.status_code == 202, response.text
    options = client.get(f"/jobs/{response.json()['job_id']}").json()["options"]
    assert options["sampling"] == "adaptive" and options["radius"] == 0.01


def test_an_adaptive_job_reports_its_looks_and_records_its_sampling(
    client: httpx.Client, sample_png: bytes
) -> None:
    response = post(client, sample_png, **ADAPTIVE, radius="0.01")
    assert response.status_code == 202, response.text
    view = poll_job(client, response.json()["job_id"])
    assert view["status"] == "succeeded", view
    cert = view["result"]
    assert cert["sampling"] == "adaptive" and cert["looks"] == [100, 200, 400]
    assert cert["n_max"] == 400 and cert["radius_asked"] == 0.01
    assert cert["stop_reason"] in ("certified", "not_certifiable", "n_max")
    assert cert["model_evaluations"] == cert["n0"] + cert["n"]
    progress = view["progress"]
    assert progress["looks"] == 3 and progress["looks_taken"] == cert["looks_taken"]
    assert progress["total"] == cert["n0"] + 400


def test_the_options_list_offers_the_adaptive_options(client: httpx.Client) -> None:
    options = {o["name"]: o for o in client.get("/options").json()["options"]}
    assert options["sampling"]["choices"] == ["fixed", "adaptive"]
    assert options["looks"]["kind"] == "text"
    assert options["looks"]["applies_when"] == {"option": "sampling", "value": "adaptive"}
    assert options["radius"]["applies_when"] is None  # a radius alone selects adaptive sampling
    assert options["tolerance"]["maximum"] == 1
