"""Certification options, each defined once: type, default, bounds, help and rules.

To add an option, add a field here: the API form (with the service's caps on
top), the command-line flags of `local`, `evaluate` and `submit`, and the
checks all follow from it. Rules between options live in `__post_init__`,
so an invalid `CertifyOptions` cannot be constructed.
"""

import itertools
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from certify_contract.errors import InvalidOptionError
from certify_contract.option_spec import MediaKind, OptionSpec, option, option_specs

Method = Literal["cohen", "smooth-reduce"]
Aggregate = Literal["mean", "max"]
NoiseMode = Literal["shared", "independent"]
Scores = Literal["softmax", "logits"]
Sampling = Literal["fixed", "adaptive"]
Sequential = Literal["group", "cs"]
Precision = Literal["fp32", "bf16", "fp16"]
# "off", or a torch.compile mode; the compiled model is part of the classifier that is certified.
CompileMode = Literal["off", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"]
SMOOTH_REDUCE = ("method", "smooth-reduce")
ADAPTIVE = ("sampling", "adaptive")
# The group-sequential looks used when none are given, truncated below `n` (then `n` itself).
DEFAULT_LOOKS = (500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
# A confidence sequence spends nothing per look, so by default it looks often (`sequential` cs).
DEFAULT_CS_LOOKS = (100, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000, 7_000, 10_000,
                    15_000, 20_000, 30_000, 50_000, 70_000, 100_000)
MAX_LOOKS = 40
# What an unset `tolerance` and `futility_alpha` mean; the certifier reads them from here.
DEFAULT_TOLERANCE = 0.01
DEFAULT_FUTILITY_ALPHA = 0.001


@dataclass(frozen=True)
class CertifyOptions:
    """What to certify and how; defaults follow the reference certifier (n0=100, n=100000, alpha=0.001).

    For video models a patch is a clip: `patch_size` is the clip length and
    `frames` the length of the certified frame tensor.
    """

    method: Method = option("cohen", "plain randomized smoothing (cohen) or Smooth-Reduce "
                            "over patches (smooth-reduce)")
    aggregate: Aggregate = option("mean", "Smooth-Reduce: combine the patches' scores by mean "
                                  "or max")
    noise: NoiseMode = option("shared", "Smooth-Reduce: one noise draw for all patches "
                              "(shared), or one per patch (independent)")
    scores: Scores = option("softmax", "Smooth-Reduce: aggregate per-patch softmax or raw logits")
    # Below a quarter of one 8-bit grey level noise is meaningless (and subnormal sigmas
    # overflow the radius arithmetic), so the floor is 0.001, not merely above 0.
    sigma: float | None = option(None, "noise level, in [0, 1] pixel units", at_least=0.001,
                                 at_most=10, default_text="the model's training sigma")
    n0: int = option(100, "selection samples: the noisy draws that choose the label", at_least=1)
    n: int = option(100_000, "estimation samples: the fresh draws that bound the label's "
                    "probability", at_least=1)
    alpha: float = option(0.001, "failure probability of the certificate", at_least=1e-12,
                          below=1)
    batch_size: int = option(1000, "model evaluations per forward pass (samples x patches)",
                             at_least=1)
    precision: Precision | None = option(None, "arithmetic of the base model: fp32, or bf16 / fp16 "
                                         "autocast (fp16 on CUDA only); part of the classifier "
                                         "certified", default_text="the model's manifest, else fp32")
    compile: CompileMode | None = option(None, "run the base model through torch.compile in this "
                                         "mode (off: eager); part of the classifier certified",
                                         default_text="the model's manifest, else off")
    resize: int | None = option(None, "Smooth-Reduce: resize the image to S x S before cutting "
                                "patches", at_least=1, default_text="4 pixels larger than the input",
                                when=SMOOTH_REDUCE, media="image")
    patch_size: int | None = option(None, "Smooth-Reduce: patch size D (video: the clip length)",
                                    at_least=1, default_text="the model's input size or clip",
                                    when=SMOOTH_REDUCE)
    patches: int | None = option(None, "Smooth-Reduce: K patches at seeded random offsets",
                                 at_least=1, default_text="a grid, see stride", when=SMOOTH_REDUCE)
    stride: int | None = option(None, "Smooth-Reduce: a grid of patches with this stride",
                                at_least=1, default_text="2; video: half the clip length",
                                when=SMOOTH_REDUCE)
    patch_seed: int = option(0, "seed of the random patch offsets (with patches)", at_least=0)
    frames: int | None = option(None, "video: frames T in the certified tensor", at_least=1,
                                default_text="twice the model's clip length", media="video")
    sampling: Sampling = option("fixed", "fixed: exactly n estimation samples; adaptive: stop at "
                                "the first pre-declared look where the evidence is enough (n is "
                                "then the maximum)", default_text="fixed; adaptive when a radius "
                                "is given")
    # Decision mode is adaptive by nature, so a radius alone selects it (`__post_init__`).
    radius: float | None = option(None, "decision mode: only ask whether the input is certified "
                                  "at this L2 radius (selects adaptive sampling)", above=0,
                                  default_text="none: estimate the largest radius")
    looks: str | None = option(None, "adaptive: increasing sample counts, comma-separated, at "
                               "which to look (fixed before sampling; n is the last)",
                               default_text=",".join(map(str, DEFAULT_LOOKS)) + " below n",
                               when=ADAPTIVE)
    tolerance: float | None = option(None, "adaptive estimation: stop once the radius can grow "
                                     "by at most this fraction of sigma", above=0, at_most=1,
                                     default_text=f"{DEFAULT_TOLERANCE:g}", when=ADAPTIVE)
    futility_alpha: float | None = option(None, "adaptive: error budget of the early stops that "
                                          "claim nothing (futility, abstention)", above=0,
                                          below=1, default_text=f"{DEFAULT_FUTILITY_ALPHA:g}",
                                          when=ADAPTIVE)
    sequential: Sequential | None = option(None, "adaptive: the stopping rule: group (the looks "
                                           "split alpha) or cs (a confidence sequence at the full "
                                           "alpha, valid at every look at once; looks every "
                                           "100 to 30,000 samples by default)",
                                           default_text="group", when=ADAPTIVE)

    def __post_init__(self) -> None:
        if self.radius is not None and self.sampling == "fixed":
            object.__setattr__(self, "sampling", "adaptive")
        for spec in OPTION_SPECS:
            spec.check(getattr(self, spec.name))
        if self.patches is not None and self.stride is not None:
            raise InvalidOptionError("Give either `patches` (random offsets) or `stride` (grid), not both.",
                                     "stride")
        for (name, value), members in _CONDITIONAL.items():
            given = [member for member in members if getattr(self, member) is not None]
            if given and getattr(self, name) != value:
                raise InvalidOptionError(
                    f"Options {given} apply to {name} {value!r} only, not {getattr(self, name)!r}.",
                    given[0])
        if self.looks is not None:
            first = parse_looks(self.looks)[0]
            if self.n < first:
                raise InvalidOptionError(
                    f"Expected `n` (the largest sample count) >= the first look {first}, "
                    f"got {self.n}.", "n")

    def look_plan(self) -> tuple[int, ...]:
        """The estimation sample counts of adaptive sampling: the looks below `n`, then `n`."""
        default = DEFAULT_CS_LOOKS if self.sequential == "cs" else DEFAULT_LOOKS
        looks = parse_looks(self.looks) if self.looks is not None else default
        return (*[look for look in looks if look < self.n], self.n)

    @property
    def sequential_or_default(self) -> Sequential:
        return self.sequential if self.sequential is not None else "group"

    @property
    def tolerance_or_default(self) -> float:
        return self.tolerance if self.tolerance is not None else DEFAULT_TOLERANCE

    @property
    def futility_alpha_or_default(self) -> float:
        return self.futility_alpha if self.futility_alpha is not None else DEFAULT_FUTILITY_ALPHA

    def resolve_sigma(self, model_sigma: float | None, model_name: str) -> float:
        """The noise level to certify with: `sigma`, else the model's training sigma.

        The one place that refuses a job with neither; the API asks it before
        queueing and the certifier before sampling.
        """
        sigma = self.sigma if self.sigma is not None else model_sigma
        if sigma is None:
            raise InvalidOptionError(
                f"Model {model_name!r} records no training sigma; give `sigma` explicitly.", "sigma")
        return float(sigma)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "CertifyOptions":
        """Options from JSON or form values; unknown names are refused, not ignored."""
        unknown = sorted(set(values) - set(OPTION_NAMES))
        if unknown:
            raise InvalidOptionError(f"Unknown options {unknown}; the options are {list(OPTION_NAMES)}.",
                                     unknown[0])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check_media(self, kind: MediaKind) -> None:
        """Refuse options that apply to the other kind of media (`frames` on an image model)."""
        for spec in OPTION_SPECS:
            if spec.meta.media not in (None, kind) and getattr(self, spec.name) is not None:
                raise InvalidOptionError(
                    f"Option `{spec.name}` applies to {spec.meta.media} models only.", spec.name)


def parse_looks(text: str) -> tuple[int, ...]:
    """`"500,1000,5000"` as a strictly increasing tuple of positive integers, or a clear error."""
    parts = [part.strip() for part in text.split(",")]
    if not 1 <= len(parts) <= MAX_LOOKS or not all(part.isdigit() for part in parts):
        raise InvalidOptionError(
            f"Expected `looks` as 1 to {MAX_LOOKS} positive integers separated by commas, "
            f"got {text[:100]!r}.", "looks")
    return check_looks(tuple(int(part) for part in parts), text)


def check_looks(looks: tuple[int, ...], given: object = None) -> tuple[int, ...]:
    """`looks` if they are strictly increasing and >= 1 (the certifier's plan checks the same);
    `given` is what the caller typed, for the message."""
    if not looks or looks[0] < 1 or any(
            later <= earlier for earlier, later in itertools.pairwise(looks)):
        shown = given if given is not None else looks
        raise InvalidOptionError(f"Expected `looks` strictly increasing and >= 1, got {shown!r}.",
                                 "looks")
    return looks


OPTION_SPECS: tuple[OptionSpec, ...] = option_specs(CertifyOptions)
OPTION_NAMES: tuple[str, ...] = tuple(spec.name for spec in OPTION_SPECS)


def _conditional() -> dict[tuple[str, str], list[str]]:
    """Options that apply only under a condition, grouped by that condition."""
    groups: dict[tuple[str, str], list[str]] = {}
    for spec in OPTION_SPECS:
        if spec.meta.when is not None:
            groups.setdefault(spec.meta.when, []).append(spec.name)
    return groups


_CONDITIONAL = _conditional()
