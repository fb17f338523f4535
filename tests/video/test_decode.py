"""Guarded PyAV decoding of real and hostile video files."""

import numpy as np
import pytest

from certify_media import MediaError, VideoLimits, decode_video, sniff_media_type
from certify_testkit.video_media import (
    encode_audio_only,
    encode_video,
    encode_without_frames,
    frame_values,
    mkv_claiming_duration,
    raw_avi_claiming,
)

FORMATS = [
    ("mp4", "libx264", "video/mp4", "h264"),
    ("webm", "libvpx-vp9", "video/x-matroska", "vp9"),
    ("webm", "libvpx", "video/x-matroska", "vp8"),
    ("matroska", "libx264", "video/x-matroska", "h264"),
    ("avi", "mpeg4", "video/x-msvideo", "mpeg4"),
]


def grey_levels(array: np.ndarray) -> list[int]:
    """The mean grey level of each sampled frame, in 0..255."""
    return [round(float(v) * 255) for v in array.mean(axis=(0, 2, 3))]


def error_code(data: bytes, limits: VideoLimits | None = None) -> str:
    with pytest.raises(MediaError) as info:
        decode_video(data, (1, 8, 16, 16), limits)
    return info.value.code


@pytest.mark.parametrize(("fmt", "codec", "media_type", "codec_name"), FORMATS)
def test_containers_decode_to_the_requested_geometry(
    fmt: str, codec: str, media_type: str, codec_name: str
) -> None:
    data = encode_video(fmt, codec, frames=12, rate=10, size=(64, 48))
    assert sniff_media_type(data[:16]) == media_type
    decoded = decode_video(data, (3, 8, 24, 32))
    assert decoded.array.shape == (3, 8, 24, 32) and decoded.array.dtype == np.float32
    assert decoded.array.min() >= 0.0 and decoded.array.max() <= 1.0
    # uniform policy over 12 frames: floor((i + 1/2) * 12 / 8)
    assert decoded.frame_indices == (0, 2, 3, 5, 6, 8, 9, 11)
    assert decoded.timestamps == pytest.approx([i / 10 for i in decoded.frame_indices])
    levels = frame_values(12)
    expected = [levels[i] for i in decoded.frame_indices]
    assert grey_levels(decoded.array) == pytest.approx(expected, abs=4)  # lossy codecs
    info = decoded.describe()
    assert info["source_codec"] == codec_name and info["source_size"] == [64, 48]
    assert info["frame_policy"] == "uniform" and info["decoded_frames"] == 12


@pytest.mark.parametrize(("rate", "size"), [(5, (32, 32)), (30, (96, 54)), (24, (50, 70))])
def test_frame_rates_and_sizes(rate: int, size: tuple[int, int]) -> None:
    data = encode_video("mp4", "libx264", frames=20, rate=rate, size=size)
    decoded = decode_video(data, (1, 10, 16, 16))
    assert decoded.array.shape == (1, 10, 16, 16)
    assert decoded.describe()["source_fps"] == pytest.approx(rate)
    assert decoded.frame_indices == tuple(2 * i + 1 for i in range(10))
    assert decoded.timestamps == pytest.approx([(2 * i + 1) / rate for i in range(10)])


def test_fps_policy_takes_the_frame_shown_at_each_time() -> None:
    data = encode_video("webm", "libvpx-vp9", frames=12, rate=10)
    decoded = decode_video(data, (1, 6, 16, 16), policy="fps", fps=4.0)
    # times 0, .25, .5, .75, 1.0, 1.25: the last frame (1.1 s) repeats at the end
    assert decoded.frame_indices == (0, 2, 5, 7, 10, 11)
    assert decoded.describe()["policy_fps"] == 4.0


def test_video_shorter_than_one_clip_repeats_frames() -> None:
    data = encode_video("mp4", "libx264", frames=3, rate=10)
    decoded = decode_video(data, (1, 8, 16, 16))
    assert decoded.frame_indices == (0, 0, 0, 1, 1, 2, 2, 2)
    levels = frame_values(3)
    assert grey_levels(decoded.array) == pytest.approx([levels[i] for i in decoded.frame_indices], abs=4)


def test_truncated_and_corrupt_containers() -> None:
    mp4 = encode_video("mp4", "libx264")
    webm = encode_video("webm", "libvpx-vp9")
    assert error_code(mp4[: len(mp4) // 2]) == "corrupt_video"  # index (moov) cut off
    assert error_code(webm[: len(webm) // 2]) == "corrupt_video"
    garbage = np.random.default_rng(0).integers(0, 256, len(mp4), dtype=np.uint8).tobytes()
    assert error_code(mp4[:32] + garbage[32:]) == "corrupt_video"


def test_streams_without_frames() -> None:
    assert error_code(encode_audio_only()) == "no_video_stream"
    assert error_code(encode_without_frames("avi", "mpeg4")) == "no_frames"
    assert error_code(encode_without_frames("matroska", "libx264")) == "truncated_video"
    # the mp4 muxer drops a track without samples, so the file has no video stream
    assert error_code(encode_without_frames("mp4", "libx264")) == "no_video_stream"


def test_claimed_dimensions_and_durations_are_refused_before_decoding() -> None:
    assert error_code(raw_avi_claiming(20_000, 10_000)) == "video_too_large"
    assert error_code(mkv_claiming_duration(1e9)) == "video_too_long"
    small = VideoLimits(max_side=32)
    assert error_code(encode_video("mp4", "libx264", size=(64, 48)), small) == "video_too_large"


def test_configured_limits() -> None:
    data = encode_video("mp4", "libx264", frames=12, rate=10)
    assert error_code(data, VideoLimits(max_bytes=100)) == "file_too_large"
    assert error_code(data, VideoLimits(max_frames=5)) == "too_many_frames"
    assert error_code(data, VideoLimits(max_duration_s=0.5)) == "video_too_long"
    assert error_code(b"") == "empty_file"
    three = encode_video("matroska", "libx264", frames=4, streams=3)
    assert error_code(three, VideoLimits(max_streams=2)) == "too_many_streams"


def test_non_video_files_with_video_names() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    assert error_code(png) == "unsupported_media_type"
    assert error_code(b"#EXTM3U\n#EXT-X-TARGETDURATION:1\nfile:///etc/passwd\n") == "unsupported_media_type"
    assert error_code(b"\x00\x00\x00\x18ftypisom" + b"x" * 300) == "corrupt_video"


def test_bad_requests() -> None:
    data = encode_video("mp4", "libx264")
    for shape in [(2, 8, 16, 16), (1, 0, 16, 16)]:
        with pytest.raises(MediaError) as info:
            decode_video(data, shape)  # type: ignore[arg-type]
        assert info.value.code == "unsupported_model_input"
    with pytest.raises(MediaError) as info:
        decode_video(data, (1, 8, 16, 16), policy="fps")
    assert info.value.code == "invalid_frame_policy"
