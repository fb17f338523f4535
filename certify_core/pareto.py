"""Fixed n against adaptive sampling at every budget, from one noise stream per image.

Adaptive sampling reads the fixed-n noise stream look by look (certify_core.adaptive):
with the same seed, the estimation counts at a look equal the fixed-n counts for n =
that look. So one pass per image that records the selected label and the running
count of its votes at every sample size any rule would stop at (`checkpoints`) holds
everything needed to say, exactly, what fixed n and each adaptive rule would certify
at each budget and radius, and how many passes each would spend. `replay_fixed` and
`replay_decision` apply the library's own bound and stopping rule to those counts
(tests/core/test_pareto.py checks them against `certify` itself).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from certify_contract.options import DEFAULT_CS_LOOKS, DEFAULT_LOOKS, CertifyOptions, Sequential
from certify_core.certifier import build_classifier, make_generator
from certify_core.errors import InvalidOptionError
from certify_core.models.loading import LoadedModel
from certify_core.sampling import NoiseStream, sample_counts
from certify_core.sequential import RadiusScale, SequentialPlan, SequentialRule
from certify_core.statistics import certified_radius, clopper_pearson_lower

RULES: tuple[Sequential, ...] = ("group", "cs")


def checkpoints(budgets: Iterable[int]) -> list[int]:
    """Every sample count a fixed run or an adaptive run with n_max in `budgets` can stop at."""
    points: set[int] = set()
    for budget in budgets:
        points.add(budget)
        for looks in (DEFAULT_LOOKS, DEFAULT_CS_LOOKS):
            points.update(look for look in looks if look < budget)
    return sorted(points)


@dataclass(frozen=True)
class ImageCounts:
    """One image's selection and the running votes for the selected label at each checkpoint."""

    idx: int
    label: int  # the true label
    selected: int  # the label the n0 selection samples chose
    votes: dict[int, int]  # checkpoint -> votes for `selected` among that many estimation samples
    centre_error: float


def sample_image(model: LoadedModel, x: torch.Tensor, idx: int, label: int, n0: int,
                 points: Sequence[int], seed: int, batch_size: int = 1000) -> ImageCounts:
    """One pass over the noise stream `certify(..., seed=seed)` reads, recorded at `points`."""
    options = CertifyOptions(n0=n0, n=max(points), batch_size=batch_size)
    classifier, _ = build_classifier(model, options)
    sigma = options.resolve_sigma(model.manifest.sigma, model.name)
    generator = make_generator(seed, model.device)
    x = x.to(model.device)
    centre_error = classifier.lifted_centre_error(x)
    center = classifier.noise_space(x)
    noise = NoiseStream(center.shape, generator, center.device)
    selection = sample_counts(classifier, center, n0, sigma, noise, batch_size)
    selected = int(selection.argmax())
    votes, total, drawn = {}, 0, 0
    for point in points:
        counts = sample_counts(classifier, center, point - drawn, sigma, noise, batch_size)
        total += int(counts[selected])
        drawn = point
        votes[point] = total
    return ImageCounts(idx, label, selected, votes, centre_error)


@dataclass(frozen=True)
class Replayed:
    """What one rule does on one image at one budget and radius."""

    certified: bool  # the true label, certified at the radius
    samples: int  # n0 + estimation samples drawn (0 when refused before sampling)


def replay_fixed(image: ImageCounts, budget: int, radius: float, sigma: float, alpha: float,
                 n0: int) -> Replayed:
    """Fixed-n CERTIFY with n = `budget`: certified when its reported radius is >= `radius`."""
    p_lower = clopper_pearson_lower(image.votes[budget], budget, alpha)
    reported = certified_radius(p_lower, sigma, 1.0, image.centre_error)
    correct = image.selected == image.label
    return Replayed(correct and reported is not None and reported >= radius, n0 + budget)


def replay_decision(image: ImageCounts, budget: int, radius: float, sigma: float, alpha: float,
                    n0: int, sequential: Sequential) -> Replayed:
    """Decision-mode adaptive sampling with n_max = `budget`, stopped by the library's rule.

    A radius that `budget` samples can never certify is refused before any sampling
    (as the service and the CLI refuse it): nothing certified, nothing spent.
    """
    options = CertifyOptions(n0=n0, n=budget, alpha=alpha, sampling="adaptive", radius=radius,
                             sequential=sequential)
    plan = SequentialPlan(options.look_plan(), alpha, options.futility_alpha_or_default,
                          sequential)
    rule = SequentialRule(plan, RadiusScale(sigma, 1.0, image.centre_error), radius,
                          options.tolerance_or_default)
    try:
        rule.check_reachable()
    except InvalidOptionError:
        return Replayed(False, 0)
    for look, n in enumerate(plan.looks):
        outcome = rule.at_look(look, image.votes[n])
        if outcome.stop is not None:
            certified = bool(outcome.certified_at_radius) and image.selected == image.label
            return Replayed(certified, n0 + n)
    raise AssertionError("the rule always stops at the last look")
