"""Precision and compilation: recorded, reproducible, and batch-size invariant in each mode."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from certify_core import CertifyOptions, InvalidOptionError, ModelLoadError, certify
from certify_core.arithmetic import FORWARD_ROWS, MEASURE_ROWS, Arithmetic, measure_passes, runner
from certify_core.base_classifier import BaseClassifier
from certify_core.models import load_model
from certify_core.models.architectures import fmnist_cnn
from certify_core.sampling import NoiseStream, sample_counts
from tests.conftest import write_random_cnn
from tests.core.helpers import as_loaded

BATCH_SIZES = (7, 37, 450, 10_000)
CPU_PRECISIONS = ("fp32", "bf16")


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(0)
    return as_loaded(fmnist_cnn(), (1, 28, 28), 10, 0.25)


def _votes_record(cert) -> tuple:
    return cert.selection_counts, cert.estimation_counts, cert.radius, cert.label


@pytest.mark.parametrize("precision", CPU_PRECISIONS)
@pytest.mark.parametrize(
    "options",
    [
        CertifyOptions(n0=20, n=300, sigma=0.5),
        CertifyOptions(method="smooth-reduce", noise="independent", aggregate="max",
                       n0=10, n=60, patches=5, sigma=0.5),
    ],
    ids=["cohen", "smooth-reduce-independent"],
)
def test_votes_do_not_depend_on_the_batch_size_in_each_precision(cnn, precision, options) -> None:
    x = torch.rand((1, 28, 28), generator=torch.Generator().manual_seed(1))
    records = set()
    for batch_size in BATCH_SIZES:
        cert = certify(cnn, x, CertifyOptions(**{**options.to_dict(), "batch_size": batch_size,
                                                 "precision": precision}), seed=99)
        assert (cert.precision, cert.compile, cert.forward_rows) == (precision, "off", None)
        records.add(json.dumps(_votes_record(cert)))
    assert len(records) == 1


def test_bf16_runs_the_model_in_bf16(cnn) -> None:
    """The option is not a label: bf16 logits are bf16 numbers, fp32 logits mostly are not."""
    x = torch.rand((64, 1, 28, 28), generator=torch.Generator().manual_seed(2))
    logits = {}
    for precision in CPU_PRECISIONS:
        classifier = BaseClassifier(cnn.module, 10, arithmetic=Arithmetic(precision))  # type: ignore[arg-type]
        with torch.inference_mode():
            logits[precision] = classifier._logits(x)
    assert torch.equal(logits["bf16"], logits["bf16"].bfloat16().float())
    assert not torch.equal(logits["fp32"], logits["fp32"].bfloat16().float())
    assert (logits["bf16"] - logits["fp32"]).abs().max() > 0


class BatchShapeSensitive(nn.Module):
    """Class 1 iff the mean pixel exceeds a threshold that moves with the batch's length:
    the worst case of a backend whose results depend on the batch shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = x.flatten(1).mean(dim=1) - 0.5 - 0.002 * (len(x) % 7)
        return torch.stack([-score, score], dim=1)


def _counts(classifier: BaseClassifier, batch_size: int) -> list[int]:
    centre = torch.full((1, 8, 8), 0.5)
    noise = NoiseStream(centre.shape, torch.Generator().manual_seed(3), centre.device)
    selection = sample_counts(classifier, centre, 50, 0.1, noise, batch_size)
    return [*selection.tolist(), *sample_counts(classifier, centre, 2000, 0.1, noise, batch_size)]


def test_a_fixed_forward_shape_makes_shape_sensitive_models_batch_invariant() -> None:
    free = BaseClassifier(BatchShapeSensitive(), 2)
    fixed = BaseClassifier(BatchShapeSensitive(), 2, arithmetic=Arithmetic(forward_rows=64))
    assert len({tuple(_counts(free, batch_size)) for batch_size in (5, 64, 300)}) > 1
    assert len({tuple(_counts(fixed, batch_size)) for batch_size in (5, 64, 300)}) == 1


def test_fp16_on_the_cpu_is_refused_with_its_field(cnn) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        certify(cnn, torch.rand((1, 28, 28)), CertifyOptions(n0=1, n=1, precision="fp16"), seed=0)
    assert caught.value.field == "precision"
    assert "CUDA" in caught.value.detail


def test_unknown_precision_is_refused_by_the_options() -> None:
    with pytest.raises(InvalidOptionError) as caught:
        CertifyOptions(precision="int8")  # type: ignore[arg-type]
    assert caught.value.field == "precision"


def test_the_manifest_sets_the_default_and_options_override_it(tmp_path: Path) -> None:
    directory = write_random_cnn(tmp_path / "bf16-cnn")
    manifest = json.loads((directory / "manifest.json").read_text())
    (directory / "manifest.json").write_text(json.dumps({**manifest, "precision": "bf16"}))
    model = load_model(str(directory))
    x = torch.rand((1, 28, 28))
    assert certify(model, x, CertifyOptions(n0=5, n=10), seed=0).precision == "bf16"
    assert certify(model, x, CertifyOptions(n0=5, n=10, precision="fp32"), seed=0).precision == "fp32"
    (directory / "manifest.json").write_text(json.dumps({**manifest, "compile": "fast"}))
    with pytest.raises(ModelLoadError, match="compile"):
        load_model(str(directory))


@pytest.mark.slow
def test_compiled_bf16_is_built_once_runs_one_shape_and_is_batch_invariant(cnn) -> None:
    """torch.compile takes seconds to a minute here: one compiled form serves every call."""
    x = torch.rand((1, 28, 28), generator=torch.Generator().manual_seed(5))
    records = set()
    for batch_size in (37, 450, 10_000):
        options = CertifyOptions(n0=30, n=600, sigma=0.5, batch_size=batch_size,
                                 precision="bf16", compile="default")
        cert = certify(cnn, x, options, seed=7)
        assert (cert.precision, cert.compile, cert.forward_rows) == ("bf16", "default", FORWARD_ROWS)
        records.add(json.dumps(_votes_record(cert)))
    assert len(records) == 1
    assert list(cnn.compiled) == ["default"]
    arithmetic = Arithmetic("bf16", "default", FORWARD_ROWS)
    assert runner(cnn, arithmetic) is runner(cnn, arithmetic)
    eager = certify(cnn, x, CertifyOptions(n0=30, n=600, sigma=0.5, precision="bf16"), seed=7)
    assert eager.compile == "off" and sum(eager.estimation_counts) == 600


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_cuda_votes_do_not_depend_on_the_batch_size_in_each_precision(precision) -> None:
    torch.manual_seed(0)
    module = fmnist_cnn().cuda().eval().to(memory_format=torch.channels_last)
    model = as_loaded(module, (1, 28, 28), 10, 0.25)
    model = type(model)(model.name, module, model.manifest, model.sha256, torch.device("cuda"))
    x = torch.rand((1, 28, 28))
    certs = [certify(model, x, CertifyOptions(n0=50, n=2000, batch_size=b, precision=precision,
                                              sigma=0.5), seed=4)
             for b in (90, 900, 9000)]
    assert len({json.dumps(_votes_record(cert)) for cert in certs}) == 1
    assert certs[0].forward_rows == (None if precision == "fp32" else FORWARD_ROWS)


@pytest.mark.parametrize("precision", CPU_PRECISIONS)
def test_the_warm_up_timing_runs_whole_batches_for_at_least_its_time(cnn, precision) -> None:
    arithmetic = Arithmetic(precision)
    generator = torch.Generator().manual_seed(0)
    passes, seconds = measure_passes(cnn, arithmetic, generator, min_seconds=0.05)
    rows = MEASURE_ROWS["image"]
    assert passes % rows == 0 and passes >= 2 * rows  # at least two whole batches
    assert seconds >= 0.05 or passes == 20 * rows  # its time, unless it ran every batch first
    assert 0 < seconds < 60
