"""Certificates are reproducible: a fixed seed gives the same votes, release after release.

The counts below were recorded before the option, result and decoding code
was restructured; any change to sampling order, noise draws, patch layout or
decoding shows up here as a changed vote.
"""

from pathlib import Path

import pytest
import torch

from certify_core import CertifyOptions, certify, load_model
from certify_media import decode_image

SAMPLE = Path(__file__).resolve().parents[2] / "certify_core" / "samples" / "fmnist-ankle-boot.png"
CPU = torch.device("cpu")

IMAGE_CASES = [
    (CertifyOptions(n0=20, n=300, batch_size=64),
     9, [0] * 9 + [20], [0, 0, 0, 0, 0, 1, 0, 0, 0, 299]),
    (CertifyOptions(method="smooth-reduce", noise="independent", aggregate="max", patches=4,
                    n0=10, n=120, batch_size=50),
     9, [0] * 9 + [10], [0] * 9 + [120]),
    (CertifyOptions(method="smooth-reduce", sigma=0.5, stride=2, n0=10, n=100, batch_size=90),
     None, [0, 0, 0, 0, 0, 0, 0, 0, 3, 7], [0, 0, 0, 0, 0, 32, 0, 6, 18, 44]),
]


@pytest.mark.parametrize(("options", "label", "selection", "estimation"), IMAGE_CASES)
def test_image_counts_for_a_fixed_seed(
    options: CertifyOptions, label: int | None, selection: list[int], estimation: list[int]
) -> None:
    model = load_model("fmnist-cnn-s025", CPU)
    x = torch.from_numpy(decode_image(SAMPLE.read_bytes(), (1, 28, 28)).array)
    cert = certify(model, x, options, seed=2024)
    assert (cert.label, cert.selection_counts, cert.estimation_counts) == (
        label, selection, estimation)
    assert cert.n_a == max(estimation)


def test_video_counts_for_a_fixed_seed() -> None:
    model = load_model("moving-fmnist-c2d-s025", CPU)
    frames = torch.rand((1, 16, 36, 36), generator=torch.Generator().manual_seed(0))
    options = CertifyOptions(method="smooth-reduce", noise="independent", n0=10, n=60,
                             batch_size=30)
    cert = certify(model, frames, options, seed=7)
    assert cert.label == 2 and cert.n_a == 59
    assert cert.selection_counts == [0, 0, 10, 0, 0, 0, 0, 0, 0, 0]
    assert cert.estimation_counts == [1, 0, 59, 0, 0, 0, 0, 0, 0, 0]
