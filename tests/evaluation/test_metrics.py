"""ACR and certified-accuracy arithmetic on hand-made rows, and the TSV round trip."""

import itertools
from pathlib import Path

import pytest

from certify_core.errors import InvalidOptionError
from certify_core.evaluation import (
    EvalRow,
    average_certified_radius,
    certified_accuracy,
    certified_accuracy_curve,
    read_tsv,
    summarize,
    write_tsv,
)

# correct r=1.0; correct r=0.3; wrong (confident) r=2.0; abstain; correct r=0.0 exactly
ROWS = [
    EvalRow(0, 3, 3, 1.0, True, 0.5),
    EvalRow(1, 1, 1, 0.3, True, 0.5),
    EvalRow(2, 2, 7, 2.0, False, 1.0),
    EvalRow(3, 4, -1, 0.0, False, 1.0),
    EvalRow(4, 5, 5, 0.0, True, 2.0),
]


def test_certified_accuracy_counts_only_correct_rows_at_or_above_the_radius() -> None:
    assert certified_accuracy(ROWS, 0.0) == 3 / 5
    assert certified_accuracy(ROWS, 0.3) == 2 / 5
    assert certified_accuracy(ROWS, 0.31) == 1 / 5
    assert certified_accuracy(ROWS, 1.5) == 0.0  # the wrong row's radius 2.0 never counts


def test_standard_acr_averages_over_all_rows_including_wrong_and_abstained() -> None:
    assert average_certified_radius(ROWS) == pytest.approx((1.0 + 0.3 + 0.0) / 5)


def test_summary_of_hand_made_rows() -> None:
    summary = summarize(ROWS, [0.0, 0.5])
    assert summary["certified_accuracy"] == {"0": 0.6, "0.5": 0.2}
    assert summary["abstention_rate"] == 0.2
    assert summary["clean_accuracy"] == 0.6
    assert summary["seconds_per_image"] == pytest.approx(1.0)
    assert "naive_not_sound" not in summary


def test_naive_radius_is_summarized_separately() -> None:
    rows = [EvalRow(0, 1, 1, 0.2, True, 0.1, naive_radius=0.6),
            EvalRow(1, 2, -1, 0.0, False, 0.1, naive_radius=0.0)]
    summary = summarize(rows, [0.5])
    assert summary["certified_accuracy"]["0.5"] == 0.0
    assert summary["naive_not_sound"]["certified_accuracy"]["0.5"] == 0.5
    assert summary["naive_not_sound"]["acr"] == pytest.approx(0.3)


def test_tsv_round_trip_keeps_radii_exact(tmp_path: Path) -> None:
    rows = [*ROWS, EvalRow(5, 0, 0, 0.1 + 0.2, True, 0.25)]
    write_tsv(tmp_path / "run.tsv", rows)
    header = (tmp_path / "run.tsv").read_text().splitlines()[0]
    assert header == "idx\tlabel\tpredict\tradius\tcorrect\ttime"
    again = read_tsv(tmp_path / "run.tsv")
    assert [r.radius for r in again] == [r.radius for r in rows]
    assert summarize(again, [0.3]) == summarize(rows, [0.3])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (EvalRow(0, 1, -1, 0.5, False, 0.1), "abstention"),
        (EvalRow(0, 1, 2, 0.5, True, 0.1), "correct"),
        (EvalRow(0, 1, 1, -0.5, True, 0.1), "radius"),
        (EvalRow(0, 1, -2, 0.0, False, 0.1), "predict"),
    ],
)
def test_inconsistent_rows_are_refused(row: EvalRow, message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        summarize([row], [0.0])


def test_precise_errors() -> None:
    with pytest.raises(InvalidOptionError, match="at least one evaluated image"):
        average_certified_radius([])
    with pytest.raises(InvalidOptionError, match=r"Expected radii >= 0, got -1"):
        certified_accuracy(ROWS, -1.0)
    with pytest.raises(InvalidOptionError, match="no naive radius"):
        average_certified_radius(ROWS, naive=True)


def test_curve_is_monotone_and_starts_at_clean_accuracy() -> None:
    radii, acc = certified_accuracy_curve(ROWS, 2.0, points=21)
    assert radii[0] == 0.0 and radii[-1] == 2.0
    assert acc[0] == 0.6
    assert all(a >= b for a, b in itertools.pairwise(acc))
