"""The small JSON manifest that describes a model file."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from certify_contract.errors import InvalidOptionError
from certify_contract.options import OPTION_SPECS
from certify_core.errors import ModelLoadError

ModelFormat = Literal["state_dict", "exported", "torchscript", "reference_checkpoint"]
FORMATS = ("state_dict", "exported", "torchscript", "reference_checkpoint")
MANIFEST_NAME = "manifest.json"
OPTION_SPEC_BY_NAME = {spec.name: spec for spec in OPTION_SPECS}


@dataclass(frozen=True)
class Normalization:
    """Per-channel mean/std, applied by the loader as the model's first layer."""

    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class ModelManifest:
    """What the certifier needs to know about a model besides its weights.

    `input_shape` is (C, H, W) for images, (C, T, H, W) for video. `weights` is
    relative to the manifest's directory. `normalization` None means the model
    file already takes [0, 1] inputs. `precision` and `compile` are the
    defaults of those options for this model (None: fp32, eager).
    """

    name: str
    format: ModelFormat
    weights: str
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    sigma: float | None = None
    architecture: str | None = None
    architecture_kwargs: dict[str, Any] = field(default_factory=dict)
    normalization: Normalization | None = None
    sha256: str | None = None
    kind: Literal["image", "video"] = "image"
    training: dict[str, Any] = field(default_factory=dict)
    precision: str | None = None
    compile: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, directory: Path) -> Path:
        path = directory / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelManifest":
        try:
            norm = data.get("normalization")
            manifest = cls(
                name=str(data["name"]),
                format=data["format"],
                weights=str(data["weights"]),
                input_shape=tuple(int(v) for v in data["input_shape"]),
                class_names=tuple(str(c) for c in data["class_names"]),
                sigma=float(data["sigma"]) if data.get("sigma") is not None else None,
                architecture=data.get("architecture"),
                architecture_kwargs=dict(data.get("architecture_kwargs") or {}),
                normalization=(
                    Normalization(tuple(norm["mean"]), tuple(norm["std"])) if norm else None
                ),
                sha256=data.get("sha256"),
                kind=data.get("kind", "image"),
                training=dict(data.get("training") or {}),
                precision=data.get("precision"),
                compile=data.get("compile"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"Malformed model manifest: {exc!r}.") from exc
        if manifest.format not in FORMATS:
            raise ModelLoadError(f"Expected manifest `format` in {list(FORMATS)}, got {manifest.format!r}.")
        _check_arithmetic(manifest)
        if len(manifest.input_shape) not in (3, 4):
            raise ModelLoadError(f"Expected `input_shape` (C,H,W) or (C,T,H,W), got {manifest.input_shape}.")
        return manifest

    @classmethod
    def load(cls, path: Path) -> "ModelManifest":
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"Cannot read model manifest {path}: {exc}.") from exc
        if not isinstance(data, dict):
            raise ModelLoadError(f"Model manifest {path} is not a JSON object.")
        return cls.from_dict(data)


def _check_arithmetic(manifest: ModelManifest) -> None:
    """A manifest's default `precision` and `compile` must be values the options accept."""
    for name in ("precision", "compile"):
        value = getattr(manifest, name)
        if value is None:
            continue
        try:
            OPTION_SPEC_BY_NAME[name].check(value)
        except InvalidOptionError as exc:
            raise ModelLoadError(f"Malformed model manifest: {exc.detail}") from None
