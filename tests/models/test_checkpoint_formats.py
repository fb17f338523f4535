"""Every checkpoint format users bring loads to a module with the source's logits."""

import json
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from certify_core.errors import ModelLoadError
from certify_core.models import load_model
from certify_core.models.architectures import NormalizeLayer
from certify_core.models.manifest import ModelManifest, Normalization
from certify_core.models.reference import (
    CIFAR10_NORMALIZATION,
    IMAGENET_NORMALIZATION,
    CifarResNet,
    cifar_resnet110,
    strip_reference_prefix,
    torchvision_resnet50,
)


class _ReferenceNormalize(nn.Module):
    """Like the reference code's layer: mean/std are plain attributes, not saved."""

    def __init__(self, normalization: Normalization) -> None:
        super().__init__()
        self.mean = torch.tensor(normalization.mean).view(1, -1, 1, 1)
        self.std = torch.tensor(normalization.std).view(1, -1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _randomize_batchnorm(module: nn.Module) -> nn.Module:
    """Non-trivial running statistics so a mis-loaded BN layer changes the logits."""
    generator = torch.Generator().manual_seed(1)
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean.copy_(0.1 * torch.randn(layer.num_features, generator=generator))
            layer.running_var.copy_(0.5 + torch.rand(layer.num_features, generator=generator))
    return module.eval()


def _reference_checkpoint(arch: str, network: nn.Module, normalization: Normalization) -> dict:
    # DataParallel adds `module.`; index 1 of Sequential(normalize, model) adds `1.`
    wrapped = nn.Sequential(_ReferenceNormalize(normalization), nn.DataParallel(network))
    return {"arch": arch, "state_dict": wrapped.state_dict(), "epoch": 90}


def _write_manifest(directory: Path, manifest: dict) -> Path:
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def _logits(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return module(x)


def test_reference_checkpoint_cifar_resnet110_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    network = _randomize_batchnorm(cifar_resnet110())
    checkpoint = _reference_checkpoint("cifar_resnet110", network, CIFAR10_NORMALIZATION)
    assert any(key.startswith("1.module.layer3.17.") for key in checkpoint["state_dict"])
    torch.save(checkpoint, tmp_path / "checkpoint.pth.tar")
    _write_manifest(tmp_path, {
        "name": "cifar-r110", "format": "reference_checkpoint", "weights": "checkpoint.pth.tar",
        "input_shape": [3, 32, 32], "class_names": [str(i) for i in range(10)], "sigma": 0.25,
    })
    loaded = load_model(str(tmp_path))
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    source = nn.Sequential(NormalizeLayer(CIFAR10_NORMALIZATION), network).eval()
    torch.testing.assert_close(_logits(loaded.module, x), _logits(source, x), rtol=1e-5, atol=1e-5)


def test_cifar_resnet110_has_the_classic_shape() -> None:
    network = cifar_resnet110()
    convs = [m for m in network.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) + 1 == 110  # 109 3x3 convolutions plus the final linear layer
    assert sum(p.numel() for p in network.parameters()) == pytest.approx(1.73e6, rel=0.01)


@pytest.mark.slow
def test_reference_checkpoint_imagenet_resnet50_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    network = _randomize_batchnorm(torchvision_resnet50())
    torch.save(_reference_checkpoint("resnet50", network, IMAGENET_NORMALIZATION),
               tmp_path / "checkpoint.pth.tar")
    _write_manifest(tmp_path, {
        "name": "imagenet-r50", "format": "reference_checkpoint", "weights": "checkpoint.pth.tar",
        "input_shape": [3, 64, 64], "class_names": [str(i) for i in range(1000)],
    })
    loaded = load_model(str(tmp_path))
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    source = nn.Sequential(NormalizeLayer(IMAGENET_NORMALIZATION), network).eval()
    torch.testing.assert_close(_logits(loaded.module, x), _logits(source, x), rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_torchvision_resnet50_state_dict_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    network = _randomize_batchnorm(torchvision_resnet50())
    torch.save(network.state_dict(), tmp_path / "resnet50.pt")
    norm = IMAGENET_NORMALIZATION
    manifest = ModelManifest(
        "r50", "state_dict", "resnet50.pt", (3, 64, 64), tuple(str(i) for i in range(1000)),
        architecture="resnet50", normalization=Normalization(norm.mean, norm.std),
    )
    manifest.save(tmp_path)
    loaded = load_model(str(tmp_path))
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    source = nn.Sequential(NormalizeLayer(norm), network).eval()
    torch.testing.assert_close(_logits(loaded.module, x), _logits(source, x), rtol=1e-4, atol=1e-4)


def test_torchscript_file_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    network = _randomize_batchnorm(CifarResNet(depth=20))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated but users still hold such files
        torch.jit.trace(network, torch.rand(1, 3, 32, 32)).save(str(tmp_path / "model.ts"))
    _write_manifest(tmp_path, {
        "name": "ts", "format": "torchscript", "weights": "model.ts", "input_shape": [3, 32, 32],
        "class_names": [str(i) for i in range(10)],
    })
    loaded = load_model(str(tmp_path))
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(_logits(loaded.module, x), _logits(network, x), rtol=1e-5, atol=1e-5)


def test_reference_checkpoint_with_wrong_arch_is_refused(tmp_path: Path) -> None:
    checkpoint = _reference_checkpoint("cifar_resnet20", CifarResNet(20), CIFAR10_NORMALIZATION)
    checkpoint["arch"] = "cifar_resnet110"
    torch.save(checkpoint, tmp_path / "checkpoint.pth.tar")
    _write_manifest(tmp_path, {
        "name": "bad", "format": "reference_checkpoint", "weights": "checkpoint.pth.tar",
        "input_shape": [3, 32, 32], "class_names": [str(i) for i in range(10)],
    })
    with pytest.raises(ModelLoadError, match="does not fit arch 'cifar_resnet110'"):
        load_model(str(tmp_path))


def test_strip_reference_prefix() -> None:
    tensor = torch.zeros(1)
    stripped = strip_reference_prefix({"1.module.fc.weight": tensor, "0.mean": tensor})
    assert list(stripped) == ["fc.weight"]


def test_safetensors_weights_for_a_named_architecture_round_trip(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    torch.manual_seed(0)
    network = _randomize_batchnorm(CifarResNet(depth=20))
    save_file(network.state_dict(), str(tmp_path / "weights.safetensors"))
    _write_manifest(tmp_path, {
        "name": "st", "format": "safetensors", "weights": "weights.safetensors",
        "input_shape": [3, 32, 32], "class_names": [str(i) for i in range(10)],
        "architecture": "cifar_resnet", "architecture_kwargs": {"depth": 20},
    })
    loaded = load_model(str(tmp_path))
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(_logits(loaded.module, x), _logits(network, x), rtol=1e-5, atol=1e-5)


def test_a_pickle_posing_as_safetensors_is_refused_without_unpickling(tmp_path: Path) -> None:
    import pickle

    class Exploit:
        def __reduce__(self) -> tuple[object, ...]:
            return (Path(tmp_path / "ran").touch, ())

    (tmp_path / "weights.safetensors").write_bytes(pickle.dumps(Exploit()))
    _write_manifest(tmp_path, {
        "name": "st", "format": "safetensors", "weights": "weights.safetensors",
        "input_shape": [3, 32, 32], "class_names": [str(i) for i in range(10)],
        "architecture": "cifar_resnet", "architecture_kwargs": {"depth": 20},
    })
    with pytest.raises(ModelLoadError, match=r"Cannot load safetensors model from .*weights.safetensors"):
        load_model(str(tmp_path))
    assert not (tmp_path / "ran").exists()
    _write_manifest(tmp_path, {
        "name": "st", "format": "safetensors", "weights": "weights.safetensors",
        "input_shape": [3, 32, 32], "class_names": [str(i) for i in range(10)],
    })
    with pytest.raises(ModelLoadError, match=r"manifest.json: field `architecture`: missing\.$"):
        load_model(str(tmp_path))
