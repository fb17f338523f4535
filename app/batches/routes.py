"""Batches: many files, one set of options, one job per file on the ordinary queue.

`POST /batches` answers 202 at once; `GET /batches/{id}` counts the jobs by
status and, with labels, reports `certify evaluate`'s metrics as jobs end;
`GET /batches/{id}/results.tsv` is the reference TSV. A batch larger than
one request is built open (`open=true`), grown with `POST /batches/{id}/files`
and closed with `POST /batches/{id}/close`.
"""

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Query, Response, status
from fastapi.responses import PlainTextResponse

from app.batch_intake import BatchFilesForm, BatchForm, enqueue_files, parse_labels, read_files, sniffed
from app.batch_schemas import BatchItem, BatchItemPage, BatchList, BatchView
from app.batch_views import batch_view, results_tsv
from app.batches import BatchRecord, BatchStore
from app.deps import PrincipalDep, SettingsDep, StoreDep
from app.errors import ERROR_RESPONSES, ApiError
from app.store import JobStore
from app.submission import served_model
from app.webhook_guard import checked_callback
from certify_contract import CertifyOptions, ErrorBody
from certify_jobs.endings import check_batch_end

router = APIRouter(tags=["batches"])
BATCH_ID = re.compile(r"^[0-9a-f]{32}$")
IdempotencyKey = Annotated[str | None, Header(max_length=200, description=(
    "Retrying the POST with the same key returns the first answer instead of doing it twice."))]


def get_batches(store: StoreDep) -> BatchStore:
    return BatchStore(store)


BatchesDep = Annotated[BatchStore, Depends(get_batches)]


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    described = {404: "Unknown batch id (or another key's batch).",
                 409: "The batch is closed or canceled.",
                 413: "Too many files, or a file or the body over its limit.",
                 415: "A file is not a supported image or video.",
                 422: "Invalid option, labels, archive, callback URL or model."}
    return {**ERROR_RESPONSES, **{c: {"model": ErrorBody, "description": described[c]}
                                  for c in codes}}


def _find(batches: BatchStore, batch_id: str, principal: str) -> BatchRecord:
    if not BATCH_ID.match(batch_id):
        raise ApiError(404, "batch_not_found", f"No batch {batch_id!r} (unknown or expired).")
    return batches.load(batch_id, principal)


def _view(batches: BatchStore, batch_id: str, principal: str, response: Response | None = None
          ) -> BatchView:
    record = _find(batches, batch_id, principal)
    if record.state != "open" and record.ended_at is None \
            and check_batch_end(batches.redis, batches.settings, batch_id):
        record = _find(batches, batch_id, principal)  # ended since: a worker's news was lost
    if response is not None:
        response.headers["Location"] = f"/batches/{batch_id}"
    return batch_view(batches, record)


def _replayed(store: JobStore, principal: str, key: str | None, scope: str, new_id: str
              ) -> str | None:
    return store.claim_idempotency(principal, f"{scope}:{key}", new_id) if key else None


@router.post("/batches", status_code=status.HTTP_202_ACCEPTED, response_model=BatchView,
             responses=_errors(413, 415, 422))
def create_batch(
    response: Response, store: StoreDep, batches: BatchesDep, settings: SettingsDep,
    principal: PrincipalDep, form: Annotated[BatchForm, Form()],
    idempotency_key: IdempotencyKey = None,
) -> BatchView:
    """Queue one job per file (or archive member); answers at once with the batch."""
    callback = checked_callback(settings, form.callback_url)
    # An open batch may start empty; its files come with POST /batches/{id}/files.
    files = read_files(form.file, settings) if form.file or not form.open else []
    media_types, kind = sniffed(files)
    model = served_model(store, form.model, form.options(), kind or "image")
    labels = parse_labels(form.labels, [f.name for f in files], model)
    batch_id = store.new_job_id()
    earlier = _replayed(store, principal, idempotency_key, "batch", batch_id)
    if earlier is not None:
        return _view(batches, earlier, principal, response)
    try:
        batches.create(principal, model.info.name, model.info.kind, form.options(), callback,
                       batch_id)
        enqueue_files(batches, batch_id, principal, files, media_types, model.info.kind,  # type: ignore[arg-type]
                      model.info.name, form.options(), labels)
        if not form.open:
            batches.close(batches.load(batch_id, principal))
    except Exception:
        if idempotency_key is not None:
            store.release_idempotency(principal, f"batch:{idempotency_key}")
        raise
    return _view(batches, batch_id, principal, response)


@router.post("/batches/{batch_id}/files", status_code=status.HTTP_202_ACCEPTED,
             response_model=BatchView, responses=_errors(404, 409, 413, 415, 422))
def add_files(
    batch_id: str, response: Response, store: StoreDep, batches: BatchesDep,
    settings: SettingsDep, principal: PrincipalDep, form: Annotated[BatchFilesForm, Form()],
    idempotency_key: IdempotencyKey = None,
) -> BatchView:
    """Add files to an open batch (up to CERTIFY_BATCH_MAX_FILES_PER_REQUEST per request)."""
    record = _find(batches, batch_id, principal)
    if record.state != "open":
        raise ApiError(409, "batch_closed", f"Batch {batch_id} is {record.state}; "
                       "files can be added only while it is open.")
    files = read_files(form.file, settings)
    media_types, kind = sniffed(files)
    options = CertifyOptions.from_dict(record.options)
    model = served_model(store, record.model, options, kind or record.kind)  # type: ignore[arg-type]
    labels = parse_labels(form.labels, [f.name for f in files], model)
    scope = f"batch-files:{batch_id}"
    if _replayed(store, principal, idempotency_key, scope, batch_id) is not None:
        return _view(batches, batch_id, principal, response)
    try:
        enqueue_files(batches, batch_id, principal, files, media_types, model.info.kind,  # type: ignore[arg-type]
                      model.info.name, options, labels)
    except Exception:
        if idempotency_key is not None:
            store.release_idempotency(principal, f"{scope}:{idempotency_key}")
        raise
    return _view(batches, batch_id, principal, response)


@router.post("/batches/{batch_id}/close", response_model=BatchView, responses=_errors(404))
def close_batch(batch_id: str, batches: BatchesDep, principal: PrincipalDep) -> BatchView:
    """No more files; the batch ends (and its webhook fires) when its last job ends."""
    batches.close(_find(batches, batch_id, principal))
    return _view(batches, batch_id, principal)


@router.get("/batches/{batch_id}", response_model=BatchView, responses=_errors(404))
def get_batch(batch_id: str, batches: BatchesDep, principal: PrincipalDep) -> BatchView:
    """Counts by status, progress and, with labels, certified accuracy and ACR so far."""
    return _view(batches, batch_id, principal)


@router.delete("/batches/{batch_id}", response_model=BatchView,
               status_code=status.HTTP_202_ACCEPTED, responses=_errors(404))
def cancel_batch(batch_id: str, batches: BatchesDep, principal: PrincipalDep) -> BatchView:
    """Cancel the jobs that have not ended; the ended ones keep their results."""
    batches.cancel(_find(batches, batch_id, principal))
    return _view(batches, batch_id, principal)


@router.get("/batches/{batch_id}/jobs", response_model=BatchItemPage, responses=_errors(404))
def batch_jobs(
    batch_id: str, batches: BatchesDep, principal: PrincipalDep,
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> BatchItemPage:
    """The batch's files in order, each with its job's view (certificate included)."""
    record = _find(batches, batch_id, principal)
    items = [BatchItem(index=item["index"], name=item["name"], label=item.get("label"), job=view)
             for item, view in batches.jobs_page(batch_id, offset, limit)]
    more = offset + limit < record.total
    return BatchItemPage(items=items, offset=offset, limit=limit,
                         next_offset=offset + limit if more else None)


@router.get("/batches/{batch_id}/results.tsv", response_class=PlainTextResponse,
            responses={**_errors(404), 200: {"content": {"text/tab-separated-values": {}},
                                             "description": "One row per succeeded job."}})
def batch_results(batch_id: str, batches: BatchesDep, principal: PrincipalDep) -> Response:
    """`idx name label predict radius correct time` (predict -1 on abstain), as jobs end."""
    text = results_tsv(batches, _find(batches, batch_id, principal))
    return PlainTextResponse(text, media_type="text/tab-separated-values")


@router.get("/batches", response_model=BatchList, responses=ERROR_RESPONSES)
def list_batches(
    batches: BatchesDep, principal: PrincipalDep,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BatchList:
    """This key's batches, newest first."""
    ids, more = batches.owned(principal, offset, limit)
    views = []
    for batch_id in ids:
        try:
            views.append(_view(batches, batch_id, principal))
        except ApiError:  # expired since it was listed
            continue
    return BatchList(batches=views, offset=offset, limit=limit,
                     next_offset=offset + limit if more else None)
