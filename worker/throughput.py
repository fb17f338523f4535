"""The passes per second this worker achieves, per model and arithmetic, for its presence.

A pass is one noisy input through the base model (certify_contract.throughput).
Each (model, precision, compile) keeps two exponentially decayed sums, of
passes and of sampling seconds; the rate is their ratio. Seeded by the
warm-up's timed passes, then every finished job adds its certificate's
`model_evaluations` and `elapsed_s` after the sums decay by `DECAY`. A ratio of
sums weighs each job by its duration: a one-sample job, mostly fixed overhead,
barely moves the rate that a long job's estimate needs, while a run of long
jobs replaces a stale figure within a few jobs (after m jobs the older
evidence keeps DECAY**m of its weight).

Read by the presence thread while the job thread writes: a lock guards the sums.
"""

import threading
from dataclasses import dataclass
from typing import Any

# Weight the older evidence keeps at each new job: 0.5 after three jobs.
DECAY = 0.8


@dataclass
class PassRate:
    """Decayed sums of passes and of the seconds they took."""

    passes: float = 0.0
    seconds: float = 0.0
    jobs: int = 0

    def add(self, passes: int, seconds: float, decay: float = DECAY) -> None:
        self.passes = decay * self.passes + passes
        self.seconds = decay * self.seconds + seconds

    @property
    def passes_per_s(self) -> float | None:
        return self.passes / self.seconds if self.seconds > 0 and self.passes > 0 else None


class Throughputs:
    """Every measured (model, precision, compile) of this worker."""

    def __init__(self) -> None:
        self._rates: dict[tuple[str, str, str], PassRate] = {}
        self._lock = threading.Lock()

    def warmed_up(self, model: str, precision: str, compile_mode: str, passes: int,
                  seconds: float) -> None:
        """The warm-up's timed passes: the first figure, before any job."""
        with self._lock:
            self._rates.setdefault((model, precision, compile_mode), PassRate()).add(
                passes, seconds, decay=0.0)

    def job_ended(self, model: str, precision: str, compile_mode: str, passes: int,
                  seconds: float) -> None:
        """A finished job's passes (`model_evaluations`) and sampling seconds (`elapsed_s`)."""
        if passes <= 0 or seconds <= 0:
            return
        with self._lock:
            rate = self._rates.setdefault((model, precision, compile_mode), PassRate())
            rate.add(passes, seconds)
            rate.jobs += 1

    def of_model(self, model: str) -> list[dict[str, Any]]:
        """The presence document's `measured` list of one model."""
        with self._lock:
            rates = [(key, rate.passes_per_s, rate.jobs) for key, rate in self._rates.items()
                     if key[0] == model]
        return [{"precision": precision, "compile": compile_mode,
                 "passes_per_s": round(per_s, 1), "jobs": jobs}
                for (_, precision, compile_mode), per_s, jobs in rates if per_s is not None]
