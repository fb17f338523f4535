"""`certify local VIDEO`: sniffed dispatch, default video model, frames in the result."""

import json
from pathlib import Path

import av
import numpy as np
import pytest

from certify_cli.main import main
from certify_core.moving_fmnist import load_moving_fashion_mnist

SAMPLE = Path(__file__).resolve().parents[2] / "certify_core" / "samples" / "fmnist-ankle-boot.png"


def write_moving_item(path: Path, index: int, fmt: str, codec: str) -> int:
    """Encode a moving-Fashion-MNIST test video (16 frames, 36 x 36) as a real file."""
    dataset = load_moving_fashion_mnist("test", count=index + 1)
    frames = dataset.inputs[index, 0]
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=8)
        stream.width, stream.height, stream.pix_fmt = 36, 36, "yuv420p"
        stream.options = {"crf": "10"} if codec == "libx264" else {}
        for frame in frames:
            rgb = np.repeat(frame[:, :, None], 3, axis=2)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return int(dataset.labels[index])


def test_video_goes_to_the_default_video_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = tmp_path / "item.mp4"
    label = write_moving_item(video, 2, "mp4", "libx264")  # a trouser, clear to the model
    code = main(["local", str(video), str(SAMPLE), "--n", "100", "--n0", "10", "--seed", "1",
                 "--json", "--method", "smooth-reduce", "--noise", "independent"])
    assert code == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["model"]["name"] == "moving-fmnist-c2d-s025"
    assert first["input"]["shape"] == [1, 16, 36, 36]
    assert first["input"]["frame_indices"] == list(range(16))
    assert first["input"]["frame_timestamps_s"] == pytest.approx([i / 8 for i in range(16)])
    assert first["geometry"]["starts"] == [0, 4, 8]
    assert first["lift_norm"] == pytest.approx(2**0.5, rel=1e-8)
    assert first["label"] == label
    assert second["model"]["name"] == "fmnist-cnn-s025"  # the image beside it


def test_text_output_names_frames_and_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = tmp_path / "clip.webm"
    write_moving_item(video, 1, "webm", "libvpx-vp9")
    code = main(["local", str(video), "--n", "50", "--n0", "10", "--seed", "1", "--frames", "8",
                 "--frame-policy", "fps", "--fps", "4"])
    assert code == 0
    out = capsys.readouterr().out
    assert "input=1x8x36x36 frames=[0,2,4,6,8,10,12,14]" in out


def test_bad_video_and_kind_mismatch_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"this is not a video at all, just text" * 4)
    assert main(["local", str(fake), "--model", "moving-fmnist-c2d-s025", "--n", "10"]) == 2
    assert "Not a video container" in capsys.readouterr().err
    truncated = tmp_path / "cut.mp4"
    write_moving_item(truncated, 0, "mp4", "libx264")
    truncated.write_bytes(truncated.read_bytes()[:300])
    assert main(["local", str(truncated), "--n", "10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("certify: error:") and "Traceback" not in err


def test_evaluate_on_moving_fashion_mnist(tmp_path: Path) -> None:
    code = main(["evaluate", "--dataset", "moving-fashion-mnist", "--count", "2", "--n", "20",
                 "--n0", "5", "--method", "smooth-reduce", "--noise", "independent",
                 "--out", str(tmp_path)])
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["run"]["model"] == "moving-fmnist-c2d-s025"
    assert summary["metrics"]["images"] == 2
    header = (tmp_path / "certify.tsv").read_text().splitlines()[0].split("\t")
    assert header[:4] == ["idx", "label", "predict", "radius"]
