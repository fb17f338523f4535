"""Images a release gate needs when the threshold is 2, 5 or 10 points below the truth.

A simulation, not a model run: each image is certified correct with probability q
(the stream the gate sees), for 20,000 gates per case with a fixed seed, on a set of
10,000 images with the default looks, confidence 0.99 and per-image alpha 0.001.
Prints, per gap, the pass rate and the median and 90th percentile of images used.

    .venv/bin/python scripts/gate_simulation.py
"""

import numpy as np

from certify_core.gate import PASS, GateRule, gate_looks

GATES, SET_SIZE, Q = 20_000, 10_000, 0.75


def main() -> None:
    looks = gate_looks(SET_SIZE)
    rng = np.random.default_rng(0)
    steps = np.diff((0, *looks))
    counts = np.cumsum(np.stack([rng.binomial(s, Q, size=GATES) for s in steps], axis=1), axis=1)
    print(f"q = {Q} (rate of correct certificates), {GATES} gates, looks {looks}")
    print("| threshold A | gap | pass rate | median images | 90th percentile images |")
    print("|---|---|---|---|---|")
    for gap in (0.02, 0.05, 0.10):
        rule = GateRule(looks, round(Q - gap, 4), radius=0.25, delta=0.01, alpha=0.001)
        outcome, stopped = rule.run(counts)
        images = np.array(looks)[stopped]
        print(f"| {Q - gap:.2f} | {gap:.2f} | {(outcome == PASS).mean():.4f} | "
              f"{int(np.median(images))} | {int(np.percentile(images, 90))} |")


if __name__ == "__main__":
    main()
