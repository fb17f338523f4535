"""The intervals of the results tables: exact cases, coverage, and what pairing buys."""

import numpy as np
import pytest

from certify_core.evaluation import EvalRow
from certify_core.intervals import (
    binomial_interval,
    bootstrap_interval,
    paired_interval,
    paired_rows,
    per_image,
    run_estimates,
)


@pytest.mark.parametrize("count", [1, 7, 50, 500])
def test_the_binomial_interval_at_the_edges_has_its_closed_form(count: int) -> None:
    # k = 0: the upper end solves (1 - p)^n = 0.025; k = n: the lower end solves p^n = 0.025
    assert binomial_interval(0, count) == (0.0, pytest.approx(1 - 0.025 ** (1 / count)))
    assert binomial_interval(count, count) == (pytest.approx(0.025 ** (1 / count)), 1.0)


def test_the_binomial_interval_covers_at_least_its_confidence() -> None:
    # Clopper-Pearson is conservative: its coverage is >= 0.95 for every p and n. 4,000
    # fixed-seed draws at each p: if the coverage were exactly 0.95, more than 240 misses
    # (mean 200, sd 13.8) would have probability below 0.2%; seeds are fixed, so it is
    # deterministic here.
    rng = np.random.default_rng(7)
    for p in (0.03, 0.3, 0.5, 0.9):
        hits = rng.binomial(60, p, size=4000)
        misses = 0
        for k in hits:
            low, high = binomial_interval(int(k), 60)
            misses += not low <= p <= high
        assert misses <= 240, (p, misses)


def test_refuses_an_impossible_count() -> None:
    with pytest.raises(ValueError, match="hits <= count"):
        binomial_interval(5, 4)
    with pytest.raises(ValueError, match="count > 0"):
        binomial_interval(0, 0)


def test_a_paired_interval_is_narrower_than_the_unpaired_one_when_runs_co_vary() -> None:
    rng = np.random.default_rng(0)
    shared = rng.uniform(0.0, 1.0, size=400)  # what the image contributes to both runs
    a = shared + rng.normal(0.0, 0.02, size=400)
    b = shared + 0.01 + rng.normal(0.0, 0.02, size=400)
    low, high = paired_interval(a, b, np.random.default_rng(1))
    assert low < 0.01 < high and low > 0  # resolves a shift of 0.01
    a_low, a_high = bootstrap_interval(a, np.random.default_rng(2))
    b_low, _ = bootstrap_interval(b, np.random.default_rng(3))
    assert a_high - a_low > 5 * (high - low)  # each run alone cannot resolve it
    assert b_low < a_high  # the two intervals overlap


def test_identical_runs_differ_by_exactly_zero() -> None:
    column = np.array([0.0, 0.3, 0.7, 1.0])
    assert paired_interval(column, column.copy(), np.random.default_rng(0)) == (0.0, 0.0)


ROWS = [EvalRow(0, 1, 1, 0.4, True, 0.1), EvalRow(1, 2, 2, 0.1, True, 0.1),
        EvalRow(2, 3, 5, 0.9, False, 0.1), EvalRow(3, 0, -1, 0.0, False, 0.1)]


def test_per_image_columns_average_to_the_metrics() -> None:
    columns = per_image(ROWS, [0.0, 0.25])
    assert columns["certified at R = 0"].mean() == 0.5
    assert columns["certified at R = 0.25"].mean() == 0.25
    assert columns["ACR"].mean() == pytest.approx(0.5 / 4)  # the wrong image's 0.9 counts 0


def test_run_estimates_bracket_their_values() -> None:
    estimates = run_estimates(ROWS * 25, [0.0, 0.25])
    for estimate in estimates.values():
        assert estimate.low <= estimate.value <= estimate.high
    assert estimates["certified at R = 0"].cell() == "0.500 [0.398, 0.602]"


def test_paired_rows_keep_only_shared_images_in_order() -> None:
    a, b = paired_rows(ROWS, list(reversed(ROWS[1:])))
    assert [row.idx for row in a] == [row.idx for row in b] == [1, 2, 3]
    with pytest.raises(ValueError, match="share no"):
        paired_rows(ROWS[:1], ROWS[1:])


@pytest.mark.parametrize(("hits", "count"), [(0, 10), (3, 10), (10, 10), (412, 500), (1, 2)])
def test_the_standard_library_interval_of_the_api_matches_the_scipy_one(hits: int, count: int
                                                                         ) -> None:
    # The API (no scipy) computes a batch's interval with the contract's own beta quantile.
    from certify_contract.evaluation import certified_accuracy_interval

    rows = [EvalRow(i, 1, 1 if i < hits else 2, 0.3, i < hits, 0.1) for i in range(count)]
    assert certified_accuracy_interval(rows, 0.25) == pytest.approx(
        binomial_interval(hits, count), rel=1e-7, abs=1e-12)
