"""Frozen result records: everything needed to re-check a certificate."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelRef:
    name: str
    sha256: str


@dataclass(frozen=True)
class Certificate:
    """The smoothed classifier's prediction and a certified L2 radius.

    Guarantee: with probability at least `1 - alpha` over the certifier's own
    sampling, if `abstained` is False then the smoothed classifier predicts
    `label` at every input within L2 distance `radius` of the certified input
    (the tensor described by `input`, in [0, 1] pixel space).
    `selection_counts` are the per-class votes of the `n0` samples that chose
    the label; `estimation_counts` those of the `n` fresh samples behind
    `n_a` and `p_lower`. With independent noise the radius is
    `(sigma * Phi^-1(p_lower) - centre_error) / lift_norm`, where
    `centre_error` bounds how far the float32 lifted centre the noise was
    added to lies from the exact lifted input (0 otherwise).
    """

    label: int | None
    label_name: str | None
    abstained: bool
    radius: float | None
    p_lower: float
    n_a: int
    n: int
    n0: int
    alpha: float
    sigma: float
    method: str
    aggregate: str | None
    noise: str | None
    scores: str | None
    geometry: dict[str, Any] | None
    lift_norm: float
    lift_norm_method: str
    centre_error: float
    model: ModelRef
    seed: int
    elapsed_s: float
    selection_counts: list[int]
    estimation_counts: list[int]
    input: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Prediction:
    """PREDICT: the smoothed classifier's label, or an abstention.

    With probability at least `1 - alpha` the returned label, when not
    abstaining, is the smoothed classifier's prediction.
    """

    label: int | None
    label_name: str | None
    abstained: bool
    p_value: float
    counts: list[int]
    n: int
    alpha: float
    sigma: float
    method: str
    model: ModelRef
    seed: int
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
