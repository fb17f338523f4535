"""Reading the API's JSON back into the contract's records, and the retry schedule."""

import json

import pytest

from certify_client.records import RecordError, from_json
from certify_client.transport import PollPolicy, RetryPolicy
from certify_contract import (
    Certificate,
    CertifyOptions,
    ClipLayout,
    JobPage,
    JobView,
    PatchLayout,
    VideoInput,
)


def certificate_json(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "label": 9, "label_name": "Ankle boot", "abstained": False, "radius": 0.5, "p_lower": 0.97,
        "n_a": 990, "n": 1000, "n0": 100, "alpha": 0.001, "sigma": 0.25, "method": "smooth-reduce",
        "aggregate": "mean", "noise": "shared", "scores": "softmax",
        "geometry": {"k": 2, "input_size": [28, 28], "resize": [32, 32], "patch_size": [28, 28],
                     "offsets": [[0, 0], [4, 4]], "model_size": [28, 28], "interpolation": "bilinear"},
        "lift_norm": 1.0, "lift_norm_method": "shared", "centre_error": 0.0,
        "model": {"name": "m", "sha256": "0" * 64, "version": None}, "seed": 7, "elapsed_s": 1,
        "selection_counts": [0] * 10, "estimation_counts": [0] * 10,
        "input": {"shape": [1, 28, 28], "value_range": [0.0, 1.0], "source_format": "PNG",
                  "source_size": [28, 28], "source_mode": "L", "resize_method": "none"},
        "sampling": "fixed", "model_evaluations": 2200, "n_max": None, "looks": None,
        "alpha_per_look": None, "futility_alpha": None, "looks_taken": None, "stop_reason": None,
        "radius_asked": None, "certified_at_radius": None, "tolerance": None, "sequential": None,
        "precision": "fp32", "compile": "off", "forward_rows": None,
    }
    base.update(changes)
    return base


def test_a_certificate_reads_back_into_its_records() -> None:
    cert = from_json(Certificate, certificate_json())
    assert isinstance(cert.geometry, PatchLayout) and cert.geometry["offsets"] == [[0, 0], [4, 4]]
    assert cert.elapsed_s == 1.0 and isinstance(cert.elapsed_s, float)
    assert cert.to_dict() == {**certificate_json(), "elapsed_s": 1.0}


def test_adaptive_certificates_and_those_of_older_servers_read_back() -> None:
    adaptive = certificate_json(
        sampling="adaptive", n_max=10_000, looks=[500, 1000, 10_000], alpha_per_look=[2.5e-4] * 2 + [5e-4],
        futility_alpha=0.001, looks_taken=1, stop_reason="certified", radius_asked=0.25,
        certified_at_radius=True, n=500)
    cert = from_json(Certificate, adaptive)
    assert cert.stop_reason == "certified" and cert.looks == [500, 1000, 10_000]
    older = {k: v for k, v in certificate_json().items() if k not in ("sampling", "looks")}
    assert from_json(Certificate, older).sampling == "fixed"


def test_unions_pick_the_record_whose_fields_are_there() -> None:
    video = {"shape": [1, 16, 36, 36], "value_range": [0.0, 1.0], "source_container": "mp4",
             "source_codec": "h264", "source_size": [36, 36], "source_fps": 8.0,
             "decoded_frames": 16, "frame_policy": "uniform", "policy_fps": None,
             "frame_indices": list(range(16)), "frame_timestamps_s": [0.0] * 16,
             "resize_method": "none"}
    clips = {"kind": "temporal-clips", "k": 3, "frames": 16, "clip_length": 8, "starts": [0, 4, 8]}
    cert = from_json(Certificate, certificate_json(input=video, geometry=clips))
    assert isinstance(cert.input, VideoInput) and isinstance(cert.geometry, ClipLayout)


def test_fields_a_newer_server_adds_are_ignored_and_missing_ones_refused() -> None:
    cert = from_json(Certificate, certificate_json(sampling={"mode": "adaptive"}))
    assert cert.n == 1000
    broken = certificate_json()
    del broken["p_lower"]
    with pytest.raises(RecordError, match="p_lower"):
        from_json(Certificate, broken)
    with pytest.raises(RecordError, match="expected int"):
        from_json(Certificate, certificate_json(n="many"))


def test_job_views_and_pages() -> None:
    raw = {"job_id": "a" * 32, "status": "succeeded", "model": "m", "media_type": "image/png",
           "created_at": "2026-01-02T03:04:05.678000Z", "started_at": None, "ended_at": None,
           "progress": {"done": 1100, "total": 1100, "looks_taken": None, "looks": None},
           "attempts": 1, "options": {**CertifyOptions(n=1000).to_dict(), "n0": 100},
           "cancel_requested": False, "result": certificate_json(elapsed_s=1.0), "error": None,
           "webhook": None}
    view = from_json(JobView, raw)
    assert view.ended and view.created_at is not None and view.created_at.year == 2026
    assert view.options == CertifyOptions(n=1000)  # typed: the options' own record
    page = from_json(JobPage, {"jobs": [raw], "offset": 0, "limit": 50, "next_offset": None})
    assert page.jobs == [view]
    # What `certify status --json` prints: every field, as the API wrote it.
    assert json.loads(json.dumps(view.to_dict())) == raw


def test_retry_and_poll_schedules_back_off_to_their_caps() -> None:
    assert list(RetryPolicy(attempts=5, first_delay_s=0.5, max_delay_s=3).delays()) == [0.5, 1, 2, 3]
    assert list(RetryPolicy(attempts=1).delays()) == []
    intervals = PollPolicy(first_interval_s=1, factor=2, max_interval_s=3).intervals()
    assert [next(intervals) for _ in range(4)] == [1, 2, 3, 3]
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
