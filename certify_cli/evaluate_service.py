"""`certify evaluate --service URL`: the same evaluation, sent as one batch to a running service.

The test images go as lossless PNGs of the pixels a local run certifies
(resized and cropped as the model's manifest says), videos as their own
files (the service decodes them exactly as a local run does), named
`<idx>.<suffix>` with their labels; every worker of the deployment takes
part. The model's manifest comes from `GET /models`, so the class map and
the preprocessing are checked before anything is sent. The rows are made from the
certificates with the same function as the local run's, then the same TSV,
summary.json and summary.md are written. The seeds are the service's (it
draws one per job and never lets a client choose); each is in `summary.json`
under `run.seeds`, so any row can be re-checked with `certify local --seed`.
"""

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from certify_cli.errors import CommandError
from certify_cli.evaluate_run import (
    TSV_NAME,
    reports_naive_radius,
    row_from_certificate,
    skip_record,
    write_summary,
)
from certify_cli.evaluation_data import built_in, data_is_video, model_spec, open_path
from certify_contract import CertifyOptions
from certify_contract.evaluation import TsvWriter
from certify_datasets import DatasetError, EvalData
from certify_settings import Settings

FILES_PER_REQUEST = 200  # under the service's default CERTIFY_BATCH_MAX_FILES_PER_REQUEST (500)


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


def served_model(client: Any, args: argparse.Namespace, options: CertifyOptions) -> Any:
    """The served model's ModelSpec: the named one, else the default for the data set's kind."""
    from certify_core.video import video_input_shape

    served = client.models()
    name = args.model or (served.default_video_model if data_is_video(args)
                          else served.default_image_model)
    found = [m for m in served.models if m.name == name]
    if not found:
        raise CommandError(f"The service at {args.service} serves no model {name!r}; it serves "
                           f"{sorted(m.name for m in served.models)}.")
    manifest = found[0].manifest
    shape = tuple(int(v) for v in manifest["input_shape"])
    if manifest.get("kind") == "video":
        shape = video_input_shape(shape, options)
    return model_spec(manifest, shape)


def service_data(args: argparse.Namespace, spec: Any, settings: Settings) -> EvalData:
    if args.dataset == "moving-fashion-mnist":
        raise CommandError("--service takes video as files: give a folder of clips per class.")
    if args.dataset == "fashion-mnist":
        from certify_core.datasets import load_dataset

        return built_in(load_dataset("fashion-mnist", "test", settings.fashion_mnist_dir), spec,
                        args.dataset)
    return open_path(args, spec)


def _uploads(data: EvalData, indices: list[int], args: argparse.Namespace
             ) -> tuple[list[tuple[str, bytes]], dict[str, int], list[dict[str, Any]]]:
    files, labels, skipped = [], {}, []
    for idx in indices:
        try:
            name, blob = data.upload(idx)
        except DatasetError as exc:
            skipped.append(skip_record(idx, exc, args))
            continue
        files.append((name, blob))
        labels[name] = data.label(idx)
    if not files:
        raise CommandError("No item of the data set could be sent (all were skipped as bad).")
    return files, labels, skipped


def evaluate_on_service(args: argparse.Namespace, settings: Settings,
                        options: CertifyOptions) -> dict[str, Any]:
    from certify_client import CertifyClient

    with CertifyClient(args.service, args.api_key or settings.api_key) as client:
        spec = served_model(client, args, options)
        data = service_data(args, spec, settings)
        indices = list(range(0, len(data), args.skip))[: args.count]
        files, labels, skipped = _uploads(data, indices, args)
        batch_id = _submit(client, files, labels, spec.name, options)
        view = _wait(client, batch_id)
        items = list(client.batch_items(batch_id))
    failed = [item for item in items if item.job.result is None]
    if failed or len(items) != len(files):
        first = failed[0].job.error if failed else "missing jobs"
        raise CommandError(f"{len(failed)} of {len(files)} jobs of batch {batch_id} did not "
                           f"succeed ({view.status}); first: {first}.")
    naive = reports_naive_radius(options)
    certs = {int(Path(item.name).stem): (int(item.label or 0), item.job.result)
             for item in items if item.job.result is not None}
    rows = [row_from_certificate(idx, label, cert, naive)
            for idx, (label, cert) in sorted(certs.items())]
    with (args.out / TSV_NAME).open("w") as handle:
        writer = TsvWriter(handle, naive)
        for row in rows:
            writer.write(row)
    run = _run_info(args, options, batch_id, view.model,
                    {str(idx): cert.seed for idx, (_, cert) in sorted(certs.items())})
    return write_summary(args, {**run, "data_format": data.format, "classes": data.class_note},
                         skipped)


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
