"""The passes-per-second figures a worker publishes, and how the API combines workers'."""

import math

import pytest

from certify_contract.throughput import combined_throughput
from worker.throughput import DECAY, PassRate, Throughputs


def test_the_warm_up_gives_the_first_figure_and_a_job_moves_it_by_its_weight() -> None:
    rates = Throughputs()
    rates.warmed_up("m", "fp32", "off", passes=2_000, seconds=0.5)  # 4000/s
    assert rates.of_model("m") == [{"precision": "fp32", "compile": "off",
                                    "passes_per_s": 4_000.0, "jobs": 0}]
    rates.job_ended("m", "fp32", "off", passes=10_000, seconds=5.0)  # 2000/s
    expected = (DECAY * 2_000 + 10_000) / (DECAY * 0.5 + 5.0)
    [figure] = rates.of_model("m")
    assert figure["passes_per_s"] == pytest.approx(expected, abs=0.05)
    assert figure["jobs"] == 1


def test_a_tiny_job_barely_moves_a_rate_that_long_jobs_made() -> None:
    rate = PassRate()
    for _ in range(5):
        rate.add(100_000, 10.0)  # 10000/s
    rate.add(2, 0.01)  # 200/s, mostly per-job overhead
    assert rate.passes_per_s is not None and rate.passes_per_s > 9_950


def test_a_run_of_new_jobs_replaces_a_stale_figure() -> None:
    rate = PassRate()
    rate.add(10_000, 1.0, decay=0.0)  # 10000/s at warm-up
    for _ in range(20):  # the host got slower: 1000/s
        rate.add(10_000, 10.0)
    assert rate.passes_per_s is not None
    # The warm-up keeps DECAY**20 of its weight: within 1% of the new rate.
    assert math.isclose(rate.passes_per_s, 1_000, rel_tol=0.01)


def test_arithmetics_and_models_are_kept_apart_and_empty_jobs_ignored() -> None:
    rates = Throughputs()
    rates.warmed_up("m", "fp32", "off", 1_000, 1.0)
    rates.job_ended("m", "bf16", "off", 3_000, 1.0)
    rates.job_ended("m", "bf16", "off", 0, 0.0)  # canceled before a pass: no evidence
    rates.job_ended("other", "fp32", "off", 5_000, 1.0)
    assert {(f["precision"], f["passes_per_s"], f["jobs"]) for f in rates.of_model("m")} == {
        ("fp32", 1_000.0, 0), ("bf16", 3_000.0, 1)}
    assert rates.of_model("unknown") == []


def test_the_api_takes_the_median_over_workers_per_arithmetic() -> None:
    figures = [{"precision": "fp32", "compile": "off", "passes_per_s": rate, "jobs": 2}
               for rate in (1_000.0, 1_200.0, 9_000.0)]
    figures.append({"precision": "bf16", "compile": "default", "passes_per_s": 5_000.0, "jobs": 0})
    combined = {(t.precision, t.compile): t for t in combined_throughput(figures)}
    fp32 = combined[("fp32", "off")]
    assert (fp32.passes_per_s, fp32.workers, fp32.jobs) == (1_200.0, 3, 6)
    assert combined[("bf16", "default")].passes_per_s == 5_000.0
    assert combined_throughput([]) == []
