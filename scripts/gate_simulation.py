"""Images a release gate needs when the threshold is 2, 5 or 10 points below the truth.

A simulation, not a model run: each image is certified correct with probability q
(the stream the gate sees), for 20,000 gates per case with a fixed seed, on a set of
10,000 images with the default looks, confidence 0.99 and per-image alpha 0.001.
Prints, per gap, the pass rate, the mean, median and 90th percentile of images used,
and the fewest images *any* gate could expect to use with the same guarantee.

That last column is Wald's lower bound on the expected sample size of a sequential
test (Wald 1945; every stopping rule, every look schedule): a gate that passes with
probability at most delta when the rate of correct certificates is A + alpha, and
with probability 1 - beta when it is q, uses on average, at q, at least

    [(1 - beta) ln((1 - beta) / delta) + beta ln(beta / (1 - delta))] / KL(q || A + alpha)

images, KL the Kullback-Leibler divergence between Bernoulli(q) and Bernoulli(A + alpha).
It is evaluated at the gate's own simulated pass rate as 1 - beta.

    .venv/bin/python scripts/gate_simulation.py [--q 0.786]

q defaults to 0.786, the rate the gate measured on its own first 3,200 images of the
Fashion-MNIST test set (docs/results/gate/gate-A0.75.json: 2,515 of 3,200).
"""

import argparse
import math

import numpy as np

from certify_core.gate import PASS, GateRule, gate_looks

GATES, SET_SIZE = 20_000, 10_000


def bernoulli_kl(p: float, q: float) -> float:
    return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))


def wald_fewest_images(q: float, null: float, delta: float, power: float) -> float:
    """The least expected number of images of any test with these error probabilities."""
    beta = 1 - power
    spent = power * math.log(power / delta) + (beta * math.log(beta / (1 - delta)) if beta else 0.0)
    return spent / bernoulli_kl(q, null)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--q", type=float, default=0.786,
                        help="the rate of correct certificates the simulated gates see")
    q = parser.parse_args().q
    looks = gate_looks(SET_SIZE)
    rng = np.random.default_rng(0)
    steps = np.diff((0, *looks))
    counts = np.cumsum(np.stack([rng.binomial(s, q, size=GATES) for s in steps], axis=1), axis=1)
    print(f"q = {q} (rate of correct certificates), {GATES} gates, looks {looks}")
    print("| threshold A | gap | pass rate | mean images | median images | 90th percentile images "
          "| fewest any gate could expect (Wald) | ... at pass rate 0.5 |")
    print("|---|---|---|---|---|---|---|---|")
    for gap in (0.02, 0.05, 0.10):
        rule = GateRule(looks, round(q - gap, 4), radius=0.25, delta=0.01, alpha=0.001)
        outcome, stopped = rule.run(counts)
        images = np.array(looks)[stopped]
        power = float((outcome == PASS).mean())
        null = rule.min_accuracy + rule.alpha
        fewest = wald_fewest_images(q, null, rule.delta, min(power, 1 - 1e-12))
        even = wald_fewest_images(q, null, rule.delta, 0.5)
        print(f"| {q - gap:.3f} | {gap:.2f} | {power:.4f} | {images.mean():.0f} | "
              f"{int(np.median(images))} | {int(np.percentile(images, 90))} | {fewest:.0f} | "
              f"{even:.0f} |")


if __name__ == "__main__":
    main()
