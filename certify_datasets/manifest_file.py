"""A manifest of labelled files: TSV or CSV, columns `path` and `label`.

Paths are relative to the manifest's folder (absolute ones are kept); a
label is a class index or a class name of the model. A header row naming
`path` and `label` may put them in any columns; without one, they are the
first two. A label the model does not know makes that row a bad item.
"""

import csv
from pathlib import Path

from certify_datasets.errors import DatasetError
from certify_datasets.model_spec import ModelSpec
from certify_datasets.sources import ImageFiles, VideoFiles

MANIFEST_SUFFIXES = (".tsv", ".csv")


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(str(path), f"unreadable manifest: {exc}") from exc
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = [(number, row) for number, row in enumerate(csv.reader(text.splitlines(), delimiter=delimiter),
                                                       start=1) if row and any(c.strip() for c in row)]
    if not rows:
        raise DatasetError(str(path), "empty manifest: expected rows of `path` and `label`.")
    return rows


def _columns(path: Path, rows: list[tuple[int, list[str]]]) -> tuple[int, int, int]:
    """(path column, label column, first data row) from an optional header."""
    header = [cell.strip().lower() for cell in rows[0][1]]
    if "path" in header or "label" in header:
        if not {"path", "label"} <= set(header):
            raise DatasetError(f"{path} line {rows[0][0]}", "the header must name both `path` "
                               f"and `label`, got {rows[0][1]}.")
        return header.index("path"), header.index("label"), 1
    return 0, 1, 0


def _label(value: str, classes: tuple[str, ...]) -> int | None:
    value = value.strip()
    if value in classes:
        return classes.index(value)
    if value.isdigit() and int(value) < len(classes):
        return int(value)
    return None


def manifest_file(path: Path, model: ModelSpec) -> ImageFiles | VideoFiles:
    rows = _rows(path)
    path_at, label_at, first = _columns(path, rows)
    paths: list[Path] = []
    labels: list[int] = []
    bad: dict[int, DatasetError] = {}
    for number, row in rows[first:]:
        where = f"{path} line {number}"
        if len(row) <= max(path_at, label_at):
            raise DatasetError(where, f"expected `path` and `label` columns, got {row}.")
        file = Path(row[path_at].strip())
        label = _label(row[label_at], model.class_names)
        if label is None:
            bad[len(paths)] = DatasetError(
                f"{where} ({file})", f"unknown label {row[label_at].strip()!r}: neither a class "
                f"name nor a class index of model {model.name} ({len(model.class_names)} classes).",
                bad_item=True)
        paths.append(file if file.is_absolute() else path.parent / file)
        labels.append(-1 if label is None else label)
    if not paths:
        raise DatasetError(str(path), "empty manifest: a header but no rows.")
    note = "labels: class names or indices of the model, as the manifest gives them"
    if model.kind == "video":
        return VideoFiles(paths, labels, model, "manifest", note, bad=bad)
    return ImageFiles(paths, labels, model, "manifest", note, bad=bad)
