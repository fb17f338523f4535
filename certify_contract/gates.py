"""The verdict of a release gate: is a model's certified accuracy at radius R at least A?"""

from dataclasses import dataclass
from typing import ClassVar, Literal

from certify_contract.records import RECORD_CONFIG

GateOutcome = Literal["pass", "fail", "undecided"]
GATE_OUTCOMES: tuple[GateOutcome, ...] = ("pass", "fail", "undecided")


@dataclass(frozen=True, kw_only=True)
class GateVerdict:
    """Where a gate stopped and what it showed (docs/MATH.md, "Release gates")."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    verdict: GateOutcome
    """`pass`: certified accuracy >= `min_accuracy` is shown at confidence `confidence`;
    `fail`: not shown, and the images seen make a pass unlikely; `undecided`: the set ran out."""
    radius: float
    """The L2 radius R the accuracy is certified at."""
    min_accuracy: float
    """The threshold A."""
    confidence: float
    """1 - delta: the probability that a `pass` is right, over the image order and the sampling."""
    alpha: float
    """Per-image alpha of each certificate (a false certificate has probability <= alpha)."""
    accuracy_lower: float
    """`q_lower - alpha`: the lower confidence bound on the certified accuracy at the stop."""
    q_lower: float
    """Clopper-Pearson lower bound on P(certified correct) at the stopping look's delta."""
    q_upper: float
    """Clopper-Pearson upper bound on P(certified correct) at the stopping look's delta."""
    images: int
    """Images certified before the stop."""
    certified: int
    """Of those, images certified correct at `radius`."""
    model_evaluations: int
    """Base-model evaluations (selection and estimation samples, times patches) spent on them."""
    looks: tuple[int, ...]
    """Images at each look, declared before the first image."""
    looks_taken: int
    """Looks reached (1-based index of the look where the gate stopped)."""
    set_size: int
    """Images in the data set the gate drew from."""

    def line(self) -> str:
        """One human line, as `certify gate` prints it."""
        return (f"{self.verdict}: certified accuracy at R={self.radius:g} >= "
                f"{self.accuracy_lower:.4f} at {self.confidence:g} confidence (threshold "
                f"{self.min_accuracy:g}); {self.certified}/{self.images} images certified correct, "
                f"{self.model_evaluations} model evaluations, look {self.looks_taken}/{len(self.looks)}")


GateState = Literal["running", "ended", "canceled"]


@dataclass(frozen=True, kw_only=True)
class GateLook:
    """One declared look: its images and, once reached, what they showed."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    images: int
    """Images drawn by this look (cumulative, declared before the first image)."""
    ended: int = 0
    """Of this look's wave, images whose job has ended."""
    certified: int = 0
    """Images certified correct at R so far (cumulative)."""
    pass_from: int
    """The least cumulative count that passes at this look (`images + 1`: none can)."""
    fail_upto: int
    """The greatest cumulative count that fails at this look (-1: none can)."""


@dataclass(frozen=True, kw_only=True)
class GateView:
    """A release gate run by the service: its request, its progress over looks, its verdict."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    gate_id: str
    state: GateState
    """`running` until the verdict (`ended`) or a DELETE (`canceled`)."""
    model: str
    """The model's name as the workers serve it."""
    model_sha256: str | None = None
    """Hash of the model's weights at submission."""
    created_at: str
    ended_at: str | None = None
    radius: float
    min_accuracy: float
    confidence: float
    alpha: float
    n: int
    """Per-image estimation samples at most (decision mode stops earlier)."""
    n0: int
    set_size: int
    """Images in the data set."""
    order_seed: int
    """Seed of the image order (drawn by the server): `random.Random(seed).shuffle`."""
    look: int
    """The look now running (1-based; the stopping look once ended)."""
    looks: list[GateLook]
    images: int
    """Images whose job has ended."""
    certified: int
    """Of those, certified correct at R."""
    model_evaluations: int
    """Base-model evaluations spent so far."""
    jobs_canceled: int = 0
    """Jobs canceled because the gate no longer needed them."""
    verdict: GateVerdict | None = None

    @property
    def ended(self) -> bool:
        return self.state != "running"

    @property
    def status(self) -> str:
        return self.state


@dataclass(frozen=True, kw_only=True)
class GateList:
    """One page of the caller's gates, newest first."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    gates: list[GateView]
    offset: int
    limit: int
    next_offset: int | None = None
