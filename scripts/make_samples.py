"""Write the sample files the README's examples use, from the real Fashion-MNIST test set.

    .venv/bin/python scripts/make_samples.py

- `fmnist-ankle-boot.png`: test image 0 (an ankle boot), lossless;
- `fmnist-trouser.jpg`: test image 2 (trousers), as a JPEG, 2x upscaled (56 x 56):
  the decoder resizes it back to the model's 28 x 28, as it would any photo;
- `moving-fmnist-trouser.mp4`: the same test item moving over a 36 x 36 canvas for
  16 frames (moving Fashion-MNIST, test split, seed 0), H.264 at 8 frames/s:
  the input the shipped video model `moving-fmnist-c2d-s025` expects.

Fashion-MNIST is MIT-licensed (Zalando Research); the files are a few kB.
"""

import io
from pathlib import Path

import av
import numpy as np
from PIL import Image

from certify_core.datasets import load_fashion_mnist
from certify_core.moving_fmnist import load_moving_fashion_mnist

SAMPLES = Path(__file__).resolve().parents[1] / "certify_core" / "samples"
TROUSER = 2
VIDEO_FRAMES, VIDEO_FPS = 16, 8


def encode_h264(frames: np.ndarray, fps: int) -> bytes:
    """(T, H, W) uint8 grey frames as an H.264 MP4."""
    height, width = frames.shape[1:]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "12"}  # nearly lossless: the pixels are the data set's
        for frame in frames:
            rgb = np.repeat(frame[:, :, None], 3, axis=2)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def main() -> None:
    test = load_fashion_mnist("test")
    Image.fromarray(test.inputs[0, 0]).save(SAMPLES / "fmnist-ankle-boot.png")
    trouser = Image.fromarray(test.inputs[TROUSER, 0]).resize((56, 56), Image.Resampling.BICUBIC)
    trouser.save(SAMPLES / "fmnist-trouser.jpg", quality=92)
    videos = load_moving_fashion_mnist("test", count=TROUSER + 1, frames=VIDEO_FRAMES)
    (SAMPLES / "moving-fmnist-trouser.mp4").write_bytes(
        encode_h264(videos.inputs[TROUSER, 0], VIDEO_FPS))
    for path in sorted(SAMPLES.iterdir()):
        print(f"{path.relative_to(SAMPLES.parents[1])}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
