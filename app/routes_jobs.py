"""Submitting, polling, listing and canceling certification jobs."""

import re
from typing import Annotated

from fastapi import APIRouter, Form, Header, Query, Response, status
from rq.job import Job

from app.deps import PrincipalDep, SettingsDep, StoreDep
from app.errors import ERROR_RESPONSES, ApiError
from app.form import CertifyForm
from app.idempotency import claim_or_join
from app.schemas import JobList, JobView, SubmitResponse
from app.store import JobStore
from app.submission import build_payload, choose_model, sniff_upload
from app.webhook_guard import checked_callback
from certify_contract import ErrorBody
from certify_jobs.contract import JobStatus
from certify_jobs.endings import CALLBACK_META, announce_job_end

router = APIRouter()
JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    described = {404: "Unknown job id.", 413: "Body over the upload limit.",
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


def find_job(store: JobStore, job_id: str) -> Job:
    """The one lookup of a job by id, for every route that takes one: 404 when unknown."""
    job = store.fetch(job_id) if JOB_ID.match(job_id) else None
    if job is None:
        raise ApiError(404, "job_not_found", f"No job {job_id!r} (unknown or expired).")
    return job


def _existing(store: JobStore, job_id: str) -> JobView:
    return store.view(find_job(store, job_id))


@router.post("/certify", status_code=status.HTTP_202_ACCEPTED, response_model=SubmitResponse,
             responses=_errors(413, 415, 422), tags=["jobs"])
def submit(
    response: Response, store: StoreDep, settings: SettingsDep, principal: PrincipalDep,
    form: Annotated[CertifyForm, Form()],
    idempotency_key: Annotated[str | None, Header(max_length=200, description=(
        "Retrying a POST with the same key returns the first job instead of a new one."))] = None,
) -> SubmitResponse:
    """Queue a certification; answers at once with the job to poll."""
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
                                job_id)
        store.enqueue(payload, job_id, owner=principal,
                      meta={CALLBACK_META: callback} if callback else None)
    except Exception:
        # The key must not point at a job that was never queued: let the retry create it.
        if idempotency_key is not None:
            store.release_idempotency(principal, idempotency_key)
        raise
    return _accepted(response, job_id, "queued")


@router.get("/jobs/{job_id}", response_model=JobView, responses=_errors(404), tags=["jobs"])
def get_job(job_id: str, store: StoreDep, _: PrincipalDep) -> JobView:
    """Status, progress, and the certificate or error of one job."""
    return _existing(store, job_id)


@router.delete("/jobs/{job_id}", response_model=JobView, status_code=status.HTTP_202_ACCEPTED,
               responses=_errors(404), tags=["jobs"])
def cancel_job(job_id: str, store: StoreDep, _: PrincipalDep) -> JobView:
    """Cancel: a queued job never runs; a running one stops within one batch."""
    view = _existing(store, job_id)
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
    store: StoreDep, _: PrincipalDep,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JobList:
    """Recent jobs, newest first."""
    jobs, more = store.list_views(status_filter, offset, limit)
    return JobList(jobs=jobs, offset=offset, limit=limit,
                   next_offset=offset + limit if more else None)
