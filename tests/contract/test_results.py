"""The typed results: what the worker writes, the API reads back unchanged and documents."""

import json
from dataclasses import fields, is_dataclass

import pytest
from pydantic import TypeAdapter

from certify_contract import (
    Certificate,
    ClipLayout,
    ErrorBody,
    ImageInput,
    JobOutcome,
    ModelRef,
    PatchLayout,
    TensorInput,
    VideoInput,
)

OUTCOME = TypeAdapter(JobOutcome)
IMAGE = ImageInput([1, 28, 28], [0.0, 1.0], "PNG", [28, 28], "L", "pillow-bilinear")
VIDEO = VideoInput([1, 6, 28, 28], [0.0, 1.0], "mp4", "h264", [32, 32], 10.0, 12, "uniform", None,
                   [1, 3, 5, 7, 9, 11], [0.1, 0.3, 0.5, 0.7, 0.9, 1.1], "ffmpeg-swscale-bilinear")
PATCHES = PatchLayout(4, [28, 28], [32, 32], [28, 28], [[0, 0], [2, 2], [4, 4], [0, 4]], [28, 28],
                      "bilinear")
CLIPS = ClipLayout("temporal-clips", 2, 6, 3, [0, 3])


def certificate(geometry: PatchLayout | ClipLayout | None, described: object) -> Certificate:
    return Certificate(
        label=9, label_name="Ankle boot", abstained=False, radius=0.41, p_lower=0.96, n_a=196,
        n=200, n0=20, alpha=0.001, sigma=0.25, method="smooth-reduce" if geometry else "cohen",
        aggregate="mean" if geometry else None, noise="independent" if geometry else None,
        scores="softmax" if geometry else None, geometry=geometry, lift_norm=1.5,
        lift_norm_method="exact", centre_error=1e-6 if geometry else 0.0,
        model=ModelRef("test-cnn", "ab" * 32), seed=7, elapsed_s=0.5,
        selection_counts=[0] * 9 + [20], estimation_counts=[0] * 8 + [4, 196],
        input=described,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("cert", [
    certificate(None, TensorInput([1, 28, 28], [0.0, 1.0])),
    certificate(PATCHES, IMAGE),
    certificate(CLIPS, VIDEO),
])
def test_the_api_reads_back_exactly_what_the_worker_wrote(cert: Certificate) -> None:
    written = json.loads(json.dumps(JobOutcome.succeeded(cert).to_dict()))  # through Redis
    read = OUTCOME.validate_python(written)
    assert read.certificate == cert and type(read.certificate.input) is type(cert.input)
    assert OUTCOME.dump_python(read, mode="json") == written


def test_a_failed_job_carries_the_one_error_shape() -> None:
    failed = JobOutcome.failed(ErrorBody("corrupt_image", "The image cannot be decoded."))
    assert failed.to_dict() == {"outcome": "failed", "certificate": None, "error": {
        "error": "corrupt_image", "detail": "The image cannot be decoded.", "field": None}}
    assert JobOutcome.canceled("Stopped.").error == ErrorBody("canceled", "Stopped.")
    with pytest.raises(ValueError):
        JobOutcome("succeeded")
    with pytest.raises(ValueError):
        JobOutcome("failed", certificate=certificate(None, TensorInput([1], [0.0, 1.0])))


def test_records_read_like_the_json_they_become() -> None:
    assert PATCHES["offsets"] == [[0, 0], [2, 2], [4, 4], [0, 4]] and VIDEO["source_fps"] == 10.0
    with pytest.raises(KeyError):
        PATCHES["nope"]


def test_the_schema_describes_every_field_an_integrator_gets() -> None:
    schema = TypeAdapter(Certificate).json_schema()
    records = {"Certificate": schema, **schema["$defs"]}
    assert set(records) >= {"Certificate", "ModelRef", "PatchLayout", "ClipLayout", "TensorInput",
                            "ImageInput", "VideoInput"}
    for name, record in records.items():
        for field, described in record["properties"].items():
            assert described.get("description"), f"{name}.{field} has no description"
    assert schema["properties"]["method"]["enum"] == ["cohen", "smooth-reduce"]


def test_every_record_is_a_plain_dataclass() -> None:
    for record in (Certificate, ModelRef, PatchLayout, ClipLayout, TensorInput, ImageInput,
                   VideoInput, JobOutcome, ErrorBody):
        assert is_dataclass(record) and fields(record)
