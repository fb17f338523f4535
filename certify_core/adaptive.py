"""CERTIFY with adaptive sampling: the fixed-n path's noise stream, read look by look.

Selection uses `n0` samples exactly as in fixed-n CERTIFY; estimation then
draws from the same noise stream up to each declared look, so with the same
seed the counts at a look equal the fixed-n counts for `n` = that look
(batch-size invariance carries over). The stopping rule is
`certify_core.sequential`.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from certify_core.base_classifier import BaseClassifier
from certify_core.sampling import CancelCheck, NoiseStream, sample_counts
from certify_core.sequential import LookOutcome, SequentialRule

LookCallback = Callable[[int, int], None]
SampleCallback = Callable[[int], None]


@dataclass(frozen=True)
class AdaptiveOutcome:
    """Selection, the estimation counts up to the look it stopped at, and that look's verdict."""

    label: int
    selection_counts: np.ndarray
    estimation_counts: np.ndarray
    stop: LookOutcome


def adaptive_certify(
    classifier: BaseClassifier,
    x: torch.Tensor,
    sigma: float,
    n0: int,
    rule: SequentialRule,
    batch_size: int,
    generator: torch.Generator,
    on_samples: SampleCallback | None = None,
    on_look: LookCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> AdaptiveOutcome:
    """Select a label with `n0` samples, then estimate look by look until `rule` stops.

    `on_look(looks_taken, looks_declared)` runs after every look.
    """
    center = classifier.noise_space(x)
    noise = NoiseStream(center.shape, generator, center.device)
    selection = sample_counts(classifier, center, n0, sigma, noise, batch_size, on_samples,
                              should_cancel)
    label = int(selection.argmax())
    estimation = np.zeros_like(selection)
    drawn = 0
    looks = rule.plan.looks
    for look, target in enumerate(looks):
        estimation = estimation + sample_counts(
            classifier, center, target - drawn, sigma, noise, batch_size, on_samples, should_cancel)
        drawn = target
        if on_look is not None:
            on_look(look + 1, len(looks))
        outcome = rule.at_look(look, int(estimation[label]))
        if outcome.stop is not None:
            return AdaptiveOutcome(label, selection, estimation, outcome)
    raise AssertionError("the rule always stops at the last look")
