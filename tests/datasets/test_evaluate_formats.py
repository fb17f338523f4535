"""`certify evaluate` on every data set format, locally and through a running service.

The local run certifies item idx with seed SEED + idx; the service draws its
own seed per job and records it. Replayed locally with the service's seeds,
every row (label, prediction, radius) is the same: both ways certify the
same tensor with the same label.
"""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from certify_cli.main import main
from certify_contract import CertifyOptions
from certify_contract.evaluation import read_tsv
from certify_core import certify
from certify_core.models import load_model
from certify_datasets import ModelSpec, open_dataset
from certify_testkit.dataset_fixtures import (
    random_images,
    save_image,
    write_cifar,
    write_class_folders,
    write_idx,
    write_video_folders,
)
from tests.datasets.conftest import CIFAR10_NAMES, CIFAR100_NAMES

pytestmark = pytest.mark.integration
SMALL = ["--n0", "10", "--n", "60", "--batch-size", "60"]


def folder(root: Path) -> Path:
    images = random_images(4, (1, 30, 26), seed=11)
    write_class_folders(root, {"class-2": images[:2]}, ".png")
    return write_class_folders(root, {"class-7": images[2:]}, ".jpg")


def manifest(root: Path) -> Path:
    for i, pixels in enumerate(random_images(3, (1, 28, 28), seed=12)):
        save_image(pixels, root / "files" / f"{i}.png")
    (root / "set.csv").write_text("path,label\nfiles/0.png,class-4\nfiles/1.png,8\nfiles/2.png,class-0\n")
    return root / "set.csv"


def cifar10(root: Path) -> Path:
    write_cifar(root, random_images(3, (3, 32, 32), seed=13), [3, 0, 9], list(CIFAR10_NAMES))
    return root


def cifar100(root: Path) -> Path:
    return write_cifar(root, random_images(3, (3, 32, 32), seed=14), [99, 1, 42],
                       list(CIFAR100_NAMES), hundred=True)


def imagenet(root: Path) -> Path:
    synsets = [f"n0{1440764 + i:07d}" for i in range(10)]
    images = random_images(3, (3, 50, 40), seed=15)
    return write_class_folders(root, {s: images[i % 3:i % 3 + 1] for i, s in enumerate(synsets[:3])}
                               | {s: images[:1] for s in synsets[3:]}, ".JPEG")


def idx(root: Path) -> Path:
    return write_idx(root, random_images(3, (1, 28, 28), seed=16)[:, 0], [6, 2, 5])


def clips(root: Path) -> Path:
    return write_video_folders(root, {"class-1": 1, "class-3": 2}, frames=10, size=28, seed=17)


CASES: dict[str, tuple[Callable[[Path], Path], str, int]] = {
    # format: (fixture writer, model, items certified)
    "folder": (folder, "test-cnn", 4),
    "manifest": (manifest, "test-cnn", 3),
    "cifar10": (cifar10, "rgb-cnn", 3),
    "cifar100": (cifar100, "rgb100-cnn", 3),
    "imagenet-val": (imagenet, "test-cnn", 3),
    "idx": (idx, "test-cnn", 3),
    "video-folder": (clips, "test-video", 3),
}


def evaluate(data: Path, model: str, out: Path, *extra: str) -> int:
    return main(["evaluate", "--dataset", str(data), "--model", model, "--count", "3", "--skip",
                 "1", *SMALL, "--seed", "5", "--out", str(out), *extra])


@pytest.mark.parametrize("fmt", list(CASES))
def test_each_format_gives_the_same_rows_locally_and_on_the_service(
    fmt: str, tmp_path: Path, dataset_models: Path, dataset_service: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CERTIFY_MODEL_DIR", str(dataset_models))
    write, model_name, _ = CASES[fmt]
    data_path = write(tmp_path / "data")
    assert evaluate(data_path, model_name, tmp_path / "local") == 0
    assert f"certify: {fmt} data set" in capsys.readouterr().err  # the class order, printed once
    assert evaluate(data_path, model_name, tmp_path / "service", "--service", dataset_service) == 0

    local = read_tsv(tmp_path / "local" / "certify.tsv")
    remote = read_tsv(tmp_path / "service" / "certify.tsv")
    assert [r.idx for r in local] == [r.idx for r in remote] == [0, 1, 2]
    assert [r.label for r in local] == [r.label for r in remote]
    summary = json.loads((tmp_path / "service" / "summary.json").read_text())
    assert summary["run"]["data_format"] == fmt and summary["skipped"]["count"] == 0

    model = load_model(model_name, torch.device("cpu"), (dataset_models,))
    options = CertifyOptions(n0=10, n=60, batch_size=60)
    spec = ModelSpec.from_manifest(model.manifest.to_dict(), _certified_shape(model, options))
    data = open_dataset(data_path, spec)
    for row, local_row in zip(remote, local, strict=True):
        seed = summary["run"]["seeds"][str(row.idx)]
        replay = certify(model, torch.from_numpy(data.pixels(row.idx)), options, seed=seed)
        assert (row.predict, row.radius) == (-1 if replay.label is None else replay.label,
                                             replay.radius or 0.0)
        own = certify(model, torch.from_numpy(data.pixels(row.idx)), options, seed=5 + row.idx)
        assert (local_row.predict, local_row.radius) == (-1 if own.label is None else own.label,
                                                         own.radius or 0.0)


def _certified_shape(model: object, options: CertifyOptions) -> tuple[int, ...]:
    from certify_core.certifier import certified_input_shape

    return certified_input_shape(model, options)  # type: ignore[arg-type]


def test_a_mismatched_label_map_is_refused_locally_and_before_sending(
    tmp_path: Path, dataset_models: Path, dataset_service: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CERTIFY_MODEL_DIR", str(dataset_models))
    images = random_images(2, (3, 32, 32), seed=18)
    data_path = write_class_folders(tmp_path / "data", {"truck": images[:1], "zebra": images[1:]})
    for extra in ((), ("--service", dataset_service)):
        assert evaluate(data_path, "rgb-cnn", tmp_path / "out", *extra) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1] == (f"certify: error: {data_path}: mismatched label map: classes ['zebra'] "
                           "are not classes of the model, while ['truck'] are; the model's classes "
                           "are ['airplane', 'automobile', 'bird', 'cat', 'deer', ...].")


def test_bad_files_stop_the_run_or_are_counted_with_skip_bad(
    tmp_path: Path, dataset_models: Path, dataset_service: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CERTIFY_MODEL_DIR", str(dataset_models))
    data_path = folder(tmp_path / "data")
    broken = data_path / "class-2" / "001.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    assert evaluate(data_path, "test-cnn", tmp_path / "stop") == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        f"certify: error: {broken}: unreadable")
    for extra in ((), ("--service", dataset_service)):
        out = tmp_path / ("skip" + "".join(extra[:1]))
        assert evaluate(data_path, "test-cnn", out, "--skip-bad", *extra) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["skipped"]["count"] == 1 and summary["skipped"]["items"][0]["idx"] == 1
        assert summary["skipped"]["items"][0]["source"] == str(broken)
        assert [r.idx for r in read_tsv(out / "certify.tsv")] == [0, 2]
        assert "1 bad item(s) skipped" in (out / "summary.md").read_text()
        assert "skipped 1 bad item(s)" in capsys.readouterr().err


def test_download_says_clearly_when_the_internet_is_out_of_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from torchvision import datasets

    from certify_cli.embedded import free_port

    # A closed loopback port stands in for an unreachable mirror (the tests never leave the host).
    monkeypatch.setattr(datasets.CIFAR10, "url", f"http://127.0.0.1:{free_port()}/cifar-10.tar.gz")
    status = main(["evaluate", "--dataset", str(tmp_path / "cifar"), "--data-format", "cifar10",
                   "--download", "--out", str(tmp_path / "out")])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"certify: error: --download: could not fetch CIFAR10 through torchvision "
                          f"into {tmp_path / 'cifar'} (")
    assert err.endswith("without internet access, put the extracted cifar-10-batches-py folder there "
                        "and run without --download.")
    assert not (tmp_path / "out").exists()
