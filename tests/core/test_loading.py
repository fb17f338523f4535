"""Model loading: manifests, exported programs, TorchScript, bare files."""

import warnings
from pathlib import Path

import pytest
import torch

from certify_core import ModelLoadError, ModelNotFoundError, load_model
from certify_core.models import ModelManifest, Normalization, sha256_file
from certify_core.models.architectures import NormalizeLayer, fmnist_cnn

NORM = Normalization((0.3,), (0.4,))


@pytest.fixture(scope="module")
def network() -> torch.nn.Module:
    torch.manual_seed(0)
    return fmnist_cnn().eval()


def reference_logits(network: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return torch.nn.Sequential(NormalizeLayer(NORM), network)(x)


def write_manifest(directory: Path, fmt: str, weights: str, **extra: object) -> None:
    ModelManifest(
        "m", fmt, weights, (1, 28, 28), tuple("abcdefghij"), 0.25,  # type: ignore[arg-type]
        normalization=NORM, sha256=sha256_file(directory / weights), **extra,  # type: ignore[arg-type]
    ).save(directory)


def test_state_dict_round_trip(tmp_path: Path, network: torch.nn.Module) -> None:
    torch.save(network.state_dict(), tmp_path / "weights.pt")
    write_manifest(tmp_path, "state_dict", "weights.pt", architecture="fmnist_cnn")
    model = load_model(str(tmp_path))
    x = torch.rand(5, 1, 28, 28)
    with torch.inference_mode():
        torch.testing.assert_close(model.module(x), reference_logits(network, x), rtol=1e-5, atol=1e-5)
    assert model.manifest.class_names[0] == "a" and model.sha256 == sha256_file(tmp_path / "weights.pt")


def test_exported_program_round_trip(tmp_path: Path, network: torch.nn.Module) -> None:
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    program = torch.export.export(network, (torch.rand(2, 1, 28, 28),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(tmp_path / "model.pt2"))
    write_manifest(tmp_path, "exported", "model.pt2")
    model = load_model(str(tmp_path / "model.pt2"))  # finds the manifest beside it
    x = torch.rand(3, 1, 28, 28)
    with torch.inference_mode():
        torch.testing.assert_close(model.module(x), reference_logits(network, x), rtol=1e-5, atol=1e-5)


def test_torchscript_bare_file_needs_input_shape(tmp_path: Path, network: torch.nn.Module) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.script(network).save(str(tmp_path / "model.ts"))
    with pytest.raises(ModelLoadError, match="input shape"):
        load_model(str(tmp_path / "model.ts"))
    model = load_model(str(tmp_path / "model.ts"), input_shape=(1, 28, 28))
    assert model.manifest.class_names == tuple(str(i) for i in range(10))
    assert model.manifest.sigma is None
    x = torch.rand(2, 1, 28, 28)
    with torch.inference_mode():
        torch.testing.assert_close(model.module(x), network(x), rtol=1e-5, atol=1e-5)


def test_static_batch_export_is_refused_at_load(tmp_path: Path, network: torch.nn.Module) -> None:
    program = torch.export.export(network, (torch.rand(1, 1, 28, 28),))
    torch.export.save(program, str(tmp_path / "static.pt2"))
    with pytest.raises(ModelLoadError, match="dynamic batch"):
        load_model(str(tmp_path / "static.pt2"), input_shape=(1, 28, 28))


def test_tampered_weights_are_refused(tmp_path: Path, network: torch.nn.Module) -> None:
    torch.save(network.state_dict(), tmp_path / "weights.pt")
    write_manifest(tmp_path, "state_dict", "weights.pt", architecture="fmnist_cnn")
    with (tmp_path / "weights.pt").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelLoadError, match="sha256"):
        load_model(str(tmp_path))


def test_wrong_output_shape_is_refused(tmp_path: Path) -> None:
    torch.save(fmnist_cnn(num_classes=7).state_dict(), tmp_path / "weights.pt")
    ModelManifest("m", "state_dict", "weights.pt", (1, 28, 28), tuple("abcdefghij"), 0.25,
                  architecture="fmnist_cnn").save(tmp_path)
    with pytest.raises(ModelLoadError):
        load_model(str(tmp_path))


def test_registered_names_and_missing_models(tmp_path: Path, network: torch.nn.Module) -> None:
    target = tmp_path / "my-model"
    target.mkdir()
    torch.save(network.state_dict(), target / "weights.pt")
    write_manifest(target, "state_dict", "weights.pt", architecture="fmnist_cnn")
    assert load_model("my-model", search_dirs=[tmp_path]).name == "m"
    with pytest.raises(ModelNotFoundError, match="no-such-model"):
        load_model("no-such-model", search_dirs=[tmp_path])


def test_malformed_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"name": "x"}')
    with pytest.raises(ModelLoadError, match=r"manifest\.json: field `format`: missing\.$"):
        load_model(str(tmp_path))
    (tmp_path / "manifest.json").write_text("not json")
    with pytest.raises(ModelLoadError, match="Cannot read"):
        load_model(str(tmp_path))
