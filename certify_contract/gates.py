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
