"""`GET /jobs/{job_id}/input`: the upload a job certified, while its stored copy lasts.

The job is found exactly as `GET /jobs/{job_id}` finds it (`JobReads.find`), so the
same callers may read it: its owner and admin keys. The bytes go back under the media type sniffed from
them at submission (only images and videos are ever accepted), with
`nosniff` and a sandboxing CSP: a browser shows them as media and never runs
them as a page.
"""

from fastapi import APIRouter, Response

from app.http.deps import CallerDep
from app.http.errors import ERROR_RESPONSES, ApiError
from app.jobs.reads import JobReadsDep
from certify_contract import ErrorBody
from certify_jobs.uploads import read_upload

router = APIRouter()

EXTENSIONS = {
    "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/bmp": "bmp",
    "image/tiff": "tif", "image/webp": "webp", "video/mp4": "mp4", "video/x-matroska": "mkv",
    "video/x-msvideo": "avi",
}
FALLBACK_TYPE = "application/octet-stream"
RESPONSES: dict[int | str, dict[str, object]] = {
    **ERROR_RESPONSES,
    200: {"content": {media_type: {} for media_type in EXTENSIONS},
          "description": "The uploaded bytes, unchanged."},
    404: {"model": ErrorBody, "description": "Unknown job id."},
    410: {"model": ErrorBody, "description": "The stored upload is gone: kept "
          "CERTIFY_UPLOAD_RETENTION after the job ended."},
}


def input_headers(job_id: str, media_type: str) -> dict[str, str]:
    extension = EXTENSIONS.get(media_type)
    disposition = f'inline; filename="job-{job_id}.{extension}"' if extension else "attachment"
    return {
        "X-Content-Type-Options": "nosniff",
        # Opened directly, the bytes are a sandboxed document that may load nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Content-Disposition": disposition,
        "Cache-Control": "private, no-store",
    }


@router.get("/jobs/{job_id}/input", response_class=Response, responses=RESPONSES, tags=["jobs"])
def job_input(job_id: str, reads: JobReadsDep, caller: CallerDep) -> Response:
    """The image or video the job certified, as uploaded, for as long as its upload is kept."""
    upload = reads.upload_of(job_id, caller)
    if upload is None:
        raise ApiError(404, "job_not_found", f"Job {job_id!r} has no readable upload.")
    upload_key, stored_type = upload
    backend = reads.backend
    data = read_upload(backend.blobs, backend.redis, upload_key)
    if data is None:
        raise ApiError(410, "upload_expired", "The stored upload of this job is gone; uploads are "
                       f"kept {backend.settings.upload_retention} s after their job ends.")
    # Only sniffed image and video types were stored; anything else is served as opaque bytes.
    media_type = stored_type if stored_type in EXTENSIONS else FALLBACK_TYPE
    return Response(data, media_type=media_type, headers=input_headers(job_id, media_type))
