"""A batch as clients read it: counts, progress, the evaluation metrics, and the TSV.

The metrics are `certify evaluate`'s own functions (`certify_contract.evaluation`),
computed over the labeled jobs that succeeded so far, at the standard radii.
"""

import io
from collections import Counter
from typing import Any

from app.batch_schemas import BatchCounts, BatchMetrics, BatchStatus, BatchView
from app.batches import BatchRecord, BatchStore, Row
from app.schemas import WebhookRecord
from certify_contract.evaluation import STANDARD_RADII, EvalRow, summarize

RESULT_COLUMNS = ("idx", "name", "label", "predict", "radius", "correct", "time")


def eval_rows(rows: dict[str, Row], items: dict[str, dict[str, Any]]) -> list[EvalRow]:
    """The labeled jobs that succeeded, as `certify evaluate` rows, in batch order."""
    out = []
    for job_id, row in rows.items():
        item = items.get(job_id)
        if row.status != "succeeded" or item is None or item.get("label") is None:
            continue
        predict = -1 if row.predict is None else row.predict
        out.append(EvalRow(item["index"], item["label"], predict, row.radius,
                           predict == item["label"], row.time))
    return sorted(out, key=lambda r: r.idx)


def metrics(rows: list[EvalRow]) -> BatchMetrics | None:
    if not rows:
        return None
    summary = summarize(rows, STANDARD_RADII)
    return BatchMetrics(**{k: summary[k] for k in BatchMetrics.model_fields})


def _status(record: BatchRecord, ended: int) -> BatchStatus:
    if record.state == "canceled":
        return "canceled"
    if record.state == "open":
        return "open"
    return "ended" if ended >= record.total else "running"


def batch_view(batches: BatchStore, record: BatchRecord) -> BatchView:
    rows, live = batches.rows(record.batch_id)
    counts: Counter[str] = Counter(live)
    counts.update(row.status for row in rows.values())
    labeled = eval_rows(rows, batches.items(record.batch_id)) if record.labeled else []
    url = f"/batches/{record.batch_id}"
    return BatchView(
        batch_id=record.batch_id, status=_status(record, len(rows)), total=record.total,
        counts=BatchCounts(**counts), progress=len(rows) / record.total if record.total else 0.0,
        created_at=record.created_at,  # type: ignore[arg-type]
        closed_at=record.closed_at, ended_at=record.ended_at,  # type: ignore[arg-type]
        model=record.model, options=record.options, labeled=record.labeled,
        metrics=metrics(labeled), callback_url=record.callback_url,
        webhook=WebhookRecord(**record.webhook) if record.webhook else None,
        jobs_url=f"{url}/jobs", results_url=f"{url}/results.tsv",
    )


def results_tsv(batches: BatchStore, record: BatchRecord) -> str:
    """The reference columns, one row per succeeded job, with the file's name beside its idx.

    `label` and `correct` are empty for files without a label.
    """
    rows, _ = batches.rows(record.batch_id)
    items = batches.items(record.batch_id)
    out = io.StringIO()
    out.write("\t".join(RESULT_COLUMNS) + "\n")
    ordered = sorted(((items[j], row) for j, row in rows.items()
                      if row.status == "succeeded" and j in items), key=lambda p: p[0]["index"])
    for item, row in ordered:
        label = item.get("label")
        predict = -1 if row.predict is None else row.predict
        correct = "" if label is None else str(int(predict == label))
        # repr keeps every digit: rounding a radius could round it up
        out.write("\t".join([str(item["index"]), item["name"].replace("\t", " "),
                             "" if label is None else str(label), str(predict), repr(row.radius),
                             correct, f"{row.time:.4f}"]) + "\n")
    return out.getvalue()
