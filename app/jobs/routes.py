"""Submitting, polling, listing and canceling certification jobs."""

import json
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BeforeValidator

from app.http.callbacks import checked_callback
from app.http.deps import (
    API_KEY_SECURITY,
    Caller,
    CallerDep,
    api_key_header,
    caller_of,
)
from app.http.errors import ERROR_RESPONSES, ApiError
from app.http.idempotency import Idempotency, IdempotencyKey
from app.jobs.cache import RenderedView
from app.jobs.form import CERTIFY_FORM_BODY, CertifyForm, validated_form
from app.jobs.queue import JobQueue, JobQueueDep
from app.jobs.reads import JOB_ID, JobReads, JobReadsDep, job_not_found
from app.jobs.submission import build_payload, choose_model, sniff_upload
from app.jobs.views import JOB_VIEW, JobVanished
from app.models.served import ServedModels
from certify_contract import ACTIVE_STATUSES, ErrorBody, JobPage, JobStatus, JobView, SubmittedJob
from certify_jobs.endings import CALLBACK_META, announce_job_end
from certify_store.records import CursorError, JobFilter

router = APIRouter()


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    described = {400: "Malformed or cut-short multipart body, or a cursor of no earlier page.",
                 404: "Unknown job id.", 408: "The body did not arrive in time.",
                 413: "Body over the upload limit.",
                 409: "A request with this Idempotency-Key is still being handled.",
                 415: "Not a supported image or video (sniffed from the bytes).",
                 429: "Over this API key's queued jobs or hourly samples (Retry-After).",
                 422: "Invalid or unknown option, option combination, model or empty file."}
    own: dict[int | str, dict[str, object]] = {
        c: {"model": ErrorBody, "description": described[c]} for c in codes
    }
    return {**ERROR_RESPONSES, **own}


def _accepted(response: Response, job_id: str, state: JobStatus, key: str | None) -> SubmittedJob:
    url = f"/jobs/{job_id}"
    response.headers["Location"] = url
    return SubmittedJob(job_id=job_id, status=state, status_url=url, idempotency_key=key)


# The form is parsed here and validated by pydantic directly: FastAPI's own handling of a
# form model cost more than everything else a submission does. The document still shows
# the form (`CERTIFY_FORM_BODY`, its schema added by `install_openapi`).
@router.post("/certify", status_code=status.HTTP_202_ACCEPTED, response_model=SubmittedJob,
             responses=_errors(400, 408, 409, 413, 415, 422, 429), tags=["jobs"],
             openapi_extra={"requestBody": CERTIFY_FORM_BODY})
async def submit(request: Request, response: Response, caller: CallerDep,
                 idempotency_key: IdempotencyKey = None) -> SubmittedJob:
    """Queue a certification; answers at once with the job to poll."""
    async with request.form(max_files=1) as fields:
        form = validated_form(fields)
        return await run_in_threadpool(_submit, request, response, caller, form,
                                       idempotency_key)


def _submit(request: Request, response: Response, caller: Caller, form: CertifyForm,
            idempotency_key: str | None) -> SubmittedJob:
    state = request.app.state
    queue: JobQueue = state.job_queue
    reads: JobReads = state.job_reads
    models: ServedModels = state.served_models
    principal = caller.principal
    settings = queue.backend.settings
    data = form.file.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise ApiError(413, "payload_too_large",
                       f"The file exceeds {settings.max_upload_bytes} bytes.", field="file")
    media_type, kind = sniff_upload(data)
    model = choose_model(models, form, kind, state.model_registry, caller)
    callback = checked_callback(settings, form.callback_url)
    job_id = queue.new_job_id()
    idempotency = Idempotency(queue.backend)
    with idempotency.once(principal, "", idempotency_key, job_id,
                          reads.exists) as slot:
        if slot.earlier is not None:
            state = reads.status_of(slot.earlier) or "queued"
            return _accepted(response, slot.earlier, state,  # type: ignore[arg-type]
                             idempotency_key)
        queue.admit(principal, form.options())
        payload = build_payload(queue, data, media_type, kind, model.info.name, form.options(),
                                owner=principal, source=model.source)
        queue.enqueue(payload, job_id, owner=principal, upload=data,
                      meta={CALLBACK_META: callback} if callback else None, claim=slot.claim)
    return _accepted(response, job_id, "queued", idempotency_key)


def _rendered(reads: JobReads, job_id: str, caller: Caller) -> RenderedView:
    """The long way (rq's job and result, else the job's record), remembered once ended."""
    return reads.rendered(job_id, caller)


IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False,
                 "description": "The ETag of an earlier answer: 304 while the view is unchanged.",
                 "schema": {"type": "string"}}


# If-None-Match and X-API-Key are read from the request, not declared: on the hot path
# every declared parameter costs FastAPI's validation; the document still lists both.
@router.get("/jobs/{job_id}", response_model=JobView, responses=_errors(404), tags=["jobs"],
            openapi_extra={"parameters": [IF_NONE_MATCH], "security": API_KEY_SECURITY})
async def get_job(job_id: str, request: Request) -> Response:
    """Status, progress, and the certificate or error of one job.

    Carries an ETag (304 when unchanged) and, while the job is queued or running,
    `Retry-After`: the seconds to wait before polling again.
    """
    # No dependencies: polls are the hot path, and FastAPI's solving costs more than the read.
    caller = caller_of(request.app.state.settings, request.headers.get(api_key_header.model.name))
    reads: JobReads = request.app.state.job_reads
    cached = await reads.ended_views.get(reads.backend.async_redis, job_id) \
        if JOB_ID.match(job_id) else None
    if cached is None:
        cached = await run_in_threadpool(_rendered, reads, job_id, caller)
    elif not caller.may_see(cached.owner):
        raise job_not_found(job_id)
    return cached.response(request.headers.get("if-none-match"))


@router.delete("/jobs/{job_id}", response_model=JobView, status_code=status.HTTP_202_ACCEPTED,
               responses=_errors(404), tags=["jobs"])
def cancel_job(job_id: str, reads: JobReadsDep, queue: JobQueueDep, caller: CallerDep) -> JobView:
    """Cancel: a queued job never runs; a running one stops within one batch."""
    if JOB_ID.match(job_id) and reads.fetch(job_id) is None:  # ended and recorded: as it is
        return JOB_VIEW.validate_json(reads.rendered(job_id, caller).body)
    job = reads.find(job_id, caller)
    try:
        view = reads.view(job)
    except JobVanished:  # ended and recorded as we read it
        return JOB_VIEW.validate_json(reads.rendered(job_id, caller).body)
    if view.status in ACTIVE_STATUSES:
        queue.cancel(job)
        # A job canceled before any worker took it ends here: its webhook and batch learn it now.
        announce_job_end(queue.backend.redis, queue.backend.settings, job)
        view = reads.view(reads.fetch(job_id) or job)
    return view


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _iso_only(value: Any) -> Any:
    # Pydantic would read a bare number as seconds since 1970; the filter is documented as ISO 8601.
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("expected an ISO 8601 time (2026-12-05T10:00:00Z), not a number")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_only)]


@router.get("/jobs", response_model=JobPage, responses=_errors(400), tags=["jobs"])
def list_jobs(
    reads: JobReadsDep, caller: CallerDep,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    model: Annotated[str | None, Query(max_length=200, description="Only this model's jobs.")] = None,
    created_after: Annotated[IsoTime | None, Query(
        description="Only jobs created at or after this time (ISO 8601).")] = None,
    created_before: Annotated[IsoTime | None, Query(
        description="Only jobs created before this time (ISO 8601).")] = None,
    cursor: Annotated[str | None, Query(
        max_length=200, description="`next_cursor` of the previous page.")] = None,
) -> Response:
    """Jobs of the caller's key (an admin key: everyone's), newest first, from the record
    database (with live views of running jobs); Redis's recent jobs while it is away."""
    owner = None if caller.admin else caller.principal
    where = JobFilter(owner, [status_filter] if status_filter else [], model, created_after,
                      created_before)
    try:
        stored = reads.archive.page(where, limit, cursor, offset, reads.live_rendered)
    except CursorError as exc:
        raise ApiError(400, "invalid_cursor", str(exc), field="cursor") from None
    next_cursor = None
    if stored is not None:
        bodies, more, next_cursor = stored.bodies, stored.more, stored.next_cursor
    elif model or created_after or created_before or cursor:
        raise ApiError(503, "records_unavailable", "The record database is unreachable; filters "
                       "and cursors need it. Retry shortly.", headers={"Retry-After": "5"})
    else:
        bodies, more = reads.list_rendered(status_filter, offset, limit, owner)
    # The views are JSON already (ended ones straight from storage): joined, not re-encoded.
    page = {"offset": offset, "limit": limit, "next_offset": offset + limit if more else None,
            "next_cursor": next_cursor}
    tail = json.dumps(page, separators=(",", ":"))[1:]
    body = b'{"jobs":[' + b",".join(bodies) + b"]," + tail.encode()
    return Response(body, media_type="application/json")
