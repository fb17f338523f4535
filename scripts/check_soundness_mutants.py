"""Check that the soundness tests fail for known-unsound variants of the core.

Each mutant is a small source edit to a copy of `certify_core` that makes the
certifier over-claim in one specific way. For every mutant the script runs
the core's soundness, lift and statistics tests against the mutated copy and
expects at least one failure; a mutant that survives means the tests lost
their teeth. Run it after changing the certifier, the statistics or the lift
bound or the stopping rules (not part of CI). It is slow: every mutant runs the
whole list of test files below (and the unmodified core runs them first).
Measured on the shared 2-core machine while other engineers' test suites ran:
449 s, 463 s and 665 s for each of the first three adaptive mutants at load
average about 11, and about 38 minutes for the unmodified run alone at load
about 21 (under `nice -n 15`). A full run of all 17 mutants therefore takes
two hours or more there (it was not measured end to end); run `--only` the
mutants of the code you changed. Progress is printed as each mutant ends:

    .venv/bin/python scripts/check_soundness_mutants.py [--only NAME ...]

An edit whose anchor text is gone (the core was refactored) is reported as
"stale": update the mutant to the new code rather than dropping it.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/core/test_soundness.py",
    "tests/core/test_lift.py",
    "tests/core/test_statistics.py",
    "tests/core/test_sampling.py",
    "tests/core/test_sequential.py",
    "tests/core/test_adaptive.py",
    "tests/core/test_adaptive_soundness.py",
    "tests/core/test_confseq.py",
    "tests/core/test_gate.py",
]

# The shortcut the lift bound used to take: trust the count of distinct
# per-axis matrices and ignore how often each patch repeats.
COUNT_BASED_PRODUCT = '''def product_norm_squared(lift: SeparableLift) -> float | None:
    if len(set(lift.multiplicities)) != 1:
        return None
    per_axis: list[dict[bytes, np.ndarray]] = [{} for _ in lift.patches[0]]
    for mats in lift.patches:
        for axis, mat in enumerate(mats):
            per_axis[axis].setdefault(_matrix_key(mat), mat)
    if math.prod(len(choices) for choices in per_axis) != len(lift.patches):
        return None
    value = float(lift.multiplicities[0])
    for choices in per_axis:
        value *= _max_eigenvalue(sum(m.T @ m for m in choices.values()))
    return value


'''


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # relative to the package's folder
    pattern: str  # a regular expression that must match exactly once
    replacement: str
    what: str
    package: str = "certify_core"  # the package copied and edited


MUTANTS = [
    Mutant(
        "naive-independent-radius", "certifier.py",
        r"certified_radius\(outcome\.p_lower, sigma, lift\.upper, centre_error\)",
        "certified_radius(outcome.p_lower, sigma)",
        "independent noise reports sigma * Phi^-1(p_lower), not divided by the lift norm",
    ),
    Mutant(
        "shared-noise-after-resize", "base_classifier.py",
        r'        if self\.geometry is None or self\.noise == "shared":\n            return x\n',
        "        if self.geometry is None:\n            return x\n"
        '        if self.noise == "shared" and isinstance(self.geometry, PatchGeometry):\n'
        "            from certify_core.views import resize_bilinear\n\n"
        "            return resize_bilinear(x.unsqueeze(0), self.geometry.canvas_size)[0]\n"
        '        if self.noise == "shared":\n            return x\n',
        "shared noise is added to the resized canvas while the radius stays unscaled",
    ),
    Mutant(
        "label-from-estimation", "certifier.py",
        r"    label = int\(selection\.argmax\(\)\)\n(.*\n)    n_a = int\(estimation\[label\]\)",
        r"\1    label = int(estimation.argmax())\n    n_a = int(estimation[label])",
        "the label is chosen from the estimation counts instead of the selection counts",
    ),
    Mutant(
        "power-iteration-lift", "lift.py",
        r"    product = product_norm_squared\(lift\)\n",
        "    _, lower = collatz_wielandt_bound(lift, max_iterations=50)\n"
        '    return LiftNorm(math.sqrt(lower), math.sqrt(lower), "power-iteration")\n',
        "the lift bound is a 50-step power iteration, which approaches the norm from below",
    ),
    Mutant(
        "count-based-product-bound", "lift.py",
        r"def product_norm_squared\(lift: SeparableLift\) -> float \| None:\n(?:.*\n)*?(?=def )",
        COUNT_BASED_PRODUCT.replace("\\", "\\\\"),
        "the product shortcut trusts per-axis counts (border clamping repeats go unweighted)",
    ),
    Mutant(
        "tie-certifies", "statistics.py",
        r"    if p_lower <= 0\.5:\n        return None\n",
        "    if p_lower == 0.5:\n        return 0.0\n    if p_lower < 0.5:\n        return None\n",
        "p_lower = 1/2 certifies radius 0 although two classes may tie",
    ),
    Mutant(
        "centre-rounding-ignored", "certifier.py",
        r"certified_radius\(outcome\.p_lower, sigma, lift\.upper, centre_error\)",
        "certified_radius(outcome.p_lower, sigma, lift.upper)",
        "the float32 rounding of the lifted centre is not taken off the radius",
    ),
    Mutant(
        "naive-peeking", "sequential.py",
        r"    return \(\*\(\[early\] \* \(looks - 1\)\), total / 2\)\n",
        "    return (total,) * looks\n",
        "adaptive sampling spends the full alpha at every look",
    ),
    Mutant(
        "early-looks-ignore-lift", "sequential.py",
        r"        radius = self\.scale\.radius\(p_lower\)\n",
        "        radius = (self.scale.radius(p_lower) if look == len(self.plan.looks) - 1\n"
        "                  else certified_radius(p_lower, self.scale.sigma))\n",
        "adaptive decisions at early looks use sigma * Phi^-1(p_lower) without the lift norm",
    ),
    Mutant(
        "adaptive-label-per-look", "adaptive.py",
        r"        outcome = rule\.at_look\(look, int\(estimation\[label\]\)\)\n",
        "        label = int(estimation.argmax())\n"
        "        outcome = rule.at_look(look, int(estimation[label]))\n",
        "adaptive sampling takes the label at each look from the estimation counts (a tie "
        "certifies twice as often)",
    ),
    Mutant(
        "decision-label-per-look", "adaptive.py",
        r"        outcome = rule\.at_look\(look, int\(estimation\[label\]\)\)\n",
        "        outcome = rule.at_look(look, int(estimation[label] if rule.target_radius is None\n"
        "                                         else estimation.max()))\n",
        "decision mode judges the estimation counts' top class, not the selected one",
    ),
    Mutant(
        "adaptive-certificate-label-from-estimation", "certifier.py",
        r"SmoothingOutcome\(result\.label, stop\.n_a,",
        "SmoothingOutcome(int(result.estimation_counts.argmax()), "
        "int(result.estimation_counts.max()),",
        "an adaptive certificate names the estimation counts' top class and its count",
    ),
    Mutant(
        "futility-returns-label", "certifier.py",
        r"    abstained = radius is None\n",
        "    if radius is None and sampled.adaptive_fields.get(\"stop_reason\") in (\n"
        "            \"abstain\", \"not_certifiable\"):\n"
        "        radius = 0.0\n"
        "    abstained = radius is None\n",
        "a futility or abstain stop returns the selected label with radius 0",
    ),
    Mutant(
        "estimation-full-alpha-at-stop", "sequential.py",
        r"        stop = \"n_max\" if last else self\._estimation_stop\(look, n_a, n, radius\)\n",
        "        stop = \"n_max\" if last else self._estimation_stop(look, n_a, n, radius)\n"
        "        if stop is not None:\n"
        "            p_lower = clopper_pearson_lower(n_a, n, self.plan.alpha)\n"
        "            radius = self.scale.radius(p_lower)\n",
        "estimation reports the bound at the full alpha at the look where it stops",
    ),
    Mutant(
        "estimation-full-alpha-at-last-look", "sequential.py",
        r"        return clopper_pearson_lower\(n_a, self\.looks\[look\], self\.alphas\[look\]\)\n",
        "        alpha = self.alpha if look == len(self.looks) - 1 else self.alphas[look]\n"
        "        return clopper_pearson_lower(n_a, self.looks[look], alpha)\n",
        "the last look's bound spends the full alpha (the records still say alpha / 2)",
    ),
    Mutant(
        "cs-without-mixture-cost", "confseq.py",
        r"    value = betaln\(n_a \+ 1, n - n_a \+ 1\)\n",
        "    value = 0.0\n",
        "the confidence sequence takes the best bettor's wealth (no mixture): it peeks",
    ),
    Mutant(
        "cs-peeks-with-clopper-pearson", "sequential.py",
        r"            return cs_lower\(n_a, self\.looks\[look\], self\.alpha\)\n",
        "            return clopper_pearson_lower(n_a, self.looks[look], self.alpha)\n",
        "sequential cs reports the fixed-n Clopper-Pearson bound at the full alpha at every look",
    ),
    # The gate's rule is in the contract (the API runs it without numpy or scipy).
    Mutant(
        "gate-bound-without-alpha", "gate_rule.py",
        r"self\.bounds_one\(look, k\)\[0\] - self\.alpha >= self\.min_accuracy",
        "self.bounds_one(look, k)[0] >= self.min_accuracy",
        "a gate passes when the bound on P(certified correct) reaches A, forgetting that up to "
        "alpha of it are false certificates", package="certify_contract",
    ),
    Mutant(
        "gate-full-delta-every-look", "gate_rule.py",
        r"    return delta / looks\n",
        "    return delta\n",
        "a gate spends the full delta at every look over images", package="certify_contract",
    ),
    Mutant(
        "gate-label-from-certificate", "gate.py",
        r"    return np\.asarray\(certified, dtype=bool\) & \(np\.asarray\(labels\) == "
        r"np\.asarray\(truth\)\)\n",
        "    return np.asarray(certified, dtype=bool)\n",
        "a gate counts an image once certified, whatever label the certificate names",
    ),
]


def apply(mutant: Mutant, package: Path) -> bool:
    """Edit the copy in `package`; False when the anchor no longer matches exactly once."""
    target = package / mutant.path
    source = target.read_text()
    if len(re.findall(mutant.pattern, source)) != 1:
        return False
    target.write_text(re.sub(mutant.pattern, mutant.replacement, source))
    return True


def run_tests(package_parent: Path | None) -> tuple[int, list[str]]:
    # The mutated copy must shadow the real package: `-P` keeps the working
    # directory off sys.path and append mode keeps pytest from prepending the
    # repository, so PYTHONPATH decides which certify_core is imported.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    paths = [str(ROOT)] if package_parent is None else [str(package_parent), str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    command = [sys.executable, "-P", "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider",
               "--no-header", "--import-mode=append", *TESTS]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    failed = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("FAILED ")]
    return done.returncode, failed


def check(mutant: Mutant) -> tuple[str, list[str]]:
    with tempfile.TemporaryDirectory(prefix="certify-mutant-") as tmp:
        package = Path(tmp) / mutant.package
        shutil.copytree(ROOT / mutant.package, package,
                        ignore=shutil.ignore_patterns("__pycache__", "zoo", "samples"))
        # Models and samples are data, not code: link them instead of copying.
        for data in ("zoo", "samples") if mutant.package == "certify_core" else ():
            (package / data).symlink_to(ROOT / "certify_core" / data)
        if not apply(mutant, package):
            return "stale", []
        code, failed = run_tests(Path(tmp))
    return ("caught" if code != 0 else "SURVIVED"), failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="mutant names to run")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if args.only is None or m.name in args.only]
    code, failed = run_tests(None)
    if code != 0:
        print(f"the unmodified core fails {failed}: fix that first", file=sys.stderr)
        return 1
    problems = 0
    for mutant in chosen:
        start = time.monotonic()
        verdict, failed = check(mutant)
        problems += verdict != "caught"
        print(f"{mutant.name:28} {verdict:9} {time.monotonic() - start:5.0f} s  {mutant.what}", flush=True)
        for test in failed:
            print(f"{'':40}{test}", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
