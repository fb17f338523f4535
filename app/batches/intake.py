"""What a batch request brings: its form, its files (checked and sniffed), their labels.

The form is derived from the same option definitions as `POST /certify`
(`app.jobs.form`), so a batch takes exactly the options a single job takes.
"""

import json
from typing import TYPE_CHECKING, Any

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field, create_model

from app.batches.files import FileLimits, NamedFile, request_files
from app.batches.store import QueuedFile
from app.http.errors import ApiError
from app.jobs.form import OptionsFormBase, option_fields
from app.jobs.queue import JobQueue
from app.jobs.submission import build_payload, sniff_upload
from app.models.served import ServedModel
from certify_contract import CertifyOptions, MediaKind, ModelSource
from certify_settings import Settings

LABELS_HELP = ("JSON object: file name (or archive member path) -> class index or class name, "
               'e.g. {"boot.png": 9, "shirt.png": "Shirt"}; or `folders`: each archive member\'s '
               "folder is its class (a class-per-subfolder archive, `Shirt/001.png`). With labels "
               "the batch reports certified accuracy and ACR.")
FOLDER_LABELS = "folders"


class BatchFormBase(OptionsFormBase):
    file: list[UploadFile] = Field(
        default_factory=list, description="The images or videos (repeat the part), or one tar "
        "or zip archive whose members are the files.")
    labels: str | None = Field(default=None, max_length=2_000_000, description=LABELS_HELP)
    open: bool = Field(default=False, description="Keep the batch open for more files "
                       "(POST /batches/{id}/files) until POST /batches/{id}/close.")


class BatchFilesForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: list[UploadFile] = Field(description="More files for an open batch, or one archive.")
    labels: str | None = Field(default=None, max_length=2_000_000, description=LABELS_HELP)


if TYPE_CHECKING:
    BatchForm = BatchFormBase
else:
    BatchForm = create_model("BatchForm", __base__=BatchFormBase, **option_fields())


def read_files(parts: list[UploadFile], settings: Settings,
               limits: FileLimits | None = None) -> list[NamedFile]:
    limits = limits or FileLimits.from_settings(settings)
    raw = [(part.filename, part.file.read(limits.max_total_bytes + 1)) for part in parts]
    files = request_files(raw, limits)
    for named in files:
        if len(named.data) > settings.max_upload_bytes:
            raise ApiError(413, "payload_too_large",
                           f"{named.name!r} exceeds {settings.max_upload_bytes} bytes.",
                           field="file")
    return files


def sniffed(files: list[NamedFile]) -> tuple[list[str], MediaKind | None]:
    """Each file's media type; every file of a batch must be of one kind (image or video)."""
    types, kinds = [], set()
    for named in files:
        try:
            media_type, kind = sniff_upload(named.data)
        except ApiError as exc:
            raise ApiError(exc.status_code, exc.code, f"{named.name!r}: {exc.detail}",
                           field="file") from None
        types.append(media_type)
        kinds.add(kind)
    if len(kinds) > 1:
        raise ApiError(422, "model_media_mismatch", "A batch holds images or videos, not both.",
                       field="file")
    return types, (kinds.pop() if kinds else None)


def parse_labels(text: str | None, names: list[str], model: ServedModel) -> dict[str, int]:
    if not text:
        return {}
    if text.strip() == FOLDER_LABELS:
        return folder_labels(names, model)
    try:
        given = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(422, "invalid_labels", f"`labels` is not JSON: {exc}.", field="labels") from None
    if not isinstance(given, dict):
        raise ApiError(422, "invalid_labels", "`labels` must be a JSON object: name -> class.",
                       field="labels")
    classes = [str(c) for c in model.info.manifest.get("class_names") or []]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ApiError(422, "invalid_labels", f"`labels` names files not in this request: "
                       f"{unknown[:5]}.", field="labels")
    return {name: _class_index(name, value, classes) for name, value in given.items()}


def folder_labels(names: list[str], model: ServedModel) -> dict[str, int]:
    """Each file's class is its folder's name, a class name of the model (or a class index).

    By name only, never by sorted folder order: an open batch grows request by
    request, and one request need not hold every class.
    """
    classes = [str(c) for c in model.info.manifest.get("class_names") or []]
    labels = {}
    for name in names:
        folder = name.rsplit("/", 2)[-2] if "/" in name else ""
        if folder in classes:
            labels[name] = classes.index(folder)
        elif folder.isdigit() and int(folder) < len(classes):
            labels[name] = int(folder)
        else:
            what = f"folder {folder!r}" if folder else "no folder"
            raise ApiError(422, "invalid_labels", f"`labels=folders`: {name!r} is in {what}, which "
                           f"is not a class of model {model.info.name!r} (classes: "
                           f"{classes[:5]}{' ...' if len(classes) > 5 else ''}).", field="labels")
    return labels


def _class_index(name: str, value: Any, classes: list[str]) -> int:
    if isinstance(value, str) and value in classes:
        return classes.index(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0 and (
            not classes or value < len(classes)):
        return value
    raise ApiError(422, "invalid_labels", f"Label {value!r} of {name!r} is neither a class index "
                   f"nor a class name of the model ({len(classes)} classes).", field="labels")


def queued_files(
    queue: JobQueue, owner: str, files: list[NamedFile], media_types: list[str],
    kind: MediaKind, model: str, options: CertifyOptions, labels: dict[str, int],
    source: ModelSource | None = None,
) -> list[QueuedFile]:
    """Each file as the job it becomes (queued with its batch in one transaction)."""
    return [QueuedFile(queue.new_job_id(),
                       build_payload(queue, named.data, media_type, kind, model, options,
                                     owner=owner, source=source),
                       named.data, named.name, labels.get(named.name))
            for named, media_type in zip(files, media_types, strict=True)]
