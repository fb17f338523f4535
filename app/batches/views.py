"""A batch as clients read it: counts, progress, the evaluation metrics, and the TSV.

The metrics are `certify evaluate`'s own functions (`certify_contract.evaluation`),
computed over the labeled jobs that succeeded so far, at the standard radii; the
TSV is written by its one writer of the reference format.
"""

import dataclasses
import io
from collections import Counter
from datetime import datetime
from typing import Any

from app.batches.store import BatchRecord, BatchStore, Row
from app.jobs.views import webhook_record
from certify_contract import BatchCounts, BatchMetrics, BatchStatus, BatchView
from certify_contract.evaluation import STANDARD_RADII, EvalRow, TsvWriter, summarize


def succeeded_rows(rows: dict[str, Row], items: dict[str, dict[str, Any]]
                   ) -> list[tuple[str, EvalRow]]:
    """(file name, row) of every job that succeeded, in batch order; unlabeled rows have no
    label (and are never correct)."""
    out = []
    for job_id, row in rows.items():
        item = items.get(job_id)
        if row.status != "succeeded" or item is None:
            continue
        label, predict = item.get("label"), -1 if row.predict is None else row.predict
        out.append((item["name"], EvalRow(item["index"], label, predict, row.radius,
                                          label is not None and predict == label, row.time)))
    return sorted(out, key=lambda named: named[1].idx)


def metrics(rows: list[EvalRow]) -> BatchMetrics | None:
    if not rows:
        return None
    summary = summarize(rows, STANDARD_RADII)
    return BatchMetrics(**{field.name: summary[field.name]
                           for field in dataclasses.fields(BatchMetrics)})


def _status(record: BatchRecord, ended: int) -> BatchStatus:
    if record.state == "canceled":
        return "canceled"
    if record.state == "open":
        return "open"
    return "ended" if ended >= record.total else "running"


def _moment(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp) if stamp else None


def batch_view(batches: BatchStore, record: BatchRecord) -> BatchView:
    rows, live = batches.rows(record.batch_id)
    counts: Counter[str] = Counter(live)
    counts.update(row.status for row in rows.values())
    labeled = [row for _, row in succeeded_rows(rows, batches.items(record.batch_id))
               if row.label is not None] if record.labeled else []
    url = f"/batches/{record.batch_id}"
    return BatchView(
        batch_id=record.batch_id, status=_status(record, len(rows)), total=record.total,
        counts=BatchCounts(**counts), progress=len(rows) / record.total if record.total else 0.0,
        created_at=datetime.fromisoformat(record.created_at),
        closed_at=_moment(record.closed_at), ended_at=_moment(record.ended_at),
        model=record.model, options=record.options, labeled=record.labeled,
        metrics=metrics(labeled), callback_url=record.callback_url,
        webhook=webhook_record(record.webhook), jobs_url=f"{url}/jobs",
        results_url=f"{url}/results.tsv",
    )


def results_tsv(batches: BatchStore, record: BatchRecord) -> str:
    """The reference columns, one row per succeeded job, with the file's name beside its idx.

    `label` and `correct` are empty for files without a label.
    """
    rows, _ = batches.rows(record.batch_id)
    out = io.StringIO()
    writer = TsvWriter(out, naive=False, evaluations=False, names=True)
    for name, row in succeeded_rows(rows, batches.items(record.batch_id)):
        writer.write(row, name)
    return out.getvalue()
