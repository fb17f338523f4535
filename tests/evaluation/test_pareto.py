"""The Pareto replay says exactly what `certify` itself does, fixed and adaptive, image by image."""

import pytest

from certify_contract import CertifyOptions
from certify_core.certifier import certify
from certify_core.datasets import FASHION_MNIST_DIR, load_fashion_mnist
from certify_core.models import load_model
from certify_core.pareto import checkpoints, replay_decision, replay_fixed, sample_image

pytestmark = pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(),
                                reason="apt-get install -y dataset-fashion-mnist")
SIGMA, ALPHA, N0, BUDGET = 0.25, 0.001, 100, 1000


def test_checkpoints_hold_every_look_of_every_rule_below_each_budget() -> None:
    points = checkpoints([300, 1000])
    assert {100, 200, 300, 500, 700, 1000} <= set(points)
    assert max(points) == 1000 and points == sorted(set(points))


# 0: right and certified at 0.5; 12 and 23: wrong labels (23 with a radius above 0.5)
@pytest.mark.parametrize("idx", [0, 12, 23])
def test_replay_matches_certify_for_fixed_n_and_both_adaptive_rules(idx: int) -> None:
    model = load_model("fmnist-cnn-s025")
    x, label = load_fashion_mnist("test").tensors(idx, idx + 1)
    image = sample_image(model, x[0], idx, int(label[0]), N0, checkpoints([BUDGET]), seed=idx)
    fixed = certify(model, x[0], CertifyOptions(n0=N0, n=BUDGET, alpha=ALPHA), seed=idx)
    assert fixed.n_a == image.votes[BUDGET]
    for radius in (0.25, 0.5):
        replayed = replay_fixed(image, BUDGET, radius, SIGMA, ALPHA, N0)
        assert replayed.certified == (fixed.label == int(label[0]) and (fixed.radius or 0) >= radius)
        for rule in ("group", "cs"):
            options = CertifyOptions(n0=N0, n=BUDGET, alpha=ALPHA, sampling="adaptive",
                                     radius=radius, sequential=rule)
            adaptive = certify(model, x[0], options, seed=idx)
            replayed = replay_decision(image, BUDGET, radius, SIGMA, ALPHA, N0, rule)
            assert replayed.samples == N0 + adaptive.n, (radius, rule)
            assert replayed.certified == (bool(adaptive.certified_at_radius)
                                          and adaptive.label == int(label[0])), (radius, rule)


def test_an_unreachable_radius_is_refused_before_sampling() -> None:
    model = load_model("fmnist-cnn-s025")
    x, label = load_fashion_mnist("test").tensors(0, 1)
    image = sample_image(model, x[0], 0, int(label[0]), N0, checkpoints([100]), seed=0)
    refused = replay_decision(image, 100, 1.0, SIGMA, ALPHA, N0, "group")
    assert (refused.certified, refused.samples) == (False, 0)
