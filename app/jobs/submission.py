"""Checks an upload and its options against what the workers serve, before anything is queued."""

import secrets
from typing import NoReturn

from app.errors import ApiError
from app.form import OptionsFormBase
from app.store import JobStore, ServedModel
from certify_contract import CertifyOptions, InvalidOptionError, MediaKind, check_geometry
from certify_jobs.contract import JobPayload
from certify_media.sniff import SNIFF_BYTES, media_kind, sniff_media_type


def sniff_upload(data: bytes) -> tuple[str, MediaKind]:
    if not data:
        raise ApiError(422, "empty_file", "The uploaded file is empty.")
    media_type = sniff_media_type(data[:SNIFF_BYTES])
    kind = media_kind(media_type)
    if media_type is None or kind not in ("image", "video"):
        raise ApiError(415, "unsupported_media_type", "The file is not an image or video in a "
                       "supported format (PNG, JPEG, GIF, BMP, TIFF, WebP; MP4, WebM/MKV, AVI).")
    return media_type, kind  # type: ignore[return-value]


def choose_model(store: JobStore, form: OptionsFormBase, kind: MediaKind) -> ServedModel:
    return served_model(store, form.model, form.options(), kind)


def served_model(
    store: JobStore, requested: str | None, options: CertifyOptions, kind: MediaKind
) -> ServedModel:
    """The model for `kind` (the named one, else the default), checked against the options."""
    settings = store.settings
    name = requested or (
        settings.default_image_model if kind == "image" else settings.default_video_model
    )
    if name is None:
        raise ApiError(422, "unknown_model", f"No default {kind} model is configured; "
                       "name one with the `model` field.")
    served = store.served_models_recently()
    if name not in served:
        _refuse_unserved(store, name, sorted(served))
    model = served[name]
    if model.info.kind != kind:
        raise ApiError(422, "model_media_mismatch",
                       f"Model {name!r} takes {model.info.kind} input, but the upload is {kind}.")
    try:
        options.check_media(kind)
        # Geometry the worker would refuse is refused here, from the served model's manifest.
        shape = model.info.manifest.get("input_shape")
        if isinstance(shape, list) and all(isinstance(side, int) for side in shape):
            check_geometry(options, kind, shape)
    except InvalidOptionError as exc:
        raise ApiError(422, exc.code, exc.detail) from None
    if options.sigma is None and model.sigma is None:
        raise ApiError(422, "invalid_option",
                       f"Model {name!r} records no training sigma; give `sigma` explicitly.")
    return model


def _refuse_unserved(store: JobStore, name: str, served: list[str]) -> NoReturn:
    """503 while a model's workers are away (it was served recently), else 422."""
    if store.model_seen_recently(name):
        retry_after = store.settings.worker_presence_ttl_s
        raise ApiError(503, "model_unavailable", f"No live worker serves model {name!r} right "
                       f"now (it was served recently); retry in {retry_after} s.",
                       headers={"Retry-After": str(retry_after)})
    raise ApiError(422, "unknown_model",
                   f"Model {name!r} is not served by a live worker; served: {served}.")


def build_payload(
    store: JobStore, data: bytes, media_type: str, kind: MediaKind, model: str,
    options: CertifyOptions, *, owner: str,
) -> JobPayload:
    key, digest = store.upload_key(data, owner)  # written with the job (`JobStore.enqueue`)
    return JobPayload(
        upload_key=key, upload_sha256=digest, upload_bytes=len(data), media_type=media_type,
        media_kind=kind, model=model, options=options,
        # Drawn here, never by the client: a client choosing seeds could grind for a larger radius.
        seed=secrets.randbits(62),
    )
