"""CERTIFY and PREDICT for Cohen smoothing and Smooth-Reduce.

Guarantee (Cohen, Rosenfeld, Kolter 2019, Theorem 1 and Proposition 2): with
probability at least 1 - alpha over the sampling, a non-abstaining CERTIFY
returns the label the smoothed classifier `g(x) = argmax_c P(h(x + e) = c)`,
`e ~ N(0, sigma^2 I)`, predicts everywhere in the L2 ball of the returned
radius. With independent per-patch noise the ball is first found in the lifted
space and divided by a certified upper bound on the lift's norm.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from certify_contract.options import CertifyOptions
from certify_contract.results import (
    UNIT_RANGE,
    Certificate,
    CertifiedInput,
    DescribedInput,
    ModelRef,
    Prediction,
    TensorInput,
)
from certify_core.adaptive import LookCallback, adaptive_certify
from certify_core.arithmetic import resolve_arithmetic, runner
from certify_core.base_classifier import BaseClassifier
from certify_core.clips import ClipGeometry, clip_lift_norm
from certify_core.errors import InputShapeError
from certify_core.geometry import PatchGeometry
from certify_core.lift import LiftNorm, geometry_lift_norm
from certify_core.models.loading import LoadedModel
from certify_core.options import patch_geometry
from certify_core.sampling import CancelCheck, NoiseStream, sample_counts
from certify_core.sequential import RadiusScale, SequentialPlan, SequentialRule
from certify_core.statistics import certified_radius, clopper_pearson_lower, predict_p_value
from certify_core.video import video_geometry, video_input_shape

Progress = Callable[[int, int], None]
IDENTITY_LIFT = LiftNorm(1.0, 1.0, "identity")


@dataclass(frozen=True)
class SmoothingOutcome:
    """The raw result of Cohen's CERTIFY on any base classifier."""

    label: int
    n_a: int
    p_lower: float
    selection_counts: np.ndarray
    estimation_counts: np.ndarray


class _ProgressCounter:
    """Turns per-batch sample counts into (done, total) progress reports."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, 0, progress

    def __call__(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.done, self.total)


def smooth_certify(
    classifier: BaseClassifier,
    x: torch.Tensor,
    sigma: float,
    n0: int,
    n: int,
    alpha: float,
    batch_size: int,
    generator: torch.Generator,
    progress: Progress | None = None,
    should_cancel: CancelCheck | None = None,
) -> SmoothingOutcome:
    """Select a label with `n0` samples, then bound its probability with `n` fresh ones."""
    center = classifier.noise_space(x)
    noise = NoiseStream(center.shape, generator, center.device)
    advance = _ProgressCounter(n0 + n, progress)
    selection = sample_counts(classifier, center, n0, sigma, noise, batch_size, advance, should_cancel)
    label = int(selection.argmax())
    estimation = sample_counts(classifier, center, n, sigma, noise, batch_size, advance, should_cancel)
    n_a = int(estimation[label])
    return SmoothingOutcome(label, n_a, clopper_pearson_lower(n_a, n, alpha), selection, estimation)


def certified_input_shape(model: LoadedModel, options: CertifyOptions) -> tuple[int, ...]:
    """The shape of the tensor a certificate is about (video: the whole frame tensor)."""
    if model.manifest.kind == "video":
        return video_input_shape(model.input_shape, options)
    return tuple(model.input_shape)


def _check_input(x: torch.Tensor, model: LoadedModel, options: CertifyOptions) -> None:
    expected = certified_input_shape(model, options)
    if tuple(x.shape) != expected:
        raise InputShapeError(
            f"Expected an input of shape {expected} for model {model.name!r}, "
            f"got {tuple(x.shape)}."
        )
    if not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise InputShapeError("Expected finite input values in [0, 1].")


def build_classifier(model: LoadedModel, options: CertifyOptions) -> tuple[BaseClassifier, LiftNorm]:
    """The base classifier for `options`, and the lift norm its radius is divided by."""
    options.check_media(model.manifest.kind)
    geometry: PatchGeometry | ClipGeometry | None
    if model.manifest.kind == "video":
        geometry = video_geometry(model.input_shape, options)
    else:
        size = (model.input_shape[-2], model.input_shape[-1])
        geometry = patch_geometry(options, size, size)
    arithmetic = resolve_arithmetic(options, model)
    classifier = BaseClassifier(
        runner(model, arithmetic), model.num_classes, geometry, options.aggregate, options.scores,
        options.noise, arithmetic,
    )
    if geometry is None or options.noise == "shared":
        return classifier, IDENTITY_LIFT
    if isinstance(geometry, ClipGeometry):
        return classifier, clip_lift_norm(geometry)
    return classifier, geometry_lift_norm(geometry)


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def certify(
    model: LoadedModel,
    x: torch.Tensor,
    options: CertifyOptions,
    seed: int,
    progress: Progress | None = None,
    should_cancel: CancelCheck | None = None,
    described_input: DescribedInput | None = None,
    on_look: LookCallback | None = None,
) -> Certificate:
    """CERTIFY one input tensor (in [0, 1], the model's input shape).

    `described_input` says how an upload became `x` (recorded in the certificate);
    with adaptive sampling `on_look(looks_taken, looks_declared)` runs after each look.
    """
    start = time.perf_counter()
    classifier, lift = build_classifier(model, options)
    sigma = options.resolve_sigma(model.manifest.sigma, model.name)
    _check_input(x, model, options)
    centre_error = classifier.lifted_centre_error(x)
    generator = make_generator(seed, model.device)
    if options.sampling == "adaptive":
        scale = RadiusScale(sigma, lift.upper, centre_error)
        sampled = _sample_adaptive(classifier, x.to(model.device), options, scale, generator,
                                   progress, should_cancel, on_look)
    else:
        sampled = _sample_fixed(classifier, x.to(model.device), options, sigma, generator,
                                progress, should_cancel)
    outcome = sampled.outcome
    radius = certified_radius(outcome.p_lower, sigma, lift.upper, centre_error)
    abstained = radius is None
    smooth_reduce = options.method == "smooth-reduce"
    return Certificate(
        label=None if abstained else outcome.label,
        label_name=None if abstained else model.manifest.class_names[outcome.label],
        abstained=abstained,
        radius=radius,
        p_lower=outcome.p_lower,
        n_a=outcome.n_a,
        n=sampled.n,
        n0=options.n0,
        alpha=options.alpha,
        sigma=sigma,
        method=options.method,
        aggregate=options.aggregate if smooth_reduce else None,
        noise=options.noise if smooth_reduce else None,
        scores=options.scores if smooth_reduce else None,
        geometry=classifier.geometry.describe() if classifier.geometry is not None else None,
        lift_norm=lift.upper,
        lift_norm_method=lift.method,
        centre_error=centre_error,
        model=ModelRef(model.name, model.sha256, model.version),
        seed=seed,
        elapsed_s=time.perf_counter() - start,
        selection_counts=outcome.selection_counts.tolist(),
        estimation_counts=outcome.estimation_counts.tolist(),
        input=_certified_input(x, described_input),
        sampling=options.sampling,
        model_evaluations=(options.n0 + sampled.n) * classifier.evaluations_per_sample,
        precision=classifier.arithmetic.precision,
        compile=classifier.arithmetic.compile,
        forward_rows=classifier.arithmetic.forward_rows,
        **sampled.adaptive_fields,
    )


@dataclass(frozen=True)
class _Sampled:
    outcome: SmoothingOutcome
    n: int
    adaptive_fields: dict[str, Any]


def _sample_fixed(
    classifier: BaseClassifier, x: torch.Tensor, options: CertifyOptions, sigma: float,
    generator: torch.Generator, progress: Progress | None, should_cancel: CancelCheck | None,
) -> _Sampled:
    outcome = smooth_certify(
        classifier, x, sigma, options.n0, options.n, options.alpha, options.batch_size,
        generator, progress, should_cancel,
    )
    return _Sampled(outcome, options.n, {})


def _sample_adaptive(
    classifier: BaseClassifier, x: torch.Tensor, options: CertifyOptions, scale: RadiusScale,
    generator: torch.Generator, progress: Progress | None, should_cancel: CancelCheck | None,
    on_look: LookCallback | None,
) -> _Sampled:
    plan = SequentialPlan(options.look_plan(), options.alpha, options.futility_alpha_or_default,
                          options.sequential_or_default)
    rule = SequentialRule(plan, scale, options.radius, options.tolerance_or_default)
    rule.check_reachable()
    # The total is the most it may draw; it usually stops well before.
    counter = _ProgressCounter(options.n0 + plan.n_max, progress)
    result = adaptive_certify(classifier, x, scale.sigma, options.n0, rule, options.batch_size,
                              generator, counter, on_look, should_cancel)
    stop = result.stop
    outcome = SmoothingOutcome(result.label, stop.n_a, stop.p_lower, result.selection_counts,
                               result.estimation_counts)
    fields = {
        "n_max": plan.n_max, "looks": list(plan.looks), "sequential": plan.sequential,
        "alpha_per_look": list(plan.alphas) if plan.sequential == "group" else None,
        "futility_alpha": plan.futility_alpha, "looks_taken": stop.look + 1,
        "stop_reason": stop.stop, "radius_asked": options.radius,
        "certified_at_radius": stop.certified_at_radius,
        "tolerance": None if options.radius is not None else rule.tolerance,
    }
    return _Sampled(outcome, stop.n, fields)


def _certified_input(x: torch.Tensor, described: DescribedInput | None) -> CertifiedInput:
    if described is None:
        return TensorInput(list(x.shape), list(UNIT_RANGE))
    return replace(described, shape=list(x.shape), value_range=list(UNIT_RANGE))


def predict(
    model: LoadedModel,
    x: torch.Tensor,
    options: CertifyOptions,
    seed: int,
    progress: Progress | None = None,
    should_cancel: CancelCheck | None = None,
) -> Prediction:
    """PREDICT: the smoothed label from `n` samples, abstaining unless significant."""
    start = time.perf_counter()
    classifier, _ = build_classifier(model, options)
    sigma = options.resolve_sigma(model.manifest.sigma, model.name)
    _check_input(x, model, options)
    center = classifier.noise_space(x.to(model.device))
    noise = NoiseStream(center.shape, make_generator(seed, model.device), center.device)
    counts = sample_counts(
        classifier, center, options.n, sigma, noise, options.batch_size,
        _ProgressCounter(options.n, progress), should_cancel,
    )
    order = np.argsort(-counts, kind="stable")
    n1 = int(counts[order[0]])
    n2 = int(counts[order[1]]) if len(counts) > 1 else 0
    p_value = predict_p_value(n1, n2)
    abstained = p_value > options.alpha
    label = None if abstained else int(order[0])
    return Prediction(
        label=label,
        label_name=None if label is None else model.manifest.class_names[label],
        abstained=abstained,
        p_value=p_value,
        counts=counts.tolist(),
        n=options.n,
        alpha=options.alpha,
        sigma=sigma,
        method=options.method,
        model=ModelRef(model.name, model.sha256, model.version),
        seed=seed,
        elapsed_s=time.perf_counter() - start,
        precision=classifier.arithmetic.precision,
        compile=classifier.arithmetic.compile,
    )
