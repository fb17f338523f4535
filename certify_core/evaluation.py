"""The evaluation metrics, kept at their old import path; they live in `certify_contract`."""

from certify_contract.evaluation import (
    ABSTAIN,
    NAIVE_COLUMN,
    STANDARD_RADII,
    TSV_COLUMNS,
    EvalRow,
    TsvWriter,
    average_certified_radius,
    certified_accuracy,
    certified_accuracy_curve,
    read_tsv,
    summarize,
    validate_radii,
    validate_row,
    validate_rows,
    write_tsv,
)

__all__ = [
    "ABSTAIN",
    "NAIVE_COLUMN",
    "STANDARD_RADII",
    "TSV_COLUMNS",
    "EvalRow",
    "TsvWriter",
    "average_certified_radius",
    "certified_accuracy",
    "certified_accuracy_curve",
    "read_tsv",
    "summarize",
    "validate_radii",
    "validate_row",
    "validate_rows",
    "write_tsv",
]
