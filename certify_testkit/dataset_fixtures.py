"""Small labelled data sets written in the exact on-disk formats that `certify_datasets` reads.

CIFAR batches are real pickles shaped as the originals (bytes keys, a uint8
(N, 3072) array, protocol 2); idx files carry the real magic numbers and are
gzipped as distributed; images are real PNG/JPEG files; clips are real MP4s.
"""

import gzip
import io
import pickle
import struct
from pathlib import Path

import av
import numpy as np
from PIL import Image

from certify_testkit.video_media import video_stream


def random_images(count: int, shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """uint8 (count, C, H, W) with smooth structure (so resizing does something visible)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(count, shape[0], 4, 4)).astype(np.uint8)
    return np.stack([np.stack([np.asarray(Image.fromarray(c).resize((shape[2], shape[1]),
                                                                     Image.Resampling.BICUBIC))
                               for c in image]) for image in coarse])


def save_image(pixels: np.ndarray, path: Path) -> Path:
    """A uint8 (C, H, W) array as an image file; the suffix picks PNG or JPEG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0))
    image.save(path)
    return path


def write_class_folders(root: Path, classes: dict[str, np.ndarray], suffix: str = ".png") -> Path:
    for name, images in classes.items():
        for i, pixels in enumerate(images):
            save_image(pixels, root / name / f"{i:03d}{suffix}")
    return root


def write_cifar(root: Path, images: np.ndarray, labels: list[int], names: list[str],
                hundred: bool = False) -> Path:
    """`cifar-10-batches-py` (test_batch, batches.meta) or `cifar-100-python` (test, meta)."""
    folder = root / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    folder.mkdir(parents=True, exist_ok=True)
    data = images.reshape(len(images), -1).astype(np.uint8)
    meta: dict[bytes, object]
    batch: dict[bytes, object] = {b"batch_label": b"testing batch 1 of 1", b"data": data,
             b"filenames": [f"img_{i}.png".encode() for i in range(len(images))]}
    if hundred:
        batch.update({b"fine_labels": labels, b"coarse_labels": [0] * len(labels)})
        meta = {b"fine_label_names": [n.encode() for n in names], b"coarse_label_names": [b"all"]}
    else:
        batch[b"labels"] = labels
        meta = {b"label_names": [n.encode() for n in names], b"num_cases_per_batch": len(images),
                b"num_vis": 3072}
    for name, content in (("test" if hundred else "test_batch", batch),
                          ("meta" if hundred else "batches.meta", meta)):
        with (folder / name).open("wb") as handle:
            pickle.dump(content, handle, protocol=2)
    return folder


def write_idx(root: Path, images: np.ndarray, labels: list[int], prefix: str = "t10k") -> Path:
    """`{prefix}-images-idx3-ubyte.gz` and `{prefix}-labels-idx1-ubyte.gz` (magic 2051, 2049)."""
    root.mkdir(parents=True, exist_ok=True)
    count, height, width = images.shape[0], images.shape[-2], images.shape[-1]
    pixels = struct.pack(">iiii", 2051, count, height, width) + images.astype(np.uint8).tobytes()
    marks = struct.pack(">ii", 2049, count) + bytes(labels)
    for name, body in ((f"{prefix}-images-idx3-ubyte.gz", pixels),
                       (f"{prefix}-labels-idx1-ubyte.gz", marks)):
        (root / name).write_bytes(gzip.compress(body))
    return root


def encode_clip(frames: np.ndarray, rate: int = 10) -> bytes:
    """uint8 (T, H, W) grey frames as an H.264 MP4."""
    buffer = io.BytesIO()
    height, width = frames.shape[1:]
    with av.open(buffer, "w", format="mp4") as container:
        stream = video_stream(container, "libx264", rate, (width, height), "yuv420p")
        for frame in frames:
            rgb = np.repeat(frame[:, :, None], 3, axis=2)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def write_video_folders(root: Path, classes: dict[str, int], frames: int, size: int, seed: int
                        ) -> Path:
    """`root/<class>/<i>.mp4`, `classes` = clips per class."""
    for offset, (name, count) in enumerate(classes.items()):
        for i in range(count):
            clip = random_images(frames, (1, size, size), seed + 100 * offset + i)[:, 0]
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / f"{i:03d}.mp4").write_bytes(encode_clip(clip))
    return root
