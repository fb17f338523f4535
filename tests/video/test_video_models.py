"""Video models: torchvision video ResNets from a user's state_dict, the shipped model."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models import video as tv_video

from certify_core import CertifyOptions, certify, load_model
from certify_core.models import ModelManifest, Normalization, sha256_file
from certify_core.models.video_architectures import KINETICS_MEAN, KINETICS_STD
from certify_core.moving_fmnist import bounce_path, load_moving_fashion_mnist
from certify_core.video import DEFAULT_VIDEO_MODEL


@pytest.mark.slow  # two 30M-parameter networks built, saved, hashed and loaded
@pytest.mark.parametrize("arch", ["r3d_18", "r2plus1d_18"])
def test_torchvision_video_resnets_load_from_a_state_dict(tmp_path: Path, arch: str) -> None:
    torch.manual_seed(0)
    reference = getattr(tv_video, arch)(weights=None, num_classes=3).eval()
    torch.save(reference.state_dict(), tmp_path / "weights.pt")
    ModelManifest(
        f"user-{arch}", "state_dict", "weights.pt", (3, 4, 32, 32), ("a", "b", "c"), 0.25,
        architecture=arch, architecture_kwargs={"num_classes": 3},
        normalization=Normalization(KINETICS_MEAN, KINETICS_STD),
        sha256=sha256_file(tmp_path / "weights.pt"), kind="video",
    ).save(tmp_path)
    model = load_model(str(tmp_path))
    clip = torch.rand((2, 3, 4, 32, 32))
    mean = torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1, 1)
    std = torch.tensor(KINETICS_STD).view(1, 3, 1, 1, 1)
    with torch.inference_mode():
        torch.testing.assert_close(model.module(clip), reference((clip - mean) / std))
    options = CertifyOptions(method="smooth-reduce", n0=1, n=2, batch_size=6)
    cert = certify(model, torch.rand((3, 8, 32, 32)), options, seed=0)
    assert cert.geometry is not None and cert.geometry["starts"] == [0, 2, 4]


def test_moving_fashion_mnist_is_seeded_and_uses_the_test_split() -> None:
    first = load_moving_fashion_mnist("test", count=5, frames=6, seed=1)
    again = load_moving_fashion_mnist("test", count=5, frames=6, seed=1)
    np.testing.assert_array_equal(first.inputs, again.inputs)
    assert first.inputs.shape == (5, 1, 6, 36, 36) and first.inputs.dtype == np.uint8
    from certify_core.datasets import load_fashion_mnist

    items = load_fashion_mnist("test").inputs[:5, 0]
    for video, item in zip(first.inputs, items, strict=True):
        frame = video[0, 0]
        ys, xs = np.nonzero(frame)
        y, x = ys.min(), xs.min()
        window = frame[y:y + 28, x:x + 28]
        assert window.sum() == item.sum()  # the test item, whole, on a black canvas
    moved = [np.abs(v[0, 1:].astype(int) - v[0, :-1]).sum() > 0 for v in first.inputs]
    assert all(moved)
    assert list(bounce_path(3, 2, 6, 5)) == [3, 5, 3, 1, 1, 3]


def test_the_default_video_model_is_shipped_and_accurate() -> None:
    model = load_model(DEFAULT_VIDEO_MODEL)
    assert model.manifest.kind == "video" and model.input_shape == (1, 8, 36, 36)
    videos, labels = load_moving_fashion_mnist("test", count=200).tensors()
    with torch.inference_mode():
        whole = (model.module(videos).argmax(1) == labels).float().mean()
        clip = (model.module(videos[:, :, 4:12]).argmax(1) == labels).float().mean()
    assert whole > 0.65 and clip > 0.65  # 0.738 / 0.744 on 1000 test videos at training time
