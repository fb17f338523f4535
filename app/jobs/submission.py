"""Checks an upload and its options against what the workers serve, before anything is queued."""

import secrets
from typing import NoReturn

from app.http.deps import Caller
from app.http.errors import ApiError
from app.jobs.form import OptionsFormBase
from app.jobs.queue import JobQueue
from app.models.served import ServedModel, ServedModels
from app.registry.store import ModelRegistry
from certify_contract import (
    CertifyOptions,
    InvalidOptionError,
    MediaKind,
    ModelInfo,
    ModelSource,
    check_geometry,
)
from certify_contract.reach import check_reachable_radius
from certify_jobs.contract import JobPayload
from certify_media.sniff import SNIFF_BYTES, media_kind, sniff_media_type


def sniff_upload(data: bytes) -> tuple[str, MediaKind]:
    if not data:
        raise ApiError(422, "empty_file", "The uploaded file is empty.", field="file")
    media_type = sniff_media_type(data[:SNIFF_BYTES])
    kind = media_kind(media_type)
    if media_type is None or kind not in ("image", "video"):
        raise ApiError(415, "unsupported_media_type", "The file is not an image or video in a "
                       "supported format (PNG, JPEG, GIF, BMP, TIFF, WebP; MP4, WebM/MKV, AVI).",
                       field="file")
    return media_type, kind  # type: ignore[return-value]


def choose_model(models: ServedModels, form: OptionsFormBase, kind: MediaKind,
                 registry: ModelRegistry | None = None, caller: Caller | None = None) -> ServedModel:
    return served_model(models, form.model, form.options(), kind, registry, caller)


def registered(registry: ModelRegistry | None, caller: Caller | None,
               name: str) -> ServedModel | None:
    """A registered model (`name` or `name@version`) the caller may see, as a served one."""
    found = registry.resolve(name, caller) if registry and caller else None
    if found is None:
        return None
    model, source = found
    info = ModelInfo(source.ref, model.kind, model.sha256, 0, model.manifest)
    return ServedModel(info, source)


def served_model(
    models: ServedModels, requested: str | None, options: CertifyOptions, kind: MediaKind,
    registry: ModelRegistry | None = None, caller: Caller | None = None,
) -> ServedModel:
    """The model for `kind` (the named one, else the default), checked against the options:
    one a worker serves from its files, else a registered one (`name`, `name@version`)."""
    settings = models.backend.settings
    name = requested or (
        settings.default_image_model if kind == "image" else settings.default_video_model
    )
    if name is None:
        raise ApiError(422, "unknown_model", f"No default {kind} model is configured; "
                       "name one with the `model` field.", field="model")
    served = models.recently()
    model = served.get(name) or registered(registry, caller, name)
    if model is None:
        _refuse_unserved(models, name, sorted(served))
    if model.info.kind != kind:
        raise ApiError(422, "model_media_mismatch",
                       f"Model {name!r} takes {model.info.kind} input, but the upload is {kind}.",
                       field="model")
    try:
        options.check_media(kind)
        # Geometry the worker would refuse is refused here, from the served model's manifest.
        shape = model.info.manifest.get("input_shape")
        if isinstance(shape, list) and all(isinstance(side, int) for side in shape):
            check_geometry(options, kind, shape)
        check_reachable_radius(options, options.resolve_sigma(model.sigma, name))
    except InvalidOptionError as exc:
        raise ApiError(422, exc.code, exc.detail, field=exc.field) from None
    return model


def _refuse_unserved(models: ServedModels, name: str, served: list[str]) -> NoReturn:
    """503 while a model's workers are away (it was served recently), else 422."""
    if models.seen_recently(name):
        retry_after = models.backend.settings.worker_presence_ttl_s
        raise ApiError(503, "model_unavailable", f"No live worker serves model {name!r} right "
                       f"now (it was served recently); retry in {retry_after} s.",
                       headers={"Retry-After": str(retry_after)}, field="model")
    raise ApiError(422, "unknown_model",
                   f"Model {name!r} is not served by a live worker; served: {served}.",
                   field="model")


def build_payload(
    queue: JobQueue, data: bytes, media_type: str, kind: MediaKind, model: str,
    options: CertifyOptions, *, owner: str, source: ModelSource | None = None,
) -> JobPayload:
    key, digest = queue.upload_key(data, owner)  # written with the job (`JobQueue.enqueue`)
    return JobPayload(
        upload_key=key, upload_sha256=digest, upload_bytes=len(data), media_type=media_type,
        media_kind=kind, model=model, options=options,
        # Drawn here, never by the client: a client choosing seeds could grind for a larger radius.
        seed=secrets.randbits(62), model_source=source,
    )
