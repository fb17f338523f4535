"""Videos made by the tests with PyAV: real encoders, known content."""

import io
import struct
from typing import Any

import av
import numpy as np


def frame_values(count: int) -> list[int]:
    """A distinct grey level per frame, so decoded frames can be identified."""
    return [int(v) for v in np.linspace(16, 240, count).round()]


def video_stream(container: Any, codec: str, rate: int, size: tuple[int, int], pix_fmt: str
                 ) -> av.VideoStream:
    """A new video stream of `container`, `size` = (width, height)."""
    stream = container.add_stream(codec, rate=rate)
    assert isinstance(stream, av.VideoStream)
    stream.width, stream.height, stream.pix_fmt = size[0], size[1], pix_fmt
    return stream


def encode_video(
    fmt: str, codec: str, frames: int = 12, rate: int = 10, size: tuple[int, int] = (64, 48),
    streams: int = 1,
) -> bytes:
    """Frames of flat grey levels `frame_values(frames)`, `size` = (width, height)."""
    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        outputs = [video_stream(container, codec, rate, size, "yuv420p") for _ in range(streams)]
        for value in frame_values(frames):
            pixels = np.full((height, width, 3), value, np.uint8)
            for stream in outputs:
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    container.mux(packet)
        for stream in outputs:
            for packet in stream.encode():
                container.mux(packet)
    return buffer.getvalue()


def encode_audio_only() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100)
        for _ in range(8):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                               layout="mono")
            frame.sample_rate = 44100
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def encode_without_frames(fmt: str, codec: str) -> bytes:
    """A container with a video stream header and no frames at all."""
    buffer = io.BytesIO()
    container = av.open(buffer, "w", format=fmt)
    video_stream(container, codec, 10, (32, 32), "yuv420p")
    container.start_encoding()
    container.close()
    return buffer.getvalue()


def raw_avi_claiming(width: int, height: int) -> bytes:
    """A tiny rawvideo AVI whose header claims `width x height` (the frames are 16 x 16)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="avi") as container:
        stream = video_stream(container, "rawvideo", 10, (16, 16), "gray")
        for _ in range(4):
            frame = av.VideoFrame.from_ndarray(np.zeros((16, 16), np.uint8), format="gray")
            for packet in stream.encode(frame):
                container.mux(packet)
    data = bytearray(buffer.getvalue())
    strf = data.find(b"strf")  # BITMAPINFOHEADER: size, biSize, biWidth, biHeight
    data[strf + 12:strf + 20] = struct.pack("<ii", width, height)
    return bytes(data)


def mkv_claiming_duration(seconds: float) -> bytes:
    """A real Matroska file whose Segment Info claims `seconds` of duration."""
    data = bytearray(encode_video("matroska", "libx264"))
    element = data.find(b"\x44\x89")  # Duration, in timecode-scale units (1 ms)
    size = data[element + 2] & 0x0F
    packed = struct.pack(">d" if size == 8 else ">f", seconds * 1000.0)
    data[element + 3:element + 3 + size] = packed
    return bytes(data)
