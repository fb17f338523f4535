"""Readable one-line summaries of certificates and jobs (the default output; `--json` is exact).

Works on the JSON form of the records, so the local command and the client
commands print a certificate the same way, and neither needs torch.
"""

from typing import Any

JOB_COLUMNS = ("JOB", "STATUS", "MODEL", "CREATED", "RESULT")


def format_certificate(name: object, cert: dict[str, Any]) -> str:
    if cert["abstained"]:
        verdict = "abstain"
    else:
        verdict = f"label={cert['label']} ({cert['label_name']}) radius={cert['radius']:.4f}"
    return (f"{name}: {verdict} p_lower={cert['p_lower']:.4f} n_a={cert['n_a']}/{cert['n']} "
            f"sigma={cert['sigma']} method={cert['method']} seed={cert['seed']} "
            f"time={cert['elapsed_s']:.2f}s{_sampling_note(cert)}{_video_note(cert)}")


def _sampling_note(cert: dict[str, Any]) -> str:
    """For adaptive sampling: where it stopped, why, and the decision when a radius was asked."""
    if cert.get("sampling") != "adaptive":
        return ""
    note = (f" sampling=adaptive stop={cert['stop_reason']} look={cert['looks_taken']}/"
            f"{len(cert['looks'])} n_max={cert['n_max']} evaluations={cert['model_evaluations']}")
    if cert.get("radius_asked") is not None:
        verdict = "yes" if cert["certified_at_radius"] else "no"
        note += f" certified_at_radius({cert['radius_asked']:g})={verdict}"
    return note


def _video_note(cert: dict[str, Any]) -> str:
    """For videos: the certified tensor's shape and which decoded frames it holds."""
    info = cert.get("input") or {}
    if "frame_indices" not in info:
        return ""
    shape = "x".join(str(v) for v in info["shape"])
    frames = ",".join(str(i) for i in info["frame_indices"])
    return f" input={shape} frames=[{frames}]"


def job_outcome(view: dict[str, Any]) -> str:
    """What a job came to, or how far it is: the RESULT column and the tail of `status`."""
    if view.get("result"):
        cert = view["result"]
        return "abstain" if cert["abstained"] else \
            f"label={cert['label']} ({cert['label_name']}) radius={cert['radius']:.4f}"
    if view.get("error"):
        return f"{view['error']['error']}: {view['error']['detail']}"
    progress = view.get("progress")
    if progress:
        share = progress["done"] / progress["total"] if progress["total"] else 0.0
        return f"{progress['done']:,}/{progress['total']:,} samples ({share:.0%})"
    return "cancel requested" if view.get("cancel_requested") else ""


def format_job(view: dict[str, Any]) -> str:
    """`<id>: succeeded <certificate>`, `<id>: running 1,200/100,100 samples (1%)`, ..."""
    if view.get("result"):
        return f"{format_certificate(view['job_id'], view['result'])} model={view.get('model')}"
    tail = job_outcome(view)
    model = f" model={view['model']}" if view.get("model") else ""
    return f"{view['job_id']}: {view['status']}{model}" + (f" {tail}" if tail else "")


def format_cancel(view: dict[str, Any]) -> str:
    """What `certify cancel` did: a running job only stops at its next batch, so say so."""
    job_id, status = view["job_id"], view["status"]
    if status == "running":
        return (f"{job_id}: cancel accepted; the worker stops it after its current batch "
                f"(`certify status {job_id}` shows canceled then)")
    if status == "canceled":
        return f"{job_id}: canceled"
    if status == "queued":
        return f"{job_id}: cancel accepted; it will not run"
    return f"{job_id}: already {status}, nothing to cancel"


def format_job_table(views: list[dict[str, Any]]) -> str:
    rows = [JOB_COLUMNS] + [
        (v["job_id"], v["status"], v.get("model") or "-", _short_time(v.get("created_at")),
         job_outcome(v) or "-")
        for v in views
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(JOB_COLUMNS) - 1)]
    return "\n".join("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)),
                                row[-1]]).rstrip() for row in rows)


def _short_time(stamp: object) -> str:
    """`2026-01-02T03:04:05.678+00:00` -> `2026-01-02 03:04:05`."""
    return str(stamp)[:19].replace("T", " ") if stamp else "-"
