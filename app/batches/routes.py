"""Batches: many files, one set of options, one job per file on the ordinary queue.

`POST /batches` answers 202 at once; `GET /batches/{id}` counts the jobs by
status and, with labels, reports `certify evaluate`'s metrics as jobs end;
`GET /batches/{id}/results.tsv` is the reference TSV. A batch larger than
one request is built open (`open=true`), grown with `POST /batches/{id}/files`
and closed with `POST /batches/{id}/close`.
"""

import re
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Response, status
from fastapi.responses import PlainTextResponse
from pydantic import TypeAdapter
from sqlalchemy.exc import SQLAlchemyError

from app.batches.intake import (
    BatchFilesForm,
    BatchForm,
    parse_labels,
    queued_files,
    read_files,
    sniffed,
)
from app.batches.store import BatchesDep, BatchRecord, BatchStore, batch_not_found
from app.batches.views import batch_view, results_tsv
from app.http.callbacks import checked_callback
from app.http.deps import Caller, CallerDep, SettingsDep
from app.http.errors import ERROR_RESPONSES, ApiError
from app.http.idempotency import IdempotencyDep, IdempotencyKey
from app.jobs.queue import JobQueueDep
from app.jobs.reads import JobReadsDep
from app.jobs.submission import served_model
from app.models.served import ServedModelsDep
from app.registry.store import ModelRegistryDep
from certify_contract import BatchItem, BatchItemPage, BatchList, BatchView, ErrorBody
from certify_jobs.endings import check_batch_end
from certify_settings.platform import MAX_BATCH_FILES

STORED_BATCH = TypeAdapter(BatchView)

router = APIRouter(tags=["batches"])
BATCH_ID = re.compile(r"^[0-9a-f]{32}$")


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    described = {404: "Unknown batch id (or another key's batch).",
                 409: "The batch is closed or canceled, or a request with this "
                      "Idempotency-Key is still being handled.",
                 429: "Over this API key's queued jobs or hourly samples (Retry-After).",
                 413: "Too many files, or a file or the body over its limit.",
                 415: "A file is not a supported image or video.",
                 422: "Invalid option, labels, archive, callback URL or model."}
    return {**ERROR_RESPONSES, **{c: {"model": ErrorBody, "description": described[c]}
                                  for c in codes}}


def _find(batches: BatchStore, batch_id: str, caller: Caller) -> BatchRecord:
    if not BATCH_ID.match(batch_id):
        raise batch_not_found(batch_id)
    return batches.load(batch_id, caller)


def _view(batches: BatchStore, batch_id: str, caller: Caller, response: Response | None = None
          ) -> BatchView:
    record = _find(batches, batch_id, caller)
    if record.state != "open" and record.ended_at is None \
            and check_batch_end(batches.redis, batches.settings, batch_id):
        record = _find(batches, batch_id, caller)  # ended since: a worker's news was lost
    if response is not None:
        response.headers["Location"] = f"/batches/{batch_id}"
    return batch_view(batches, record)


def _exists(batches: BatchStore, caller: Caller) -> Callable[[str], bool]:
    """Whether a batch id is visible yet (a duplicate POST waits for the first one's batch)."""

    def visible(batch_id: str) -> bool:
        try:
            batches.load(batch_id, caller)
        except ApiError:
            return False
        return True

    return visible


@router.post("/batches", status_code=status.HTTP_202_ACCEPTED, response_model=BatchView,
             responses=_errors(409, 413, 415, 422, 429))
def create_batch(
    response: Response, batches: BatchesDep, queue: JobQueueDep, models: ServedModelsDep,
    idempotency: IdempotencyDep, settings: SettingsDep, caller: CallerDep,
    registry: ModelRegistryDep, form: Annotated[BatchForm, Form()],
    idempotency_key: IdempotencyKey = None,
) -> BatchView:
    """Queue one job per file (or archive member); answers at once with the batch."""
    callback = checked_callback(settings, form.callback_url)
    # An open batch may start empty; its files come with POST /batches/{id}/files.
    files = read_files(form.file, settings) if form.file or not form.open else []
    media_types, kind = sniffed(files)
    # A registered model is resolved once: the batch stays on that version (`name@version`).
    model = served_model(models, form.model, form.options(), kind or "image", registry, caller)
    labels = parse_labels(form.labels, [f.name for f in files], model)
    batch_id, principal = queue.new_job_id(), caller.principal
    with idempotency.once(principal, "batch", idempotency_key, batch_id,
                          _exists(batches, caller)) as slot:
        if slot.earlier is not None:
            return _view(batches, slot.earlier, caller, response)
        queue.admit(principal, form.options(), len(files))
        queued = queued_files(queue, principal, files, media_types, model.info.kind,
                              model.info.name, form.options(), labels, model.source)
        batches.create(principal, model.info.name, model.info.kind, form.options(), callback,
                       batch_id, queued, closed=not form.open, claim=slot.claim, queue=queue)
    return _view(batches, batch_id, caller, response)


@router.post("/batches/{batch_id}/files", status_code=status.HTTP_202_ACCEPTED,
             response_model=BatchView, responses=_errors(404, 409, 413, 415, 422, 429))
def add_files(
    batch_id: str, response: Response, batches: BatchesDep, queue: JobQueueDep,
    models: ServedModelsDep, idempotency: IdempotencyDep, settings: SettingsDep,
    caller: CallerDep, registry: ModelRegistryDep, form: Annotated[BatchFilesForm, Form()],
    idempotency_key: IdempotencyKey = None,
) -> BatchView:
    """Add files to an open batch (up to CERTIFY_BATCH_MAX_FILES_PER_REQUEST per request)."""
    record = _find(batches, batch_id, caller)
    if record.state != "open":
        raise ApiError(409, "batch_closed", f"Batch {batch_id} is {record.state}; "
                       "files can be added only while it is open.")
    files = read_files(form.file, settings)
    media_types, kind = sniffed(files)
    model = served_model(models, record.model, record.options, kind or record.kind, registry,
                         caller)
    labels = parse_labels(form.labels, [f.name for f in files], model)
    # The files are added once: the key is bound to the batch in the transaction that adds them.
    with idempotency.once(caller.principal, f"batch-files:{batch_id}", idempotency_key,
                          batch_id, _exists(batches, caller)) as slot:
        if slot.earlier is None:
            queue.admit(caller.principal, record.options, len(files))
            queued = queued_files(queue, caller.principal, files, media_types, model.info.kind,
                                  model.info.name, record.options, labels, model.source)
            batches.add(batch_id, caller.principal, queued, claim=slot.claim, queue=queue)
    return _view(batches, batch_id, caller, response)


@router.post("/batches/{batch_id}/close", response_model=BatchView, responses=_errors(404))
def close_batch(batch_id: str, batches: BatchesDep, caller: CallerDep) -> BatchView:
    """No more files; the batch ends (and its webhook fires) when its last job ends."""
    batches.close(_find(batches, batch_id, caller))
    return _view(batches, batch_id, caller)


@router.get("/batches/{batch_id}", response_model=BatchView, responses=_errors(404))
def get_batch(batch_id: str, batches: BatchesDep, caller: CallerDep) -> BatchView:
    """Counts by status, progress and, with labels, certified accuracy and ACR so far; a batch
    that Redis no longer holds is read from its record."""
    try:
        return _view(batches, batch_id, caller)
    except ApiError as missing:
        try:
            stored = batches.backend.records.batch(batch_id) if BATCH_ID.match(batch_id) else None
        except SQLAlchemyError:
            raise missing from None
        if missing.status_code != 404 or stored is None or not caller.may_see(stored.owner):
            raise
        return STORED_BATCH.validate_python(stored.view)


@router.delete("/batches/{batch_id}", response_model=BatchView,
               status_code=status.HTTP_202_ACCEPTED, responses=_errors(404))
def cancel_batch(batch_id: str, batches: BatchesDep, queue: JobQueueDep, caller: CallerDep
                 ) -> BatchView:
    """Cancel the jobs that have not ended; the ended ones keep their results."""
    batches.cancel(_find(batches, batch_id, caller), queue)
    return _view(batches, batch_id, caller)


@router.get("/batches/{batch_id}/jobs", response_model=BatchItemPage, responses=_errors(404))
def batch_jobs(
    batch_id: str, batches: BatchesDep, reads: JobReadsDep, caller: CallerDep,
    offset: Annotated[int, Query(ge=0, le=MAX_BATCH_FILES)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> BatchItemPage:
    """The batch's files in order, each with its job's view (certificate included)."""
    record = _find(batches, batch_id, caller)
    items = [BatchItem(index=item["index"], name=item["name"], label=item.get("label"), job=view)
             for item, view in batches.jobs_page(batch_id, offset, limit, reads)]
    more = offset + limit < record.total
    return BatchItemPage(items=items, offset=offset, limit=limit,
                         next_offset=offset + limit if more else None)


@router.get("/batches/{batch_id}/results.tsv", response_class=PlainTextResponse,
            responses={**_errors(404), 200: {"content": {"text/tab-separated-values": {}},
                                             "description": "One row per succeeded job."}})
def batch_results(batch_id: str, batches: BatchesDep, caller: CallerDep) -> Response:
    """`idx name label predict radius correct time` (predict -1 on abstain), as jobs end."""
    text = results_tsv(batches, _find(batches, batch_id, caller))
    return PlainTextResponse(text, media_type="text/tab-separated-values")


@router.get("/batches", response_model=BatchList, responses=ERROR_RESPONSES)
def list_batches(
    batches: BatchesDep, caller: CallerDep,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BatchList:
    """This key's batches (an admin key: everyone's), newest first."""
    ids, more = batches.listed(caller, offset, limit)
    views = []
    for batch_id in ids:
        try:
            views.append(_view(batches, batch_id, caller))
        except ApiError:  # expired since it was listed
            continue
    return BatchList(batches=views, offset=offset, limit=limit,
                     next_offset=offset + limit if more else None)
