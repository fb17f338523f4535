"""Registered models: their records (the record database's `models` table) and their weights
(content-addressed files in the model store, which the workers read).

A name belongs to the API key that registered it first; its versions are that key's, visible
to it and to admin keys only (another key is told 404, as for jobs). Models admin keys
register are shared: every key sees them, only admins change them. `name` alone means the
version registered last.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import IO, Annotated, Any

from fastapi import Depends, Request

from app.http.backend import Backend, text
from app.http.deps import Caller
from app.http.errors import ApiError
from certify_contract import ModelSource, RegisteredModel, split_model_ref
from certify_contract.records import json_ready
from certify_contract.registry import MODEL_NAME, MODEL_VERSION
from certify_contract.throughput import combined_throughput
from certify_jobs.contract import ANONYMOUS
from certify_jobs.model_uploads import ModelUploadRefused, ZipLimits, checked_manifest, sniff_weights
from certify_settings import Settings
from certify_store.blobs import BlobStore
from certify_store.records import ModelRecord

# Models an admin key registers belong to no tenant: every key may certify with them (the
# default policy lets only admins register, for the platform's tenants to use).
SHARED_OWNER = "shared"
STATUS_BY_CODE = {"unsupported_model_format": 415, "pickled_model_refused": 415,
                  "model_too_large": 413}


def holder_of(name: str, version: str) -> str:
    """The model store's holder name of one version (a blob stays while a version holds it)."""
    return hashlib.sha256(f"{name}@{version}".encode()).hexdigest()[:32]


def model_not_found(ref: str) -> ApiError:
    return ApiError(404, "model_not_found", f"No registered model {ref!r}.", field="model")


class ModelRegistry:
    def __init__(self, backend: Backend, is_served: Any) -> None:
        """`is_served(name)`: a live worker serves `name` from its own files (not registrable)."""
        self.backend = backend
        self.settings = backend.settings
        self.store = BlobStore(backend.settings.model_store_dir_or_default)
        self.is_served = is_served

    def may_register(self, caller: Caller) -> bool:
        return may_upload(self.settings, caller)

    def check_may_register(self, caller: Caller) -> None:
        if not self.may_register(caller):
            who = {"off": "no one", "admin": "admin keys only", "tenants": "every key"}
            raise ApiError(403, "model_uploads_forbidden", "This server lets "
                           f"{who[self.settings.model_uploads]} register or delete models "
                           "(CERTIFY_MODEL_UPLOADS).")

    def register(self, manifest_raw: bytes, weights: IO[bytes], caller: Caller) -> RegisteredModel:
        try:
            manifest = checked_manifest(manifest_raw)
            data = self._read_weights(weights)
            found = sniff_weights(data, ZipLimits(self.settings.model_max_bytes,
                                                  self.settings.batch_max_archive_ratio))
        except ModelUploadRefused as exc:
            raise ApiError(STATUS_BY_CODE.get(exc.code, 422), exc.code, exc.detail,
                           field=exc.field) from None
        if found != manifest["format"]:
            raise ApiError(422, "model_format_mismatch", f"The manifest says "
                           f"{manifest['format']!r}, but the weights are {found!r}.", field="manifest")
        name, owner = manifest["name"], owner_of(caller)
        earlier = self.backend.records.model_versions(name)
        if self.is_served(name) or any(record.owner != owner for record in earlier):
            raise ApiError(409, "model_name_taken", f"The name {name!r} is taken (a served model, "
                           "or another key's); choose another.", field="manifest")
        version = manifest.get("version") or _next_version(earlier)
        manifest["version"] = version
        return self._store(name, version, manifest, data, caller)

    def _read_weights(self, weights: IO[bytes]) -> bytes:
        limit = self.settings.model_max_bytes
        data = weights.read(limit + 1)
        if len(data) > limit:
            raise ModelUploadRefused("model_too_large", f"The weights exceed {limit} bytes "
                                     "(CERTIFY_MODEL_MAX_BYTES).", field="weights")
        if not data:
            raise ModelUploadRefused("unsupported_model_format", "The weights file is empty.",
                                     field="weights")
        return data

    def _store(self, name: str, version: str, manifest: dict[str, Any], data: bytes,
               caller: Caller) -> RegisteredModel:
        key = self.store.put(data, holder_of(name, version), owner_of(caller))
        sha256 = key.rpartition("/")[2]
        model = RegisteredModel(name, version, manifest["format"], manifest["kind"], sha256,
                                len(data), datetime.now(UTC), manifest)
        record = ModelRecord(name, version, sha256, owner_of(caller), model.created_at,
                             json_ready(asdict(model)))
        if not self.backend.records.add_model(record):
            self.store.release(key, holder_of(name, version), 0)
            raise ApiError(409, "model_version_exists", f"{name}@{version} is registered "
                           "already; versions never change, register a new one.", field="manifest")
        return replace(model, latest=True)  # registered last, so what `name` alone means now

    def versions(self, name: str, caller: Caller) -> list[ModelRecord]:
        """`name`'s versions the caller may see, newest first (empty: 404 to this caller)."""
        if not MODEL_NAME.fullmatch(name):
            return []
        return [record for record in self.backend.records.model_versions(name)
                if record.owner == SHARED_OWNER or caller.may_see(record.owner)]

    def visible(self, caller: Caller) -> list[ModelRecord]:
        """The latest version of each name the caller may see."""
        latest: dict[str, ModelRecord] = {}
        for record in self.backend.records.registered_models():
            if record.owner == SHARED_OWNER or caller.may_see(record.owner):
                latest.setdefault(record.name, record)
        return sorted(latest.values(), key=lambda record: record.name)

    def resolve(self, ref: str, caller: Caller) -> tuple[RegisteredModel, ModelSource] | None:
        """`name` (its latest) or `name@version`, if registered and visible to the caller."""
        name, version = split_model_ref(ref)
        if version is not None and not MODEL_VERSION.fullmatch(version):
            return None
        for record in self.versions(name, caller):
            if version is None or record.version == version:
                model = registered_model(record)
                return model, ModelSource(name, record.version, record.sha256,
                                          f"{record.owner}/{record.sha256}", model.manifest)
        return None

    def delete(self, name: str, version: str, caller: Caller) -> RegisteredModel:
        self.check_may_register(caller)
        found = [record for record in self.versions(name, caller) if record.version == version]
        if not found:
            raise model_not_found(f"{name}@{version}")
        record = found[0]
        if not (caller.admin or record.owner == caller.principal):  # shared: seen, not changed
            raise ApiError(403, "model_uploads_forbidden", f"{name}@{version} was registered "
                           "by an admin key; only admin keys delete it.")
        if not self.backend.records.delete_model(name, version):
            raise model_not_found(f"{name}@{version}")
        # The weights go when no other version holds them; workers keep what they loaded.
        self.store.release(f"{record.owner}/{record.sha256}", holder_of(name, version), 0)
        return registered_model(record)

    def holders(self) -> dict[str, list[dict[str, Any]]]:
        """`name@version` -> what each live worker that holds it loaded announces of it
        (its presence document: bytes, and the passes per second it measured)."""
        held_by: dict[str, list[dict[str, Any]]] = {}
        backend = self.backend
        for key in backend.redis.scan_iter(match=backend.keys.worker_models_pattern, count=200):
            raw = backend.redis.get(text(key))
            for held in json.loads(raw).get("registered", []) if raw else []:
                held_by.setdefault(f"{held['name']}@{held['version']}", []).append(held)
        return held_by


def may_upload(settings: Settings, caller: Caller) -> bool:
    """`CERTIFY_MODEL_UPLOADS`: admin (admin keys, and the one user of a server without keys,
    who operates it), tenants (every valid key) or off. Asked by `POST /models` and `DELETE`,
    and by `GET /models` for the dashboard's upload form, so the two never disagree."""
    if settings.model_uploads == "off":
        return False
    return settings.model_uploads == "tenants" or caller.admin or caller.principal == ANONYMOUS


def owner_of(caller: Caller) -> str:
    """Who a model the caller registers belongs to: the caller's key, or everyone (admins)."""
    return SHARED_OWNER if caller.admin else caller.principal


def registered_model(record: ModelRecord, latest: bool = False,
                     held: Sequence[dict[str, Any]] = ()) -> RegisteredModel:
    """The record as the API shows it; `held`: what the workers holding it announce."""
    view = record.view
    return RegisteredModel(
        view["name"], view["version"], view["format"], view["kind"], view["sha256"],
        view["size_bytes"], datetime.fromisoformat(view["created_at"].replace("Z", "+00:00")),
        view["manifest"], latest, len(held),
        combined_throughput([figure for entry in held for figure in entry.get("measured", [])]))


def _next_version(earlier: list[ModelRecord]) -> str:
    numbers = [int(record.version) for record in earlier if record.version.isdigit()]
    return str(max(numbers, default=0) + 1)


async def get_model_registry(request: Request) -> ModelRegistry:
    registry: ModelRegistry = request.app.state.model_registry
    return registry


ModelRegistryDep = Annotated[ModelRegistry, Depends(get_model_registry)]
