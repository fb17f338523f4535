"""The decoder child's crashes, hangs and allocations never reach the parent."""

import time

import numpy as np
import pytest

from certify_media import GuardLimits, MediaError
from certify_media.guard import ALLOWED_TARGETS, run_guarded

TARGETS = "tests.video.guard_targets"


def guarded(name: str, limits: GuardLimits) -> tuple[dict[str, object], np.ndarray]:
    target = f"{TARGETS}:{name}"
    return run_guarded(target, b"\x01\x02\x03", {"x": 1}, limits, allowed={target})


def failure(name: str, limits: GuardLimits) -> MediaError:
    with pytest.raises(MediaError) as info:
        guarded(name, limits)
    return info.value


def test_a_well_behaved_target_round_trips() -> None:
    meta, array = guarded("echo", GuardLimits())
    assert meta == {"length": 3, "params": {"x": 1}}
    np.testing.assert_array_equal(array, [1.0, 2.0, 3.0])


def test_targets_must_be_allow_listed() -> None:
    assert {"certify_media.video:decode_video_bytes"} == ALLOWED_TARGETS
    with pytest.raises(ValueError, match="allow-listed"):
        run_guarded(f"{TARGETS}:echo", b"", {})


def test_crash_hang_spin_and_allocation_fail_cleanly_and_the_parent_goes_on() -> None:
    assert failure("segfault", GuardLimits()).code == "decoder_crashed"
    start = time.monotonic()
    assert failure("hang", GuardLimits(wall_seconds=1.5)).code == "decoder_timeout"
    assert time.monotonic() - start < 10
    assert failure("spin", GuardLimits(cpu_seconds=1, wall_seconds=60)).code == "decoder_timeout"
    oom = failure("allocate", GuardLimits(memory_bytes=512 * 1024**2))
    assert oom.code == "decoder_out_of_memory"
    assert failure("broken", GuardLimits()).code == "decoder_failed"
    assert guarded("echo", GuardLimits())[0]["length"] == 3  # still serving
