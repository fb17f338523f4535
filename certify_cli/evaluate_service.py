"""`certify evaluate --service URL`: the same evaluation, sent as one batch to a running service.

The test images go as lossless PNGs (so the service certifies exactly the
tensor the local evaluation would), named `<idx>.png` with their labels;
every worker of the deployment takes part. The rows are made from the
certificates with the same function as the local run's, then the same TSV,
summary.json and summary.md are written. The seeds are the service's (it
draws one per job and never lets a client choose); each is in `summary.json`
under `run.seeds`, so any row can be re-checked with `certify local --seed`.
"""

import argparse
import io
import json
import sys
import time
from typing import Any

import numpy as np

from certify_cli.errors import CommandError
from certify_cli.evaluate_run import (
    SUMMARY_JSON,
    SUMMARY_MD,
    TSV_NAME,
    reports_naive_radius,
    row_from_certificate,
    summary_markdown,
)
from certify_contract import CertifyOptions
from certify_contract.evaluation import TsvWriter, read_tsv, summarize
from certify_settings import Settings

FILES_PER_REQUEST = 200  # under the service's default CERTIFY_BATCH_MAX_FILES_PER_REQUEST (500)


def png_bytes(image: np.ndarray) -> bytes:
    """A (C, H, W) uint8 image as PNG: lossless, so the service decodes the same pixels."""
    from PIL import Image

    pixels = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(out, format="PNG")
    return out.getvalue()


def _submit(client: Any, files: list[tuple[str, bytes]], labels: dict[str, int],
            model: str | None, options: CertifyOptions) -> str:
    chunks = [files[i:i + FILES_PER_REQUEST] for i in range(0, len(files), FILES_PER_REQUEST)]

    def labels_of(chunk: list[tuple[str, bytes]]) -> dict[str, int]:
        return {name: labels[name] for name, _ in chunk}

    batch = client.create_batch(chunks[0], labels=labels_of(chunks[0]), model=model,
                                options=options, open=len(chunks) > 1)
    for chunk in chunks[1:]:
        client.add_files(batch.batch_id, chunk, labels=labels_of(chunk))
    if len(chunks) > 1:
        client.close_batch(batch.batch_id)
    return str(batch.batch_id)


def _wait(client: Any, batch_id: str) -> Any:
    from tqdm import tqdm

    with tqdm(desc="certify (service)", unit="img", file=sys.stderr) as bar:
        def progress(view: Any) -> None:
            bar.total = view.total
            bar.update(view.total - view.counts.queued - view.counts.running - bar.n)

        return client.wait_batch(batch_id, on_progress=progress)


def evaluate_on_service(args: argparse.Namespace, settings: Settings,
                        options: CertifyOptions) -> dict[str, Any]:
    from certify_client import CertifyClient
    from certify_core.datasets import load_dataset

    if args.dataset != "fashion-mnist":
        raise CommandError("--service evaluates image data sets only (fashion-mnist).")
    data = load_dataset(args.dataset, "test", settings.fashion_mnist_dir)
    indices = list(range(0, len(data), args.skip))[: args.count]
    files = [(f"{idx}.png", png_bytes(data.inputs[idx])) for idx in indices]
    labels = {f"{idx}.png": int(data.labels[idx]) for idx in indices}
    with CertifyClient(args.service, args.api_key or settings.api_key) as client:
        batch_id = _submit(client, files, labels, args.model, options)
        view = _wait(client, batch_id)
        items = list(client.batch_items(batch_id))
    failed = [item for item in items if item.job.result is None]
    if failed or len(items) != len(indices):
        first = failed[0].job.error if failed else "missing jobs"
        raise CommandError(f"{len(failed)} of {len(indices)} jobs of batch {batch_id} did not "
                           f"succeed ({view.status}); first: {first}.")
    naive = reports_naive_radius(options)
    certs = {int(item.name.removesuffix(".png")): (int(item.label or 0), item.job.result)
             for item in items if item.job.result is not None}
    rows = [row_from_certificate(idx, label, cert, naive)
            for idx, (label, cert) in sorted(certs.items())]
    with (args.out / TSV_NAME).open("w") as handle:
        writer = TsvWriter(handle, naive)
        for row in rows:
            writer.write(row)
    run = _run_info(args, options, batch_id, view.model,
                    {str(idx): cert.seed for idx, (_, cert) in sorted(certs.items())})
    summary = {"run": run, "metrics": summarize(read_tsv(args.out / TSV_NAME), args.radii)}
    (args.out / SUMMARY_JSON).write_text(json.dumps(summary, indent=2) + "\n")
    (args.out / SUMMARY_MD).write_text(summary_markdown([summary]))
    return summary


def _run_info(args: argparse.Namespace, options: CertifyOptions, batch_id: str, model: str,
              seeds: dict[str, int]) -> dict[str, Any]:
    label = args.label or (f"cohen n={options.n}" if options.method == "cohen" else
                           f"smooth-reduce {options.aggregate} {options.noise} n={options.n}")
    return {
        "label": label, "command": " ".join(["certify", *sys.argv[1:]]),
        "dataset": args.dataset, "count": args.count, "skip": args.skip,
        "service": args.service, "batch_id": batch_id, "model": model,
        "seed_rule": "drawn by the service per job (recorded per image idx in `seeds`)",
        "seeds": seeds, "options": options.to_dict(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
