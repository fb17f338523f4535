"""A small random-weight model directory, so service tests do not depend on the zoo."""

from pathlib import Path

import torch

from certify_core.models.architectures import fmnist_cnn
from certify_core.models.manifest import ModelManifest
from certify_core.models.video_architectures import moving_fmnist_c2d

TEST_MODEL = "test-cnn"
TEST_VIDEO_MODEL = "test-video"
VIDEO_CLIP = (1, 4, 28, 28)
CLASS_NAMES = tuple(f"class-{i}" for i in range(10))


def write_test_model(root: Path, name: str = TEST_MODEL,
                     class_names: tuple[str, ...] = CLASS_NAMES) -> Path:
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(fmnist_cnn().state_dict(), directory / "weights.pt")
    ModelManifest(
        name=name, format="state_dict", weights="weights.pt", input_shape=(1, 28, 28),
        class_names=class_names, sigma=0.25, architecture="fmnist_cnn",
    ).save(directory)
    return root


def write_test_video_model(root: Path, name: str = TEST_VIDEO_MODEL) -> Path:
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(moving_fmnist_c2d(width=8).state_dict(), directory / "weights.pt")
    ModelManifest(
        name=name, format="state_dict", weights="weights.pt", input_shape=VIDEO_CLIP,
        class_names=CLASS_NAMES, sigma=0.25, architecture="moving_fmnist_c2d",
        architecture_kwargs={"width": 8}, kind="video",
    ).save(directory)
    return root
