"""Load a model by registered name, manifest directory, or bare model file.

Formats: a registered architecture plus a state_dict or safetensors weights, an exported program
(`torch.export`, .pt2), a TorchScript file, or a randomized-smoothing
reference checkpoint (`{"arch", "state_dict"}`, `1.module.` key prefixes).
The loaded module maps [0, 1] inputs to logits; the manifest's normalization
becomes its first layer.
"""

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from certify_core.errors import ModelLoadError, ModelNotFoundError
from certify_core.models.architectures import NormalizeLayer, build_architecture
from certify_core.models.manifest import MANIFEST_NAME, ModelFormat, ModelManifest
from certify_core.models.reference import (
    load_reference_checkpoint,
    reference_normalization,
)

ZOO_DIR = Path(__file__).resolve().parent.parent / "zoo"
DEFAULT_IMAGE_MODEL = "fmnist-cnn-s025"
_EXPORTED_SUFFIXES = (".pt2",)
_TORCHSCRIPT_SUFFIXES = (".ts", ".torchscript", ".pt", ".pth", ".jit")


@dataclass(frozen=True)
class LoadedModel:
    """A ready-to-run model in eval mode on `device`, with its manifest."""

    name: str
    module: nn.Module
    manifest: ModelManifest
    sha256: str
    device: torch.device
    version: str | None = None  # a registered model's version (POST /models); None for files
    # Compiled forms of `module` by torch.compile mode, built on first use (certify_core.arithmetic).
    compiled: dict[str, nn.Module] = field(default_factory=dict, compare=False, repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.manifest.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.manifest.input_shape


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def available_models(search_dirs: Sequence[Path] = ()) -> dict[str, Path]:
    """Registered model names -> manifest paths (earlier directories win)."""
    found: dict[str, Path] = {}
    for directory in (*search_dirs, ZOO_DIR):
        if not directory.is_dir():
            continue
        for manifest in sorted(directory.glob(f"*/{MANIFEST_NAME}")):
            found.setdefault(manifest.parent.name, manifest)
    return found


def _read_module(manifest: ModelManifest, weights: Path) -> nn.Module:
    try:
        if manifest.format == "state_dict":
            module = build_architecture(manifest.architecture or "", manifest.architecture_kwargs)
            state = torch.load(weights, map_location="cpu", weights_only=True)
            module.load_state_dict(state)
            return module
        if manifest.format == "safetensors":
            from safetensors.torch import load_file  # tensors only: no pickle, no code

            module = build_architecture(manifest.architecture or "", manifest.architecture_kwargs)
            module.load_state_dict(load_file(str(weights), device="cpu"))
            return module
        if manifest.format == "reference_checkpoint":
            return _read_reference(manifest, weights)
        if manifest.format == "exported":
            # A file handle, not a path: torch judges a path by its suffix (.pt2), and the model
            # store names files by their hash alone.
            with weights.open("rb") as handle:
                program = torch.export.load(handle)
            return program.module()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript is deprecated but still what users hold
            return torch.jit.load(str(weights), map_location="cpu")  # type: ignore[no-untyped-call]
    except ModelLoadError:
        raise
    except Exception as exc:  # any failure here means the file is unusable
        raise ModelLoadError(f"Cannot load {manifest.format} model from {weights}: {exc}") from exc


def _read_reference(manifest: ModelManifest, weights: Path) -> nn.Module:
    """A randomized-smoothing reference checkpoint; its arch implies the normalization."""
    arch, network = load_reference_checkpoint(weights, len(manifest.class_names))
    if manifest.normalization is not None:
        return network  # the manifest's normalization is added by the caller
    return nn.Sequential(NormalizeLayer(reference_normalization(arch)), network)


def _check_forward(module: nn.Module, manifest: ModelManifest, device: torch.device) -> None:
    """Run batches of 1 and 2 so that shape and batch-size problems show at load time."""
    for batch in (1, 2):
        probe = torch.rand((batch, *manifest.input_shape), device=device)
        try:
            with torch.inference_mode():
                out = module(probe)
        except Exception as exc:
            raise ModelLoadError(
                f"Model {manifest.name!r} fails on input shape {tuple(probe.shape)} "
                f"(an exported program needs a dynamic batch dimension): {exc}"
            ) from exc
        if out.shape != (batch, len(manifest.class_names)):
            raise ModelLoadError(
                f"Model {manifest.name!r} returned shape {tuple(out.shape)}; expected logits "
                f"of shape {(batch, len(manifest.class_names))}."
            )


def _prepare(module: nn.Module, manifest: ModelManifest, device: torch.device) -> nn.Module:
    """Device, inference mode and memory format for any of the three formats."""
    module = module.to(device)
    if manifest.format != "exported":  # exported programs are traced in eval mode and refuse .eval()
        module = module.eval()
    if len(manifest.input_shape) == 3:
        module = module.to(memory_format=torch.channels_last)
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def load_manifest_model(manifest_path: Path, device: torch.device) -> LoadedModel:
    manifest = ModelManifest.load(manifest_path)
    weights = manifest_path.parent / manifest.weights
    if not weights.is_file():
        raise ModelLoadError(f"Weights file {weights} named by {manifest_path} does not exist.")
    digest = sha256_file(weights)
    if manifest.sha256 is not None and manifest.sha256 != digest:
        raise ModelLoadError(
            f"Weights {weights} have sha256 {digest}, but the manifest says {manifest.sha256}."
        )
    return _ready(manifest, weights, digest, device)


def _ready(manifest: ModelManifest, weights: Path, digest: str, device: torch.device,
           version: str | None = None) -> LoadedModel:
    """Read, normalize, place and probe: the forward pass's shape is checked here, at load."""
    module = _read_module(manifest, weights)
    if manifest.normalization is not None:
        module = nn.Sequential(NormalizeLayer(manifest.normalization), module)
    module = _prepare(module, manifest, device)
    _check_forward(module, manifest, device)
    return LoadedModel(manifest.name, module, manifest, digest, device, version=version)


# The registry takes no pickle: a state_dict or a reference checkpoint is torch.save's pickle.
REGISTERED_FORMATS = ("torchscript", "exported", "safetensors")


def load_registered_model(manifest_data: dict[str, Any], weights: Path, sha256: str,
                          version: str, device: torch.device) -> LoadedModel:
    """A model registered over HTTP: its manifest as registered, its weights from the store.

    The weights must still hash to `sha256` (the store is a shared folder, not a vault).
    """
    manifest = ModelManifest.from_dict(
        {**manifest_data, "weights": weights.name, "sha256": sha256},
        f"registered model {manifest_data.get('name')}@{version}")
    if manifest.format not in REGISTERED_FORMATS:
        raise ModelLoadError(f"Registered models are {list(REGISTERED_FORMATS)}, never "
                             f"{manifest.format!r} (a pickle).")
    if not weights.is_file():
        raise ModelLoadError(f"The weights of {manifest.name}@{version} are not in the model "
                             f"store ({weights}); was the version deleted?")
    digest = sha256_file(weights)
    if digest != sha256:
        raise ModelLoadError(f"The stored weights of {manifest.name}@{version} hash to {digest}, "
                             f"not {sha256}.")
    return _ready(manifest, weights, digest, device, version)


def _manifest_beside(path: Path) -> Path | None:
    for candidate in (path.with_suffix(".json"), path.parent / MANIFEST_NAME):
        if candidate.is_file():
            return candidate
    return None


def load_model(
    ref: str,
    device: torch.device | str = "cpu",
    search_dirs: Sequence[Path] = (),
    input_shape: tuple[int, ...] | None = None,
) -> LoadedModel:
    """Load `ref`: a registered name, a directory with a manifest, or a model file.

    A bare .pt2 or TorchScript file without a manifest beside it needs
    `input_shape`; its class names are then the class indices.
    """
    device = torch.device(device)
    path = Path(ref)
    if path.is_dir() and (path / MANIFEST_NAME).is_file():
        return load_manifest_model(path / MANIFEST_NAME, device)
    if path.is_file():
        manifest = path if path.suffix == ".json" else _manifest_beside(path)
        if manifest is not None:
            return load_manifest_model(manifest, device)
        if input_shape is None:
            raise ModelLoadError(
                f"No manifest beside {path}; give its input shape (--input-shape C,H,W)."
            )
        return _load_bare_file(path, input_shape, device)
    registered = available_models(search_dirs)
    if ref in registered:
        return load_manifest_model(registered[ref], device)
    raise ModelNotFoundError(
        f"Model {ref!r} is neither a file nor a registered model; registered: {sorted(registered)}."
    )


def _load_bare_file(path: Path, input_shape: tuple[int, ...], device: torch.device) -> LoadedModel:
    fmt: ModelFormat
    if path.suffix in _EXPORTED_SUFFIXES:
        fmt = "exported"
    elif path.suffix in _TORCHSCRIPT_SUFFIXES:
        fmt = "torchscript"
    else:
        raise ModelLoadError(f"Unknown model file type {path.suffix!r}; expected .pt2 or TorchScript.")
    probe_manifest = ModelManifest(path.stem, fmt, path.name, input_shape, ("0",))
    module = _prepare(_read_module(probe_manifest, path), probe_manifest, device)
    try:
        with torch.inference_mode():
            classes = int(module(torch.rand((1, *input_shape), device=device)).shape[1])
    except Exception as exc:
        raise ModelLoadError(f"Model {path} fails on input shape {input_shape}: {exc}") from exc
    manifest = ModelManifest(
        path.stem, fmt, path.name, input_shape, tuple(str(i) for i in range(classes))
    )
    _check_forward(module, manifest, device)
    return LoadedModel(manifest.name, module, manifest, sha256_file(path), device)
