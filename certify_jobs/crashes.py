"""The error of a job that crashed, chosen where rq handles the crash.

`record_crash` (or `crash_recorder`, which also frees the job's upload) is
an rq exception handler: the worker calls it when the task raises, and
`StartedJobRegistry.cleanup` (run by workers and by the API) calls it for a
job whose worker vanished. It names the error by the exception's type, never
by traceback text, and stores it in the job's meta for the API to read.
"""

from collections.abc import Callable
from dataclasses import asdict
from types import TracebackType
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.timeouts import JobTimeoutException

from certify_contract.errors import ErrorBody
from certify_jobs.contract import ERROR_META
from certify_jobs.unreadable import job_args
from certify_jobs.uploads import release_for_job, upload_key_of
from certify_store.blobs import BlobStore

CRASHES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], ErrorBody], ...] = (
    (AbandonedJobError, ErrorBody("worker_lost", "The worker running this job stopped (killed or "
                                  "lost) and no retries were left.")),
    (JobTimeoutException, ErrorBody("job_timeout", "The job exceeded the job time limit.")),
    ((RedisConnectionError, RedisTimeoutError, OutOfMemoryError), ErrorBody(
        "redis_interrupted", "The job store (Redis) went away or was full while this job ran, "
        "and no retries were left.")),
)
UNEXPECTED = ErrorBody("internal_error", "The worker failed unexpectedly on this job.")


def crash_error(kind: type[BaseException] | None) -> ErrorBody:
    for crash, error in CRASHES:
        if kind is not None and issubclass(kind, crash):
            return error
    return UNEXPECTED


def record_crash(job: Job, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None, *_: Any) -> bool:
    """Store the crash's `ErrorBody` in the job's meta; True lets later handlers run too.

    Never raises on a job whose data or meta is not JSON (rq calls this inside its own
    loops, where an exception would stop the worker).
    """
    if getattr(job, "_unreadable_meta", None) is not None:
        job.meta = {}  # rq's placeholder for meta it could not read does not serialize
    job.meta[ERROR_META] = asdict(crash_error(kind))
    job.save_meta()
    return True


def crash_recorder(blobs: BlobStore, retention_s: int) -> Callable[..., bool]:
    """`record_crash`, which also frees the job's upload when no retry will need it."""

    def record(job: Job, kind: type[BaseException] | None, value: BaseException | None,
               trace: TracebackType | None, *_: Any) -> bool:
        record_crash(job, kind, value, trace)
        upload_key = upload_key_of(job_args(job))
        if not job.retries_left and upload_key is not None:  # rq retries only when some are left
            release_for_job(blobs, upload_key, job.id, retention_s)
        return True

    return record
