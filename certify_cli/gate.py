"""`certify gate`: is the model's certified accuracy at radius R at least A? (a release gate)

Certifies images of a labelled data set in a seeded random order, in decision
mode at R, and stops at the first declared look where the answer is clear
(`certify_core.gate`; docs/MATH.md, "Release gates"). Exit 0 on pass, 1 on
fail or undecided, 2 on error; one line, or the `GateVerdict` as JSON.
With `--service URL` the same rule runs on a service (`POST /gates`): the
images go as lossless PNGs with their labels, the service draws the order
and the seeds, and every worker of the deployment takes part.
"""

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from certify_cli.errors import CommandError
from certify_datasets import FORMATS, SPLITS
from certify_settings import Settings

if TYPE_CHECKING:
    from certify_contract import CertifyOptions, GateVerdict
    from certify_core import LoadedModel
    from certify_core.gate import GateRule
    from certify_datasets import EvalData


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "gate", help="release gate: is certified accuracy at radius R at least A?",
        description="Pass (exit 0) when the certified accuracy at --radius is shown to be at least "
        "--min-accuracy with probability --confidence; fail or undecided: exit 1.")
    parser.add_argument("--model", default=None, help="registered model name, model directory or "
                        "model file (default: CERTIFY_DEFAULT_IMAGE_MODEL)")
    parser.add_argument("--data", dest="dataset", default="fashion-mnist", metavar="NAME_OR_PATH",
                        help="labelled data set: fashion-mnist, or a path in any format "
                        "`certify evaluate --dataset` reads")
    parser.add_argument("--data-format", default="auto", choices=FORMATS,
                        help="format of the --data path (auto: detected)")
    parser.add_argument("--split", default="test", choices=SPLITS,
                        help="split of a CIFAR or idx folder")
    parser.add_argument("--radius", type=float, required=True, help="the L2 radius R")
    parser.add_argument("--min-accuracy", type=float, required=True, help="the threshold A")
    parser.add_argument("--confidence", type=float, default=0.99,
                        help="1 - delta: probability that a pass is right")
    parser.add_argument("--alpha", type=float, default=0.001, help="per-image alpha")
    parser.add_argument("--n-max", type=int, default=10_000,
                        help="per-image estimation samples at most (decision mode stops earlier)")
    parser.add_argument("--n0", type=int, default=100, help="per-image selection samples")
    parser.add_argument("--batch-size", type=int, default=1000, help="samples per forward pass")
    parser.add_argument("--max-images", type=int, default=None,
                        help="draw at most this many images (default: the whole set)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the image order and of each image's noise")
    parser.add_argument("--device", default=None, help="torch device (default: CERTIFY_DEVICE)")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    parser.add_argument("--service", default=None, metavar="URL",
                        help="run the gate on this service (POST /gates) instead of locally "
                             "(default: run it here)")
    parser.add_argument("--api-key", default=None,
                        help="with --service: X-API-Key to send (default: CERTIFY_API_KEY)")
    parser.set_defaults(handler=run_gate, download=False)


def run_gate(args: argparse.Namespace, settings: Settings) -> int:
    from certify_cli.evaluation_data import open_evaluation
    from certify_cli.runtime import choose_device
    from certify_contract import CertifyOptions
    from certify_core.gate import GateRule, gate_looks

    if not 0.0 < args.confidence < 1.0:
        raise CommandError(f"Expected --confidence in (0, 1), got {args.confidence}.")
    if args.seed < 0:
        raise CommandError(f"Expected --seed >= 0, got {args.seed}.")
    if args.service:
        return run_service_gate(args, settings)
    options = CertifyOptions(radius=args.radius, n=args.n_max, n0=args.n0, alpha=args.alpha,
                             batch_size=args.batch_size)
    model, data = open_evaluation(args, choose_device(args.device, settings), options, settings)
    order = image_order(len(data), args.seed, args.max_images)
    rule = GateRule(gate_looks(len(order)), args.min_accuracy, args.radius,
                    delta=1.0 - args.confidence, alpha=args.alpha)
    verdict = run_local_gate(rule, model, data, options, order, args.seed)
    print(json.dumps(asdict(verdict)) if args.json else f"certify gate: {verdict.line()}")
    return 0 if verdict.verdict == "pass" else 1


def image_order(set_size: int, seed: int, max_images: int | None) -> list[int]:
    """A seeded random order, so the first images of a sorted set are not one class."""
    import numpy as np

    if max_images is not None and max_images < 1:
        raise CommandError(f"Expected --max-images >= 1, got {max_images}.")
    order = np.random.default_rng(seed).permutation(set_size)
    return [int(i) for i in order[:max_images]]


def run_local_gate(rule: "GateRule", model: "LoadedModel", data: "EvalData",
                   options: "CertifyOptions", order: list[int], seed: int) -> "GateVerdict":
    """Certify look by look until the rule stops; image i's noise seed is `seed + i`."""
    from certify_core.gate import GO_ON

    certified = evaluations = done = 0
    for look, images in enumerate(rule.looks):
        for idx in order[done:images]:
            cert = certify_item(model, data, options, idx, seed)
            evaluations += cert["model_evaluations"]
            certified += int(cert["certified_at_radius"] and cert["label"] == data.label(idx))
        done = images
        if int(rule.codes(look, certified)) != GO_ON:
            return rule.verdict(look, images, certified, evaluations, len(order))
    raise AssertionError("the last look always decides")


def certify_item(model: "LoadedModel", data: "EvalData", options: "CertifyOptions", idx: int,
                 seed: int) -> dict[str, Any]:
    import torch

    from certify_core import certify
    from certify_datasets import DatasetError

    try:
        pixels = data.pixels(idx)
    except DatasetError as exc:
        raise CommandError(str(exc)) from exc
    return certify(model, torch.from_numpy(pixels), options, seed=seed + idx).to_dict()


def run_service_gate(args: argparse.Namespace, settings: Settings) -> int:
    """Send the (labelled) images to `POST /gates`, wait for the verdict, print it."""
    from certify_cli.evaluate_service import served_model, service_data
    from certify_client import CertifyClient, ClientError
    from certify_contract import CertifyOptions

    options = {"n": args.n_max, "n0": args.n0, "alpha": args.alpha, "batch_size": args.batch_size}
    try:
        with CertifyClient(args.service, args.api_key or settings.api_key) as client:
            spec = served_model(client, args, CertifyOptions(radius=args.radius, **options))
            data = service_data(args, spec, settings)
            files, labels = _uploads(data, image_order(len(data), args.seed, args.max_images))
            # One tar archive, not a part per image: a form takes at most 1,000 parts.
            gate = client.create_gate([("gate-images.tar", _tar(files))], labels=labels,
                                      radius=args.radius,
                                      min_accuracy=args.min_accuracy, confidence=args.confidence,
                                      model=spec.name, options=options)
            view = client.wait_gate(gate.gate_id)
    except ClientError as exc:
        raise CommandError(f"{args.service}: {exc}") from exc
    if view.verdict is None:
        raise CommandError(f"Gate {view.gate_id} ended {view.state}, without a verdict.")
    if args.json:
        print(json.dumps({"gate_id": view.gate_id, "model": view.model,
                          "model_sha256": view.model_sha256, **asdict(view.verdict)}))
    else:
        print(f"certify gate: {view.verdict.line()} (gate {view.gate_id})")
    return 0 if view.verdict.verdict == "pass" else 1


def _tar(files: list[tuple[str, bytes]]) -> bytes:
    """The images as members of one uncompressed tar archive, in the drawn order."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, blob in files:
            member = tarfile.TarInfo(name)
            member.size = len(blob)
            archive.addfile(member, io.BytesIO(blob))
    return buffer.getvalue()


def _uploads(data: "EvalData", order: list[int]) -> tuple[list[tuple[str, bytes]], dict[str, int]]:
    from certify_datasets import DatasetError

    files, labels = [], {}
    for idx in order:
        try:
            name, blob = data.upload(idx)
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
        files.append((name, blob))
        labels[name] = data.label(idx)
    return files, labels
