"""The loop behind `certify evaluate`, and the plot behind `certify plot`."""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from certify_cli.errors import CommandError
from certify_contract import Certificate, CertifyOptions
from certify_core.certifier import certify
from certify_core.evaluation import EvalRow, TsvWriter, read_tsv, summarize
from certify_core.intervals import BOOTSTRAP_SEED, CONFIDENCE, RESAMPLES, run_estimates
from certify_core.models import LoadedModel
from certify_core.statistics import certified_radius
from certify_datasets import DatasetError, EvalData

TSV_NAME, SUMMARY_JSON, SUMMARY_MD = "certify.tsv", "summary.json", "summary.md"


def reports_naive_radius(options: CertifyOptions) -> bool:
    """Only independent-noise Smooth-Reduce has a naive radius that differs from the sound one."""
    return options.method == "smooth-reduce" and options.noise == "independent"


def row_from_certificate(idx: int, label: int, cert: Certificate, naive: bool) -> EvalRow:
    predict = -1 if cert.label is None else cert.label
    naive_radius = None
    if naive:
        # sigma * Phi^-1(p_lower) without the lift norm: what the paper's code reports
        naive_radius = certified_radius(cert.p_lower, cert.sigma, 1.0) or 0.0
    return EvalRow(idx, label, predict, cert.radius or 0.0, predict == label,
                   cert.elapsed_s, naive_radius, cert.model_evaluations)


def certify_rows(
    model: LoadedModel, data: EvalData, options: CertifyOptions, args: argparse.Namespace
) -> tuple[list[EvalRow], list[dict[str, Any]]]:
    """Certify every `skip`-th item, writing each TSV row as soon as it is known.

    A bad item (unreadable, unknown label, an input the model cannot take)
    stops the run with one line naming its file, or with `--skip-bad` is
    left out and listed in the second value.
    """
    import torch

    from certify_cli.progress import terminal_bar

    indices = list(range(0, len(data), args.skip))[: args.count]
    naive, rows, skipped = reports_naive_radius(options), [], []
    with (args.out / TSV_NAME).open("w") as handle, \
            terminal_bar(indices, desc="certify", unit="img") as bar:
        writer = TsvWriter(handle, naive)
        for idx in bar:
            try:
                pixels = data.pixels(idx)
            except DatasetError as exc:
                skipped.append(skip_record(idx, exc, args))
                continue
            cert = certify(model, torch.from_numpy(pixels), options, seed=args.seed + idx)
            row = row_from_certificate(idx, data.label(idx), cert, naive)
            writer.write(row)
            rows.append(row)
            certified = sum(r.correct for r in rows) / len(rows)
            bar.set_postfix(clean=f"{certified:.3f}", refresh=False)
    return rows, skipped


def skip_record(idx: int, error: DatasetError, args: argparse.Namespace) -> dict[str, Any]:
    """What `--skip-bad` keeps of a bad item; without it, the run stops here."""
    if not (args.skip_bad and error.bad_item):
        raise CommandError(str(error))
    return {"idx": idx, "source": error.source, "reason": error.reason}


def evaluate_dataset(
    model: LoadedModel, data: EvalData, options: CertifyOptions,
    args: argparse.Namespace, run: dict[str, Any],
) -> dict[str, Any]:
    """Certify, then write summary.json and summary.md computed from the TSV itself."""
    _, skipped = certify_rows(model, data, options, args)
    return write_summary(args, run, skipped)


def write_summary(args: argparse.Namespace, run: dict[str, Any],
                  skipped: list[dict[str, Any]]) -> dict[str, Any]:
    """summary.json and summary.md from the TSV; the skipped items are counted and listed."""
    rows = read_tsv(args.out / TSV_NAME)  # the summary is what the file says, nothing else
    summary = {"run": run, "metrics": summarize(rows, args.radii),
               "intervals": interval_summary(rows, args.radii),
               "skipped": {"count": len(skipped), "items": skipped}}
    (args.out / SUMMARY_JSON).write_text(json.dumps(summary, indent=2) + "\n")
    (args.out / SUMMARY_MD).write_text(summary_markdown([summary]))
    if skipped:
        print(f"certify: skipped {len(skipped)} bad item(s) (listed in {args.out / SUMMARY_JSON}); "
              f"first: {skipped[0]['source']}: {skipped[0]['reason']}", file=sys.stderr)
    return summary


def interval_summary(rows: list[EvalRow], radii: list[float]) -> dict[str, Any]:
    """Each certified fraction and the ACR with its 95% interval over the images."""
    estimates = run_estimates(rows, radii)
    return {"confidence": CONFIDENCE,
            "method": "exact Clopper-Pearson for certified fractions; percentile bootstrap "
                      f"over images ({RESAMPLES} resamples, seed {BOOTSTRAP_SEED}) for ACR",
            "values": {name: [estimate.low, estimate.high] for name, estimate in estimates.items()}}


def summary_markdown(summaries: list[dict[str, Any]]) -> str:
    """One Markdown table row per run (same radii assumed as in the first run)."""
    radii = list(summaries[0]["metrics"]["certified_accuracy"])
    head = ["run", "n", *[f"r={r}" for r in radii], "ACR", "abstain", "clean", "s/img",
            "evals/img mean", "median"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for summary in summaries:
        metrics, run = summary["metrics"], summary["run"]
        cells = [run["label"], str(run["options"]["n"])]
        cells += [f"{metrics['certified_accuracy'][r]:.3f}" for r in radii]
        cells += [f"{metrics['acr']:.3f}", f"{metrics['abstention_rate']:.3f}",
                  f"{metrics['clean_accuracy']:.3f}", f"{metrics['seconds_per_image']:.3f}"]
        cells += [f"{metrics[key]:.0f}" if key in metrics else ""
                  for key in ("model_evaluations_mean", "model_evaluations_median")]
        lines.append("| " + " | ".join(cells) + " |")
        naive = metrics.get("naive_not_sound")
        if naive:
            row = [f"{run['label']} — naive radius, NOT sound", str(run["options"]["n"])]
            row += [f"{naive['certified_accuracy'][r]:.3f}" for r in radii]
            row += [f"{naive['acr']:.3f}", "", "", "", "", ""]
            lines.append("| " + " | ".join(row) + " |")
    skipped = [(s["run"]["label"], s["skipped"]["count"]) for s in summaries
               if s.get("skipped", {}).get("count")]
    notes = [f"\n{label}: {count} bad item(s) skipped (`--skip-bad`), listed in summary.json."
             for label, count in skipped]
    return "\n".join(lines) + "\n" + "".join(f"{note}\n" for note in notes)


def run_label(run_dir: Path) -> str:
    summary = run_dir / SUMMARY_JSON
    if summary.is_file():
        return str(json.loads(summary.read_text())["run"]["label"])
    return run_dir.name


def plot_runs(run_dirs: list[Path], out: Path, title: str | None) -> None:
    """Certified accuracy against radius, one line per run, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    import matplotlib.pyplot as plt

    from certify_core.evaluation import certified_accuracy_curve

    all_rows = {run: read_tsv(run / TSV_NAME) for run in run_dirs}
    top = max([r.radius for rows in all_rows.values() for r in rows] + [0.1])
    figure, axes = plt.subplots(figsize=(7, 4.5))
    top = max([top] + [r.naive_radius or 0.0 for rows in all_rows.values() for r in rows])
    for run, rows in all_rows.items():
        radii, acc = certified_accuracy_curve(rows, top * 1.05)
        (line,) = axes.plot(radii, acc, label=run_label(run))
        if rows and rows[0].naive_radius is not None:
            # dashed and labelled: the paper-style radius is shown only to explain the gap
            radii, acc = certified_accuracy_curve(rows, top * 1.05, naive=True)
            axes.plot(radii, acc, linestyle="--", color=line.get_color(), alpha=0.6,
                      label=f"{run_label(run)} (naive radius, NOT sound)")
    axes.set_xlabel("L2 radius")
    axes.set_ylabel("certified accuracy")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120)
    plt.close(figure)
