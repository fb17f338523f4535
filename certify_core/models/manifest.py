"""The small JSON manifest that describes a model file."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from certify_contract.errors import InvalidOptionError
from certify_contract.options import OPTION_SPECS
from certify_core.errors import ModelLoadError

ModelFormat = Literal["state_dict", "safetensors", "exported", "torchscript", "reference_checkpoint"]
FORMATS = ("state_dict", "safetensors", "exported", "torchscript", "reference_checkpoint")
NEEDS_ARCHITECTURE = ("state_dict", "safetensors")  # weights alone: the network is named
MANIFEST_NAME = "manifest.json"
OPTION_SPEC_BY_NAME = {spec.name: spec for spec in OPTION_SPECS}


class _Missing(KeyError):
    """A required manifest field is absent."""


def _required(data: dict[str, Any], key: str) -> Any:
    if data.get(key) is None:
        raise _Missing(key)
    return data[key]


def _option_default(data: dict[str, Any], key: str) -> str | None:
    """A manifest's default for option `key`: a value the option accepts, or None."""
    value = data.get(key)
    if value is not None:
        try:
            OPTION_SPEC_BY_NAME[key].check(value)
        except InvalidOptionError as exc:
            raise ValueError(exc.detail) from None
    return value


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
    file already takes [0, 1] inputs.
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
    # How images of a data set become the input: {"resize": shorter side, "center_crop": side}.
    preprocessing: dict[str, Any] = field(default_factory=dict)
    # The defaults of the `precision` and `compile` options for this model (None: fp32, eager).
    precision: str | None = None
    compile: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, directory: Path) -> Path:
        path = directory / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "model manifest") -> "ModelManifest":
        """Raises `ModelLoadError` with one line naming `where` and the field at fault."""
        field_name = "name"
        try:
            name = str(_required(data, "name"))
            field_name = "format"
            fmt = _required(data, "format")
            if fmt not in FORMATS:
                raise ValueError(f"expected one of {list(FORMATS)}, got {fmt!r}")
            field_name = "input_shape"
            input_shape = tuple(int(v) for v in _required(data, "input_shape"))
            if len(input_shape) not in (3, 4) or min(input_shape) < 1:
                raise ValueError(f"expected (C,H,W) or (C,T,H,W) of positive sizes, got {input_shape}")
            field_name = "class_names"
            class_names = tuple(str(c) for c in _required(data, "class_names"))
            if not class_names:
                raise ValueError("expected at least one class name")
            field_name = "kind"
            kind: Literal["image", "video"] = data.get("kind") or (
                "video" if len(input_shape) == 4 else "image")
            if kind not in ("image", "video") or (kind == "video") != (len(input_shape) == 4):
                raise ValueError(f"expected image with (C,H,W) or video with (C,T,H,W), got {kind!r}")
            field_name = "sigma"
            sigma = float(data["sigma"]) if data.get("sigma") is not None else None
            field_name = "normalization"
            norm = data.get("normalization")
            normalization = Normalization(tuple(norm["mean"]), tuple(norm["std"])) if norm else None
            field_name = "preprocessing"
            preprocessing = dict(data.get("preprocessing") or {})
            field_name = "architecture"
            if fmt in NEEDS_ARCHITECTURE and not data.get("architecture"):
                raise _Missing("architecture")
            field_name = "precision"
            precision = _option_default(data, "precision")
            field_name = "compile"
            compile_mode = _option_default(data, "compile")
            field_name = "weights"
            return cls(
                name=name, format=fmt, weights=str(_required(data, "weights")),
                input_shape=input_shape, class_names=class_names, sigma=sigma,
                architecture=data.get("architecture"),
                architecture_kwargs=dict(data.get("architecture_kwargs") or {}),
                normalization=normalization, sha256=data.get("sha256"), kind=kind,
                training=dict(data.get("training") or {}), preprocessing=preprocessing,
                precision=precision, compile=compile_mode,
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, _Missing):
                reason = "missing"
            elif isinstance(exc, KeyError):
                reason = f"missing key {exc.args[0]!r}"
            else:
                reason = str(exc) or repr(exc)
            raise ModelLoadError(f"{where}: field `{field_name}`: {reason}.") from exc

    @classmethod
    def load(cls, path: Path) -> "ModelManifest":
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"Cannot read model manifest {path}: {exc}.") from exc
        if not isinstance(data, dict):
            raise ModelLoadError(f"Model manifest {path} is not a JSON object.")
        return cls.from_dict(data, str(path))
