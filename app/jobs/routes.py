"""Submitting, polling, listing and canceling certification jobs."""

import json
import re
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from rq.job import Job

from app.deps import (
    API_KEY_SECURITY,
    Caller,
    CallerDep,
    PrincipalDep,
    StoreDep,
    api_key_header,
    caller_of,
)
from app.errors import ERROR_RESPONSES, ApiError
from app.form import CERTIFY_FORM_BODY, CertifyForm, validated_form
from app.idempotency import claim_or_join
from app.job_cache import RenderedView
from app.schemas import JobList, JobView, SubmitResponse
from app.store import JobStore, owner_of
from app.submission import build_payload, choose_model, sniff_upload
from app.webhook_guard import checked_callback
from certify_contract import ErrorBody
from certify_jobs.contract import JobStatus
from certify_jobs.endings import CALLBACK_META, announce_job_end
from certify_settings import Settings

router = APIRouter()
JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    described = {400: "Malformed or cut-short multipart body.",
                 404: "Unknown job id.", 408: "The body did not arrive in time.",
                 413: "Body over the upload limit.",
                 415: "Not a supported image or video (sniffed from the bytes).",
                 422: "Invalid or unknown option, option combination, model or empty file."}
    own: dict[int | str, dict[str, object]] = {
        c: {"model": ErrorBody, "description": described[c]} for c in codes
    }
    return {**ERROR_RESPONSES, **own}


def _accepted(response: Response, job_id: str, state: JobStatus) -> SubmitResponse:
    url = f"/jobs/{job_id}"
    response.headers["Location"] = url
    return SubmitResponse(job_id=job_id, status=state, status_url=url)


def find_job(store: JobStore, job_id: str, caller: Caller) -> Job:
    """The one lookup of a job by id, for every route that takes one.

    Another tenant's job answers exactly as an unknown one (same status and body), so a key
    cannot even learn that an id exists.
    """
    job = store.fetch(job_id) if JOB_ID.match(job_id) else None
    if job is None or not caller.may_see(owner_of(job)):
        raise job_not_found(job_id)
    return job


def job_not_found(job_id: str) -> ApiError:
    return ApiError(404, "job_not_found", f"No job {job_id!r} (unknown or expired).")


def _existing(store: JobStore, job_id: str, caller: Caller) -> JobView:
    return store.view(find_job(store, job_id, caller))


# The form is parsed here and validated by pydantic directly: FastAPI's own handling of a
# form model cost more than everything else a submission does. The document still shows
# the form (`CERTIFY_FORM_BODY`, its schema added by `install_openapi`).
@router.post("/certify", status_code=status.HTTP_202_ACCEPTED, response_model=SubmitResponse,
             responses=_errors(400, 408, 413, 415, 422), tags=["jobs"],
             openapi_extra={"requestBody": CERTIFY_FORM_BODY})
async def submit(
    request: Request, response: Response, principal: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(max_length=200, description=(
        "Retrying a POST with the same key returns the first job instead of a new one."))] = None,
) -> SubmitResponse:
    """Queue a certification; answers at once with the job to poll."""
    store: JobStore = request.app.state.store
    settings: Settings = request.app.state.settings
    async with request.form(max_files=1) as fields:
        form = validated_form(fields)
        return await run_in_threadpool(_submit, response, store, settings, principal, form,
                                       idempotency_key)


def _submit(
    response: Response, store: JobStore, settings: Settings, principal: str, form: CertifyForm,
    idempotency_key: str | None,
) -> SubmitResponse:
    data = form.file.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise ApiError(413, "payload_too_large",
                       f"The file exceeds {settings.max_upload_bytes} bytes.")
    media_type, kind = sniff_upload(data)
    model = choose_model(store, form, kind)
    callback = checked_callback(settings, form.callback_url)
    job_id = store.new_job_id()
    if idempotency_key is not None:
        earlier = claim_or_join(store, principal, idempotency_key, job_id)
        if earlier is not None:
            return _accepted(response, *earlier)
    try:
        payload = build_payload(store, data, media_type, kind, model.info.name, form.options(),
                                owner=principal)
        store.enqueue(payload, job_id, owner=principal, upload=data,
                      meta={CALLBACK_META: callback} if callback else None)
    except Exception:
        # The key must not point at a job that was never queued: let the retry create it.
        if idempotency_key is not None:
            store.release_idempotency(principal, idempotency_key)
        raise
    return _accepted(response, job_id, "queued")


def _rendered(store: JobStore, job_id: str, caller: Caller) -> RenderedView:
    """The long way (rq's job and result), remembered once the job has ended."""
    return store.render(find_job(store, job_id, caller))


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
    store: JobStore = request.app.state.store
    cached = await store.ended_views.get(store.async_redis, job_id) if JOB_ID.match(job_id) \
        else None
    if cached is None:
        cached = await run_in_threadpool(_rendered, store, job_id, caller)
    elif not caller.may_see(cached.owner):
        raise job_not_found(job_id)
    return cached.response(request.headers.get("if-none-match"))


@router.delete("/jobs/{job_id}", response_model=JobView, status_code=status.HTTP_202_ACCEPTED,
               responses=_errors(404), tags=["jobs"])
def cancel_job(job_id: str, store: StoreDep, caller: CallerDep) -> JobView:
    """Cancel: a queued job never runs; a running one stops within one batch."""
    view = _existing(store, job_id, caller)
    if view.status in ("queued", "running"):
        job = store.fetch(job_id)
        if job is not None:
            store.cancel(job)
            # A job canceled before any worker took it ends here: its webhook and batch learn it now.
            announce_job_end(store.redis, store.settings, job)
            view = store.view(job)
    return view


@router.get("/jobs", response_model=JobList, responses=ERROR_RESPONSES, tags=["jobs"])
def list_jobs(
    store: StoreDep, caller: CallerDep,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Recent jobs of the caller's key (an admin key: everyone's), newest first."""
    owner = None if caller.admin else caller.principal
    bodies, more = store.list_rendered(status_filter, offset, limit, owner)
    # The views are JSON already (ended ones straight from Redis): joined, not re-encoded.
    page = {"offset": offset, "limit": limit, "next_offset": offset + limit if more else None}
    tail = json.dumps(page, separators=(",", ":"))[1:]
    body = b'{"jobs":[' + b",".join(bodies) + b"]," + tail.encode()
    return Response(body, media_type="application/json")
