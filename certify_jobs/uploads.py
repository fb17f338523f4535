"""Uploads on disk, content-addressed per owner, freed after the last job that needs them.

The API stores an upload as a blob (`certify_store.blobs`) under
`<data dir>/uploads` before it queues the job; the payload names the blob by
its key `<owner>/<sha256>` and its hash, never by carrying the bytes. Each job
holds the blob until it ends; whoever ends the job (the worker, the crash
handler, a cancel) releases it, and it is then kept `CERTIFY_UPLOAD_RETENTION`
(0: deleted at once) for `GET /jobs/{id}/input` and `certify verify --input`.
The API and the workers must share the folder (one machine, or a shared volume).
"""

import logging
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from certify_settings import Settings
from certify_store.blobs import BlobNotFound, BlobStore

log = logging.getLogger(__name__)


def upload_store(settings: Settings) -> BlobStore:
    return BlobStore(settings.data_dir_or_default / "uploads")


def read_upload(blobs: BlobStore, redis: Redis, upload_key: str) -> bytes | None:
    """The upload's bytes, or None once it is gone. A key that is not a blob's is a Redis key
    of a job queued by an earlier version (uploads used to live in Redis)."""
    try:
        return blobs.read(upload_key)
    except BlobNotFound:
        return None
    except ValueError:
        try:
            data = redis.get(upload_key)
        except RedisError:
            return None
        return data if isinstance(data, bytes) else None


def release_for_job(blobs: BlobStore, upload_key: str, job_id: str, retention_s: int) -> None:
    """`job_id` no longer needs the upload. Best effort: an error is logged, and
    `certify uploads prune` frees what a missed release left."""
    try:
        blobs.release(upload_key, job_id, retention_s)
    except ValueError:  # an earlier version's Redis key: its TTL frees it
        return
    except OSError as exc:
        log.warning("Could not release the upload of job %s: %s", job_id, exc)


def upload_key_of(job_args: Any) -> str | None:
    """The upload key in a job's payload (its first argument), if it has a readable one."""
    payload = job_args[0] if isinstance(job_args, list | tuple) and job_args else None
    key = payload.get("upload_key") if isinstance(payload, dict) else None
    return key if isinstance(key, str) else None
