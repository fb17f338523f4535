"""What `POST /models` checks before it stores a model: the manifest's fields and the weights'
bytes, sniffed (never trusted from a name) and refused early when hostile.

No torch here: the API never imports it. A zip (TorchScript, .pt2) is judged by its central
directory alone, from the sizes its members declare, before anything is unpacked; the worker
loads only what passed, and checks the forward pass itself (`model_load_failed`).
"""

import io
import json
import struct
import zipfile
from dataclasses import dataclass
from typing import Any

from certify_contract import UPLOAD_FORMATS, CodedError, ErrorCode, UploadFormat
from certify_contract.registry import MODEL_NAME, MODEL_VERSION

MAX_ZIP_MEMBERS = 100_000
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
MAX_INPUT_VALUES = 64 * 1024 * 1024  # C*H*W (or C*T*H*W) of one input: bounds a probe's memory
MAX_CLASSES = 100_000


class ModelUploadRefused(CodedError):
    """A model upload refused with its code (the API chooses the HTTP status by code)."""

    def __init__(self, code: ErrorCode, detail: str, field: str | None = None) -> None:
        super().__init__(code, detail, field)


@dataclass(frozen=True)
class ZipLimits:
    max_unpacked_bytes: int
    max_ratio: int


def sniff_weights(data: bytes, limits: ZipLimits) -> UploadFormat:
    """The format of `data`: torchscript, exported or safetensors; anything else is refused."""
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        raise _pickle("a raw Python pickle (torch.save's legacy format, or pickle.dump)")
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return _sniff_zip(data, limits)
    if _looks_like_safetensors(data):
        _check_safetensors(data)
        return "safetensors"
    raise ModelUploadRefused(
        "unsupported_model_format", "The weights are not TorchScript, a torch.export archive "
        "(.pt2) or safetensors (judged from the bytes, not the file name).", field="weights")


def _pickle(what: str) -> ModelUploadRefused:
    return ModelUploadRefused(
        "pickled_model_refused", f"The weights are {what}: unpickling runs code of the "
        "uploader's choosing, so the registry never loads one. Save a state_dict with "
        "safetensors.torch.save_file, or upload a torch.export archive or TorchScript.",
        field="weights")


def _sniff_zip(data: bytes, limits: ZipLimits) -> UploadFormat:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise ModelUploadRefused("corrupt_model_archive", f"The weights zip cannot be read "
                                 f"(truncated or malformed): {exc}.", field="weights") from None
    _check_declared_sizes(members, len(data), limits)
    # Torch archives put every member under one top folder, named as the writer chose.
    names = {member.filename.partition("/")[2] for member in members}
    if any(name.startswith("code/") for name in names) and "constants.pkl" in names:
        return "torchscript"
    if "archive_format" in names or any(name.startswith("models/") for name in names):
        return "exported"
    if "data.pkl" in names:
        raise _pickle("a torch.save archive (a pickled checkpoint or state_dict)")
    raise ModelUploadRefused("unsupported_model_format", "The weights are a zip, but neither "
                             "TorchScript nor a torch.export archive.", field="weights")


def _check_declared_sizes(members: list[zipfile.ZipInfo], size: int, limits: ZipLimits) -> None:
    if len(members) > MAX_ZIP_MEMBERS:
        raise ModelUploadRefused("model_archive_bomb", f"The weights zip has {len(members)} "
                                 f"members; at most {MAX_ZIP_MEMBERS} are taken.", field="weights")
    unpacked = 0
    for member in members:
        if member.header_offset + member.compress_size > size:
            raise ModelUploadRefused("corrupt_model_archive", f"Member {member.filename!r} "
                                     "lies past the end of the file (truncated).", field="weights")
        unpacked += member.file_size
        packed = max(member.compress_size, 1)
        if member.file_size > limits.max_ratio * packed and member.file_size > 1024 * 1024:
            raise ModelUploadRefused(
                "model_archive_bomb", f"Member {member.filename!r} declares {member.file_size} "
                f"bytes from {member.compress_size}: more than {limits.max_ratio} times "
                "compressed.", field="weights")
    if unpacked > limits.max_unpacked_bytes:
        raise ModelUploadRefused("model_archive_bomb", f"The weights zip declares {unpacked} "
                                 f"bytes unpacked; at most {limits.max_unpacked_bytes} are taken.",
                                 field="weights")


def _looks_like_safetensors(data: bytes) -> bool:
    return len(data) >= 9 and data[8:9] == b"{"


def _check_safetensors(data: bytes) -> None:
    """The header is JSON and every tensor lies inside the file (safetensors' own layout)."""
    (length,) = struct.unpack("<Q", data[:8])
    if length > MAX_SAFETENSORS_HEADER or 8 + length > len(data):
        raise ModelUploadRefused("corrupt_model_archive", f"The safetensors header claims "
                                 f"{length} bytes; the file is cut short.", field="weights")
    try:
        header = json.loads(data[8:8 + length])
        ends = [int(entry["data_offsets"][1]) for name, entry in header.items()
                if name != "__metadata__"]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ModelUploadRefused("corrupt_model_archive", f"The safetensors header is not "
                                 f"valid: {exc}.", field="weights") from None
    if any(end > len(data) - 8 - length for end in ends):
        raise ModelUploadRefused("corrupt_model_archive", "A safetensors tensor lies past the "
                                 "end of the file (truncated).", field="weights")


def checked_manifest(raw: bytes) -> dict[str, Any]:
    """The manifest as JSON, with the fields the registry and the submission checks rely on."""
    try:
        manifest = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_manifest("manifest", f"not JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise _bad_manifest("manifest", "expected a JSON object")
    _check_name_and_version(manifest)
    if manifest.get("format") not in UPLOAD_FORMATS:
        raise _bad_manifest("format", f"expected one of {list(UPLOAD_FORMATS)}, got "
                            f"{manifest.get('format')!r}")
    shape = manifest.get("input_shape")
    if (not isinstance(shape, list) or len(shape) not in (3, 4)
            or not all(isinstance(side, int) and side >= 1 for side in shape)):
        raise _bad_manifest("input_shape", f"expected [C, H, W] or [C, T, H, W] of positive "
                            f"integers, got {shape!r}")
    values = 1
    for side in shape:
        values *= side
    if values > MAX_INPUT_VALUES:
        raise _bad_manifest("input_shape", f"{shape} has {values} values; at most "
                            f"{MAX_INPUT_VALUES} are taken")
    kind = manifest.setdefault("kind", "video" if len(shape) == 4 else "image")
    if kind not in ("image", "video") or (kind == "video") != (len(shape) == 4):
        raise _bad_manifest("kind", f"expected image with [C, H, W] or video with [C, T, H, W], "
                            f"got {kind!r}")
    _check_classes_and_rest(manifest)
    return manifest


def _check_name_and_version(manifest: dict[str, Any]) -> None:
    name = manifest.get("name")
    if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
        raise _bad_manifest("name", "expected 1-100 letters, digits, `.`, `_` or `-` "
                            f"(starting with a letter or digit), got {name!r}")
    version = manifest.get("version")
    if version is not None and (not isinstance(version, str) or not MODEL_VERSION.fullmatch(version)):
        raise _bad_manifest("version", "expected 1-64 letters, digits, `.`, `_` or `-`, got "
                            f"{version!r}")


def _check_classes_and_rest(manifest: dict[str, Any]) -> None:
    classes = manifest.get("class_names")
    if (not isinstance(classes, list) or not 1 <= len(classes) <= MAX_CLASSES
            or not all(isinstance(name, str) for name in classes)):
        raise _bad_manifest("class_names", f"expected 1 to {MAX_CLASSES} class names")
    if manifest["format"] == "safetensors" and not isinstance(manifest.get("architecture"), str):
        raise _bad_manifest("architecture", "safetensors weights need the name of the "
                            "architecture they fit")
    sigma = manifest.get("sigma")
    if sigma is not None and (not isinstance(sigma, int | float) or isinstance(sigma, bool)
                              or sigma <= 0):
        raise _bad_manifest("sigma", f"expected a positive number, got {sigma!r}")
    norm = manifest.get("normalization")
    if norm is not None and not (isinstance(norm, dict) and isinstance(norm.get("mean"), list)
                                 and isinstance(norm.get("std"), list)):
        raise _bad_manifest("normalization", "expected {\"mean\": [...], \"std\": [...]}")


def _bad_manifest(field_name: str, reason: str) -> ModelUploadRefused:
    return ModelUploadRefused("invalid_model_manifest",
                              f"Manifest field `{field_name}`: {reason}.", field="manifest")
