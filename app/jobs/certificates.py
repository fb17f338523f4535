"""`GET /jobs/{job_id}/certificate` (the signed document) and `GET /.well-known/certify-keys`.

A succeeded job's certificate is signed when its record is written
(`app.records`); the document and the published keys are all that
`certify verify` needs. The keys are public: every key the service ever signed
with, so certificates signed before a rotation still verify.
"""

import json

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import SQLAlchemyError

from app.http.deps import CallerDep
from app.http.errors import ERROR_RESPONSES, ApiError
from app.jobs.reads import JOB_ID, JobReadsDep, job_not_found, owner_of
from certify_contract import ErrorBody, SignedCertificate, SigningKey, SigningKeys
from certify_store.signatures import served_form

router = APIRouter()
RECORDING_S = "1"  # Retry-After while an ended job's record is being written


# The document goes out as stored, never re-serialized: the signature covers its values.
@router.get("/jobs/{job_id}/certificate", tags=["jobs"], response_class=Response, responses={
    **ERROR_RESPONSES, 404: {"model": ErrorBody, "description": "Unknown job id."},
    409: {"model": ErrorBody, "description": "No certificate (yet): the job has not succeeded."},
    200: {"model": SignedCertificate,
          "description": "The signed certificate (`certify verify FILE` checks it)."}})
async def job_certificate(job_id: str, reads: JobReadsDep, caller: CallerDep) -> Response:
    """The certificate signed with the service's Ed25519 key, with everything it was certified
    from: the input's sha256, the model's name and sha256, the options, the seed, the code
    version, the issue time and the key's id."""
    if not JOB_ID.match(job_id):
        raise job_not_found(job_id)
    try:
        record = await run_in_threadpool(reads.backend.records.job, job_id)
    except SQLAlchemyError:
        raise ApiError(503, "records_unavailable", "The record database is unreachable; retry "
                       "shortly.", headers={"Retry-After": "5"}) from None
    if record is None:
        live = await run_in_threadpool(reads.fetch, job_id)
        if live is None or not caller.may_see(owner_of(live)):
            raise job_not_found(job_id)
        raise ApiError(409, "no_certificate", f"Job {job_id} has no signed certificate yet.",
                       headers={"Retry-After": RECORDING_S})
    if not caller.may_see(record.owner):
        raise job_not_found(job_id)
    if record.signed_certificate is None:
        detail = (f"Job {job_id} is {record.status}: only a succeeded job has a certificate."
                  if record.status != "succeeded" or record.stage == 2 else
                  f"The record of job {job_id} is being written; retry shortly.")
        raise ApiError(409, "no_certificate", detail, headers={"Retry-After": RECORDING_S})
    document = served_form(record.signed_certificate, record.view["result"])
    return Response(json.dumps(document, separators=(",", ":")),
                    media_type="application/json")


@router.get("/.well-known/certify-keys", tags=["jobs"], response_model=SigningKeys)
async def signing_keys(reads: JobReadsDep) -> SigningKeys:
    """Every public key that signed this service's certificates (old keys stay after a
    rotation), by key id."""
    keys = await run_in_threadpool(reads.backend.keyring.public_keys)
    return SigningKeys([SigningKey(**key.to_dict()) for key in keys])
