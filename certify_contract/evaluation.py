"""Metrics of a certification run over a labeled test set.

Per-image rows use the reference certifier's columns `idx label predict radius
correct time` (predict -1 and radius 0 on abstain). Each metric validates its
inputs first, then computes. ACR here is the *standard* one: the mean over all
evaluated images of the radius when correct and not abstained, 0 otherwise.

Standard library only: the torch-free API computes a batch's metrics with the
same functions as `certify evaluate`.
"""

import csv
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certify_contract.errors import InvalidOptionError
from certify_contract.gate_rule import cp_lower_one, cp_upper_one

TSV_COLUMNS = ("idx", "label", "predict", "radius", "correct", "time")
# Written only for independent-noise Smooth-Reduce: sigma * Phi^-1(p_lower) without
# the division by the lift norm, which is what the paper's code reports. NOT sound.
NAIVE_COLUMN = "naive_radius_not_sound"
# Base-model evaluations spent on the image ((n0 + n) x patches): what adaptive sampling saves.
EVALUATIONS_COLUMN = "model_evaluations"
ABSTAIN = -1
# The radii of the certified-accuracy columns of `certify evaluate` and of a batch's metrics.
STANDARD_RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)


@dataclass(frozen=True)
class EvalRow:
    """One certified test image; `naive_radius` only for independent-noise runs.

    `label` is None for an input without one (a batch file given no label):
    such a row is never correct, and the TSV leaves its label and correct empty.
    """

    idx: int
    label: int | None
    predict: int
    radius: float
    correct: bool
    time: float
    naive_radius: float | None = None
    evaluations: int | None = None

    @property
    def abstained(self) -> bool:
        return self.predict == ABSTAIN


def validate_row(row: EvalRow) -> None:
    if row.predict < ABSTAIN:
        raise InvalidOptionError(f"Expected `predict` >= -1 (row {row.idx}), got {row.predict}.")
    if not (math.isfinite(row.radius) and row.radius >= 0):
        raise InvalidOptionError(f"Expected `radius` >= 0 (row {row.idx}), got {row.radius}.")
    if row.abstained and (row.radius != 0 or row.correct):
        raise InvalidOptionError(
            f"Expected an abstention (row {row.idx}) to have radius 0 and correct 0, "
            f"got radius {row.radius} and correct {int(row.correct)}."
        )
    if row.correct != (row.predict == row.label):
        raise InvalidOptionError(
            f"Expected `correct` = (predict == label) in row {row.idx}, got correct "
            f"{int(row.correct)} with predict {row.predict} and label {row.label}."
        )
    if row.time < 0:
        raise InvalidOptionError(f"Expected `time` >= 0 (row {row.idx}), got {row.time}.")


def validate_rows(rows: Sequence[EvalRow]) -> None:
    if not rows:
        raise InvalidOptionError("Expected at least one evaluated image, got 0.")
    for row in rows:
        validate_row(row)


def validate_radii(radii: Sequence[float]) -> None:
    for radius in radii:
        if not (math.isfinite(radius) and radius >= 0):
            raise InvalidOptionError(f"Expected radii >= 0, got {radius}.")


def certified_accuracy(rows: Sequence[EvalRow], radius: float, naive: bool = False) -> float:
    """Fraction of images classified correctly with a certified radius >= `radius`."""
    validate_rows(rows)
    validate_radii([radius])
    hits = sum(1 for row in rows if row.correct and _radius(row, naive) >= radius)
    return hits / len(rows)


def average_certified_radius(rows: Sequence[EvalRow], naive: bool = False) -> float:
    """Standard ACR: mean over all images of the radius if correct, else 0."""
    validate_rows(rows)
    return sum(_radius(row, naive) for row in rows if row.correct) / len(rows)


def _radius(row: EvalRow, naive: bool) -> float:
    if not naive:
        return row.radius
    if row.naive_radius is None:
        raise InvalidOptionError(
            f"Row {row.idx} has no naive radius (not an independent-noise run)."
        )
    return row.naive_radius


def certified_accuracy_interval(rows: Sequence[EvalRow], radius: float,
                                confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided (Clopper-Pearson) interval of the certified accuracy at `radius`: what
    the images say about the population they were drawn from."""
    hits = round(certified_accuracy(rows, radius) * len(rows))
    tail = (1.0 - confidence) / 2
    return cp_lower_one(hits, len(rows), tail), cp_upper_one(hits, len(rows), tail)


def summarize(rows: Sequence[EvalRow], radii: Sequence[float]) -> dict[str, Any]:
    """Every metric of a run: certified accuracy at `radii` (with its 95% interval), ACR,
    abstention, time."""
    validate_rows(rows)
    validate_radii(radii)
    count = len(rows)
    summary: dict[str, Any] = {
        "images": count,
        "certified_accuracy": {f"{r:g}": certified_accuracy(rows, r) for r in radii},
        "certified_accuracy_interval": {f"{r:g}": list(certified_accuracy_interval(rows, r))
                                        for r in radii},
        "acr": average_certified_radius(rows),
        "acr_definition": "mean over all images of radius if correct and not abstained, else 0",
        "abstention_rate": sum(row.abstained for row in rows) / count,
        "clean_accuracy": sum(row.correct for row in rows) / count,
        "seconds_per_image": sum(row.time for row in rows) / count,
    }
    evaluations = [row.evaluations for row in rows if row.evaluations is not None]
    if len(evaluations) == count:
        summary["model_evaluations_mean"] = statistics.fmean(evaluations)
        summary["model_evaluations_median"] = statistics.median(evaluations)
    if all(row.naive_radius is not None for row in rows):
        summary["naive_not_sound"] = {
            "certified_accuracy": {f"{r:g}": certified_accuracy(rows, r, True) for r in radii},
            "acr": average_certified_radius(rows, True),
            "note": "sigma * Phi^-1(p_lower) without dividing by the lift norm: NOT a certificate",
        }
    return summary


def write_tsv(path: Path, rows: Sequence[EvalRow]) -> None:
    with path.open("w", newline="") as handle:
        writer = TsvWriter(handle, naive=bool(rows) and rows[0].naive_radius is not None,
                           evaluations=bool(rows) and rows[0].evaluations is not None)
        for row in rows:
            writer.write(row)


class TsvWriter:
    """Writes rows as they finish, so an interrupted run keeps what it measured.

    The one writer of the reference format: `certify evaluate` writes it to a
    file, a batch's `results.tsv` with `names` (each row's file name after `idx`).
    """

    def __init__(self, handle: Any, naive: bool, evaluations: bool = True, names: bool = False
                 ) -> None:
        self.handle, self.naive, self.evaluations, self.names = handle, naive, evaluations, names
        extra = ((EVALUATIONS_COLUMN,) if evaluations else ()) + ((NAIVE_COLUMN,) if naive else ())
        columns = (TSV_COLUMNS[0], *(("name",) if names else ()), *TSV_COLUMNS[1:], *extra)
        handle.write("\t".join(columns) + "\n")

    def write(self, row: EvalRow, name: str = "") -> None:
        labeled = row.label is not None
        # repr keeps every digit: rounding a radius to fewer digits could round it up
        fields = [str(row.idx), *([name.replace("\t", " ")] if self.names else []),
                  str(row.label) if labeled else "", str(row.predict), repr(row.radius),
                  str(int(row.correct)) if labeled else "", f"{row.time:.4f}"]
        if self.evaluations:
            fields.append(str(row.evaluations))
        if self.naive:
            fields.append(repr(row.naive_radius))
        self.handle.write("\t".join(fields) + "\n")
        self.handle.flush()


def read_tsv(path: Path) -> list[EvalRow]:
    """Rows of a TSV in the reference format (an extra naive column is optional)."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = set(TSV_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise InvalidOptionError(
                f"Expected columns {list(TSV_COLUMNS)} in {path}; missing {sorted(missing)}."
            )
        return [_parse_row(record) for record in reader]


def _parse_row(record: dict[str, str]) -> EvalRow:
    naive, evaluations = record.get(NAIVE_COLUMN), record.get(EVALUATIONS_COLUMN)
    return EvalRow(
        idx=int(record["idx"]), label=int(record["label"]) if record["label"] else None,
        predict=int(record["predict"]),
        radius=float(record["radius"]), correct=bool(int(record["correct"])),
        time=float(record["time"]), naive_radius=float(naive) if naive else None,
        evaluations=int(evaluations) if evaluations else None,
    )


def certified_accuracy_curve(
    rows: Sequence[EvalRow], max_radius: float, points: int = 200, naive: bool = False
) -> tuple[list[float], list[float]]:
    """(radii, certified accuracy) on an even grid from 0 to `max_radius`, for plots."""
    validate_radii([max_radius])
    if points < 2:
        raise InvalidOptionError(f"Expected `points` >= 2, got {points}.")
    grid = [max_radius * i / (points - 1) for i in range(points)]
    return grid, [certified_accuracy(rows, r, naive) for r in grid]
