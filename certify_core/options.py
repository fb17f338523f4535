"""Certification options, validated in one place with precise messages."""

from dataclasses import asdict, dataclass
from typing import Any, Literal

from certify_core.base_classifier import Aggregate, NoiseMode, Scores
from certify_core.errors import InvalidOptionError
from certify_core.geometry import (
    PatchGeometry,
    Size,
    default_resize,
    grid_geometry,
    random_geometry,
)
from certify_core.statistics import validate_alpha

Method = Literal["cohen", "smooth-reduce"]
METHODS: tuple[str, ...] = ("cohen", "smooth-reduce")
AGGREGATES: tuple[str, ...] = ("mean", "max")
NOISE_MODES: tuple[str, ...] = ("shared", "independent")
SCORES: tuple[str, ...] = ("softmax", "logits")
DEFAULT_STRIDE = 2
_GEOMETRY_FIELDS = ("resize", "patch_size", "patches", "stride")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidOptionError(f"Expected `{name}` in {list(choices)}, got {value!r}.")


def _check_int(name: str, value: int | None, minimum: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidOptionError(f"Expected `{name}` to be an integer >= {minimum}, got {value!r}.")


@dataclass(frozen=True)
class CertifyOptions:
    """What to certify and how; `sigma=None` means the model's training sigma.

    Defaults follow the reference certifier (n0=100, n=100000, alpha=0.001).
    `batch_size` counts model evaluations per forward pass (samples x patches).
    For video models a patch is a clip: `patch_size` is the clip length and
    `frames` the length of the certified frame tensor (see `certify_core.video`).
    """

    method: Method = "cohen"
    aggregate: Aggregate = "mean"
    noise: NoiseMode = "shared"
    scores: Scores = "softmax"
    sigma: float | None = None
    n0: int = 100
    n: int = 100_000
    alpha: float = 0.001
    batch_size: int = 1000
    resize: int | None = None
    patch_size: int | None = None
    patches: int | None = None
    stride: int | None = None
    patch_seed: int = 0
    frames: int | None = None

    def validate(self) -> None:
        _check_choice("method", self.method, METHODS)
        _check_choice("aggregate", self.aggregate, AGGREGATES)
        _check_choice("noise", self.noise, NOISE_MODES)
        _check_choice("scores", self.scores, SCORES)
        if self.sigma is not None and not (
            isinstance(self.sigma, int | float) and 0 < self.sigma <= 10
        ):
            raise InvalidOptionError(f"Expected `sigma` in (0, 10], got {self.sigma}.")
        _check_int("n0", self.n0, 1)
        _check_int("n", self.n, 1)
        _check_int("batch_size", self.batch_size, 1)
        for name in _GEOMETRY_FIELDS:
            _check_int(name, getattr(self, name), 1)
        _check_int("patch_seed", self.patch_seed, 0)
        _check_int("frames", self.frames, 1)
        validate_alpha(self.alpha)
        if self.patches is not None and self.stride is not None:
            raise InvalidOptionError("Give either `patches` (random offsets) or `stride` (grid), not both.")
        if self.method == "cohen":
            given = [name for name in _GEOMETRY_FIELDS if getattr(self, name) is not None]
            if given:
                raise InvalidOptionError(
                    f"Options {given} apply to method 'smooth-reduce' only, not 'cohen'."
                )

    def geometry(self, input_size: Size, model_size: Size) -> PatchGeometry | None:
        """The patch geometry for an input of `input_size` (None for Cohen)."""
        self.validate()
        if self.method == "cohen":
            return None
        resize = (self.resize, self.resize) if self.resize is not None else default_resize(input_size)
        patch: Size = (
            (self.patch_size, self.patch_size)
            if self.patch_size is not None
            else (min(model_size[0], resize[0]), min(model_size[1], resize[1]))
        )
        if self.patches is not None:
            return random_geometry(input_size, model_size, resize, patch, self.patches, self.patch_seed)
        return grid_geometry(input_size, model_size, resize, patch, self.stride or DEFAULT_STRIDE)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
