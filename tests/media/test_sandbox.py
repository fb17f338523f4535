"""The sandbox: a decoder child's crashes, hangs, allocations and environment never reach us."""

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from certify_media import (
    DecodeRequest,
    ImageLimits,
    MediaError,
    MediaLimits,
    Sandbox,
    SandboxLimits,
    VideoLimits,
    decode_upload,
)
from certify_media.sandbox import ALLOWED_TARGETS

TARGETS = "tests.media.sandbox_targets"
SAMPLE = Path(__file__).resolve().parents[2] / "certify_core" / "samples" / "fmnist-ankle-boot.png"
IMAGE = DecodeRequest("image", (1, 28, 28))


def limits(sandbox: SandboxLimits | None = None, max_pixels: int = 10_000_000) -> MediaLimits:
    return MediaLimits(ImageLimits(max_pixels=max_pixels), VideoLimits(),
                       sandbox or SandboxLimits(wall_seconds=20))


def guarded(name: str, sandbox_limits: SandboxLimits) -> tuple[dict[str, object], np.ndarray]:
    target = f"{TARGETS}:{name}"
    with Sandbox(sandbox_limits, allowed={target}) as sandbox:
        return sandbox.run(target, b"\x01\x02\x03", {"x": 1})


def failure(name: str, sandbox_limits: SandboxLimits) -> MediaError:
    with pytest.raises(MediaError) as info:
        guarded(name, sandbox_limits)
    return info.value


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxLimits(wall_seconds=20)) as server:
        yield server


def test_a_well_behaved_target_round_trips() -> None:
    meta, array = guarded("echo", SandboxLimits())
    assert meta == {"length": 3, "params": {"x": 1}}
    np.testing.assert_array_equal(array, [1.0, 2.0, 3.0])


def test_targets_must_be_allow_listed() -> None:
    assert {"certify_media.images:decode_image_bytes",
            "certify_media.video:decode_video_bytes"} == ALLOWED_TARGETS
    with Sandbox() as sandbox, pytest.raises(ValueError, match="allow-listed"):
        sandbox.run(f"{TARGETS}:echo", b"", {})


def test_crash_hang_spin_and_allocation_fail_cleanly_and_the_parent_goes_on() -> None:
    assert failure("segfault", SandboxLimits()).code == "decoder_crashed"
    start = time.monotonic()
    assert failure("hang", SandboxLimits(wall_seconds=1.5)).code == "decoder_timeout"
    assert time.monotonic() - start < 10
    assert failure("spin", SandboxLimits(cpu_seconds=1, wall_seconds=60)).code == "decoder_timeout"
    oom = failure("allocate", SandboxLimits(memory_bytes=512 * 1024**2))
    assert oom.code == "decoder_out_of_memory"
    assert failure("broken", SandboxLimits()).code == "decoder_failed"
    assert guarded("echo", SandboxLimits())[0]["length"] == 3  # still serving


def test_a_decoder_child_sees_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {"CERTIFY_API_KEYS": "key-1", "CERTIFY_REDIS_URL": "redis://:hunter2@redis:6379/0",
               "AWS_SECRET_ACCESS_KEY": "abc", "GITHUB_TOKEN": "ghp_x", "DB_PASSWORD": "pw"}
    for name, value in {**secrets, "LC_ALL": "C.UTF-8"}.items():
        monkeypatch.setenv(name, value)
    environ = guarded("environment", SandboxLimits())[0]["environ"]
    assert isinstance(environ, dict)
    assert not [name for name in environ if name.startswith("CERTIFY_") or name in secrets]
    assert not {"hunter2", "key-1", "abc", "ghp_x", "pw"} & set(environ.values())
    allowed = {"PATH", "PYTHONPATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "LANG", "LANGUAGE", "TZ", "LC_CTYPE"}
    assert {name for name in environ if not name.startswith("LC_")} <= allowed
    assert environ["LC_ALL"] == "C.UTF-8" and environ["OMP_NUM_THREADS"] == "1"


def test_the_server_stays_single_threaded_so_forking_it_is_safe(sandbox: Sandbox) -> None:
    data = SAMPLE.read_bytes()
    decode_upload(data, IMAGE, limits(), sandbox)  # the decoders are loaded by now
    pid = sandbox.server_pid
    assert pid is not None and len(os.listdir(f"/proc/{pid}/task")) == 1


def test_images_decode_in_the_sandbox_with_their_codes(sandbox: Sandbox) -> None:
    data = SAMPLE.read_bytes()
    decoded = decode_upload(data, IMAGE, limits(), sandbox)
    assert decoded.array.shape == (1, 28, 28) and decoded.described.source_format == "PNG"
    assert decoded.described == decode_upload(data, IMAGE, limits(), None).described
    np.testing.assert_array_equal(decoded.array, decode_upload(data, IMAGE, limits(), None).array)
    for broken in (data[: len(data) // 2], b"\x89PNG\r\n\x1a\n" + b"\x00" * 64):
        with pytest.raises(MediaError) as caught:
            decode_upload(broken, IMAGE, limits(), sandbox)
        assert caught.value.code in ("corrupt_image", "unsupported_media_type")


def test_image_limits_apply_in_the_sandbox(sandbox: Sandbox) -> None:
    data = SAMPLE.read_bytes()
    with pytest.raises(MediaError) as caught:
        decode_upload(data, IMAGE, limits(max_pixels=100), sandbox)
    assert caught.value.code == "image_too_large"
    # An address-space limit below what the decoder needs ends that child only. (The server
    # preloads every decoder module, so the child must need memory for the image itself.)
    buffer = io.BytesIO()
    Image.new("L", (3000, 3000)).save(buffer, format="PNG")
    with Sandbox(SandboxLimits(wall_seconds=20, memory_bytes=64 * 1024**2)) as small, \
            pytest.raises(MediaError) as caught:
        decode_upload(buffer.getvalue(), IMAGE, limits(small.limits), small)
    assert caught.value.code in ("decoder_out_of_memory", "decoder_crashed")
    assert decode_upload(data, IMAGE, limits(), sandbox).array.shape == (1, 28, 28)


def test_a_dead_server_is_replaced(sandbox: Sandbox) -> None:
    sandbox.start()
    assert sandbox.server_pid is not None
    os.kill(sandbox.server_pid, 9)
    time.sleep(0.2)
    assert decode_upload(SAMPLE.read_bytes(), IMAGE, limits(), sandbox).array.shape == (1, 28, 28)
