"""The job contract, the option checks and the decoder guard, without servers."""

import subprocess
import sys
from collections.abc import Iterator

import pytest

from certify_core import CertifyOptions, InvalidOptionError
from certify_jobs import CertifyForm, JobPayload
from certify_jobs.contract import PayloadError
from certify_media.errors import MediaError
from tests.service.processes import REPO
from worker.decode_guard import DecodeLimits, ImageDecodeServer, decode_guarded

OPTION_CASES = [
    {},
    {"method": "smooth-reduce", "stride": 2},
    {"method": "smooth-reduce", "patches": 4, "patch_size": 20, "noise": "independent"},
    {"method": "smooth-reduce", "patches": 4, "stride": 2},
    {"method": "cohen", "resize": 32},
    {"method": "cohen", "patch_size": 20},
]


def test_importing_the_app_does_not_import_torch() -> None:
    code = "import sys, app.main; app.main.create_app(); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


@pytest.mark.parametrize("fields", OPTION_CASES)
def test_service_option_checks_agree_with_the_library(fields: dict[str, object]) -> None:
    try:
        form = CertifyForm(**fields)  # type: ignore[arg-type]
    except ValueError:
        with pytest.raises(InvalidOptionError):
            CertifyOptions(**fields).validate()  # type: ignore[arg-type]
        return
    CertifyOptions(**form.core_options()).validate()


def test_payload_round_trips_and_rejects_strangers() -> None:
    payload = JobPayload("k", "s", 3, "image/png", "image", "m", {"n": 10}, 7)
    assert JobPayload.from_dict(payload.to_dict()) == payload
    with pytest.raises(PayloadError):
        JobPayload.from_dict({**payload.to_dict(), "extra": 1})


LIMITS = DecodeLimits(timeout_s=20, memory_bytes=1024**3, max_pixels=10_000_000)


@pytest.fixture(scope="module")
def images() -> Iterator[ImageDecodeServer]:
    server = ImageDecodeServer()
    yield server
    server.close()


def test_guarded_decode_reports_corrupt_and_truncated_images(
    sample_png: bytes, images: ImageDecodeServer
) -> None:
    array, info = decode_guarded("image", sample_png, (1, 28, 28), LIMITS, images)
    assert array.shape == (1, 28, 28) and info["source_format"] == "PNG"
    for broken in (sample_png[: len(sample_png) // 2], b"\x89PNG\r\n\x1a\n" + b"\x00" * 64):
        with pytest.raises(MediaError) as caught:
            decode_guarded("image", broken, (1, 28, 28), LIMITS, images)
        assert caught.value.code in ("corrupt_image", "unsupported_media_type")


def test_guarded_decode_enforces_its_limits(sample_png: bytes, images: ImageDecodeServer) -> None:
    with pytest.raises(MediaError) as caught:
        decode_guarded("image", sample_png, (1, 28, 28), DecodeLimits(20, 1024**3, 100), images)
    assert caught.value.code == "image_too_large"
    # An address-space limit below what the decoder needs ends that child only.
    with pytest.raises(MediaError) as caught:
        decode_guarded("image", sample_png, (1, 28, 28), DecodeLimits(20, 1 << 20, 10**7), images)
    assert caught.value.code in ("decoder_out_of_memory", "decoder_crashed")
    assert decode_guarded("image", sample_png, (1, 28, 28), LIMITS, images)[0].shape == (1, 28, 28)


def test_a_dead_decoder_server_is_replaced(sample_png: bytes) -> None:
    server = ImageDecodeServer()
    try:
        server.start()
        assert server._process is not None
        server._process.kill()
        server._process.wait()
        assert decode_guarded("image", sample_png, (1, 28, 28), LIMITS, server)[0].shape == (1, 28, 28)
    finally:
        server.close()
