"""The model registry's records: a registered model version, a name's versions, and what a job
needs to load one.

A registered model is `name@version`; `name` alone means its latest version (the one
registered last). Its weights are one content-addressed file in the model store, named by
sha256, which every certificate made with it records.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, get_args

from certify_contract.option_spec import MediaKind
from certify_contract.records import RECORD_CONFIG
from certify_contract.throughput import Throughput

UploadFormat = Literal["torchscript", "exported", "safetensors"]
UPLOAD_FORMATS: tuple[UploadFormat, ...] = get_args(UploadFormat)
ModelUploads = Literal["admin", "tenants", "off"]

# Names and versions travel in URLs, Redis keys and file names: a small alphabet, no `@` or `/`.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MODEL_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def split_model_ref(ref: str) -> tuple[str, str | None]:
    """`name@version` as (name, version); `name` alone as (name, None), meaning its latest."""
    name, at, version = ref.partition("@")
    return name, (version if at else None)


@dataclass(frozen=True)
class RegisteredModel:
    """One registered version of a model (`POST /models`)."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    name: str
    """The model's name; `name` alone in a request means its latest version."""
    version: str
    """The version: given in the manifest, else the next whole number."""
    format: UploadFormat
    """torchscript, exported (.pt2) or safetensors (weights for a named architecture)."""
    kind: MediaKind
    """The media it takes: image or video."""
    sha256: str
    """Hash of the weights file: its name in the model store, recorded by every certificate."""
    size_bytes: int
    """Size of the weights file."""
    created_at: datetime
    """When it was registered."""
    manifest: dict[str, Any]
    """The manifest it was registered with: input shape, class names, sigma, ..."""
    latest: bool = False
    """This is the version `name` alone means."""
    workers_holding: int = 0
    """Live workers that hold it loaded now (they load it on first use)."""
    throughput: list[Throughput] = field(default_factory=list)
    """Passes per second the workers holding it measured on its jobs, per arithmetic
    (the median over those workers), as for served models."""


@dataclass(frozen=True)
class ModelVersions:
    """Every version of one registered model that the caller may see, newest first."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    name: str
    """The model's name."""
    latest: str
    """The version `name` alone means."""
    versions: list[RegisteredModel] = field(default_factory=list)
    """Its versions, newest first."""


@dataclass(frozen=True)
class ModelSource:
    """What a job carries to load a registered model: resolved by the API, loaded by a worker."""

    name: str
    version: str
    sha256: str
    weights_key: str
    """The weights' key in the model store (`certify_store.blobs`)."""
    manifest: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelSource":
        return cls(str(data["name"]), str(data["version"]), str(data["sha256"]),
                   str(data["weights_key"]), dict(data["manifest"]))
