"""What a data set needs to know of a model, read from its manifest (no torch needed).

Local evaluation reads the manifest file; `--service` reads the same manifest
from `GET /models`. Preprocessing comes from the manifest's optional
`preprocessing` object: `resize` (the shorter side, in pixels) and
`center_crop` (a side, or [height, width]); without it an image is resized
to the input size directly, exactly as the service resizes uploads.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from certify_datasets.errors import DatasetError


@dataclass(frozen=True)
class Preprocessing:
    resize: int | None = None
    center_crop: tuple[int, int] | None = None

    @classmethod
    def from_manifest(cls, value: object, where: str) -> "Preprocessing":
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise DatasetError(where, "field `preprocessing` must be an object "
                               '(e.g. {"resize": 256, "center_crop": 224}).')
        unknown = sorted(set(value) - {"resize", "center_crop"})
        if unknown:
            raise DatasetError(where, f"field `preprocessing` has unknown keys {unknown}; "
                               "expected `resize` and `center_crop`.")
        resize, crop = value.get("resize"), value.get("center_crop")
        if resize is not None and (not isinstance(resize, int) or resize < 1):
            raise DatasetError(where, f"field `preprocessing.resize` must be a positive integer, "
                               f"got {resize!r}.")
        return cls(resize, _crop(crop, where))


def _crop(value: object, where: str) -> tuple[int, int] | None:
    if value is None:
        return None
    sides = [value, value] if isinstance(value, int) else value
    if (not isinstance(sides, list | tuple) or len(sides) != 2
            or not all(isinstance(s, int) and s >= 1 for s in sides)):
        raise DatasetError(where, "field `preprocessing.center_crop` must be a positive integer "
                           f"or [height, width], got {value!r}.")
    return int(sides[0]), int(sides[1])


@dataclass(frozen=True)
class ModelSpec:
    """`input_shape` is the shape of the tensor certified: (C, H, W), or (C, T, H, W) for video."""

    name: str
    kind: str
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    preprocessing: Preprocessing = Preprocessing()

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], input_shape: tuple[int, ...] | None = None,
                      ) -> "ModelSpec":
        """`input_shape` overrides the manifest's (a video's certified tensor has more frames)."""
        name = str(manifest.get("name", "?"))
        shape = tuple(int(v) for v in (input_shape or manifest["input_shape"]))
        channels = shape[0]
        if channels not in (1, 3):
            raise DatasetError(f"model {name}", f"takes {channels} channels; data sets of "
                               "images and videos give 1 (grey) or 3 (RGB).")
        return cls(name, str(manifest.get("kind", "image")), shape,
                   tuple(str(c) for c in manifest["class_names"]),
                   Preprocessing.from_manifest(manifest.get("preprocessing"), f"model {name}"))
