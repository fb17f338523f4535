"""Job payload, task path, the allow-listed job class and every Redis key name.

The payload travels as JSON (rq's JSON serializer): it names the stored upload
by key and content hash, never carries the bytes, and records the seed the
server drew; it is also where clients read the job's options back. What a job
returns is `certify_contract.JobOutcome`; how it reads to a client is
`certify_contract.JobView`.
"""

from dataclasses import asdict, dataclass, fields
from typing import Any

from rq.job import Job

from certify_contract.errors import CodedError
from certify_contract.option_spec import MediaKind
from certify_contract.options import CertifyOptions
from certify_contract.registry import ModelSource

# The one function a worker agrees to run; anything else in a job is refused
# before it is imported (rq imports the dotted name it finds in Redis).
TASK_PATH = "worker.tasks.run_certification"
ALLOWED_TASKS = frozenset({TASK_PATH})

# The task returns every expected ending (including refused inputs and
# cancellation) as a `JobOutcome`, so rq sees a finished job and its retry
# only re-runs jobs whose worker crashed or vanished.
PROGRESS_META = "progress"
ATTEMPTS_META = "attempts"
STARTED_META = "running_since"
# The error of a crashed job (an `ErrorBody`), recorded where rq handles the crash.
ERROR_META = "error"
# The principal (hashed API key, or "anonymous") that created the job; only it and admins see it.
OWNER_META = "owner"
ANONYMOUS = "anonymous"


# How long the API remembers that a worker served a model, to tell "its workers
# are away for now" (503 model_unavailable) from "no such model" (422).
MODELS_SEEN_TTL_S = 86_400


class TaskNotAllowed(Exception):
    """A job names a function outside the allow-list; it is never imported."""


def allow_listed_job(tasks: frozenset[str]) -> type[Job]:
    """An rq job class that refuses, before importing it, any function not in `tasks`.

    Each kind of worker runs its own list: the certifying worker `ALLOWED_TASKS`,
    the delivery worker the webhook tasks.
    """

    class AllowListedJob(Job):
        @property
        def func(self) -> Any:
            if self.func_name not in tasks:
                raise TaskNotAllowed(f"Refusing to run {self.func_name!r}: not one of {sorted(tasks)}.")
            return super().func

    return AllowListedJob


class PayloadError(CodedError, ValueError):
    """A job payload that does not match this contract."""

    def __init__(self, detail: str) -> None:
        super().__init__("invalid_payload", detail)


@dataclass(frozen=True)
class JobPayload:
    upload_key: str
    upload_sha256: str
    upload_bytes: int
    media_type: str
    media_kind: MediaKind
    model: str
    options: CertifyOptions
    seed: int
    # A registered model (POST /models), resolved by the API: `model` is then `name@version`.
    model_source: ModelSource | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "JobPayload":
        """The payload a worker reads; its options are checked (`InvalidOptionError`)."""
        if not isinstance(data, dict):
            raise PayloadError(f"Expected a JSON object as job payload, got {type(data).__name__}.")
        names = {field.name for field in fields(cls)}
        required = names - {"model_source"}  # absent from jobs queued before the registry
        if not required <= set(data) <= names:
            raise PayloadError(f"Expected payload fields {sorted(names)}, got {sorted(data)}.")
        if data["media_kind"] not in ("image", "video") or not isinstance(data["options"], dict):
            raise PayloadError("Malformed job payload (media_kind or options).")
        source = data.get("model_source")
        try:
            model_source = ModelSource.from_dict(source) if source is not None else None
        except (KeyError, TypeError, ValueError):
            raise PayloadError("Malformed job payload (model_source).") from None
        return cls(**{**data, "options": CertifyOptions.from_dict(data["options"]),
                      "model_source": model_source})


@dataclass(frozen=True)
class BatchKeys:
    """Redis keys of one batch (made by `ServiceKeys.batch`, under the service's prefix)."""

    record: str  # hash: owner, state, options, model, total, ...
    jobs: str  # list of job ids, in the order the files arrived
    items: str  # hash job id -> {"index", "name", "label"}
    rows: str  # hash job id -> the ended job's row (status, prediction, radius)
    ended: str  # set of job ids that have ended

    def all(self) -> tuple[str, ...]:
        return (self.record, self.jobs, self.items, self.rows, self.ended)


# `CERTIFY_QUEUE_NAME`'s default (certify_settings): its fair-dispatch keys keep their old names.
DEFAULT_QUEUE = "certify"

@dataclass(frozen=True)
class ServiceKeys:
    """Every Redis key name of the service, under one prefix so a shared Redis stays tidy."""

    prefix: str = "certify"

    def upload(self, owner: str, sha256: str) -> str:
        # Per owner: a tenant's upload never shares a key (existence, TTL) with another's.
        return f"{self.prefix}:upload:{owner}:{sha256}"

    def upload_refs(self, upload_key: str) -> str:
        """Set of the ids of jobs that still need the upload stored at `upload_key`."""
        return f"{self.prefix}:upload-refs:{upload_key}"

    def cancel(self, job_id: str) -> str:
        return f"{self.prefix}:cancel:{job_id}"

    def job_view(self, job_id: str) -> str:
        """An ended job's rendered view (owner, JSON body, ETag), read in one round trip."""
        return f"{self.prefix}:view:{job_id}"

    def idempotency(self, principal: str, key: str) -> str:
        return f"{self.prefix}:idempotency:{principal}:{key}"

    def worker_models(self, worker_name: str) -> str:
        return f"{self.prefix}:worker-models:{worker_name}"

    @property
    def worker_models_pattern(self) -> str:
        return f"{self.prefix}:worker-models:*"

    @property
    def models_seen(self) -> str:
        """Hash: model name -> when a worker last announced it (epoch seconds)."""
        return f"{self.prefix}:models-seen"

    @property
    def outbox(self) -> str:
        """Stream of notices that a job or batch was created, ended or changed after its end:
        the record store's outbox (`certify_store.outbox`), drained by the API."""
        return f"{self.prefix}:outbox"

    @property
    def jobs_index(self) -> str:
        return f"{self.prefix}:jobs"

    def owner_jobs_index(self, owner: str) -> str:
        """One owner's jobs by creation time, so a tenant's page never walks others' jobs."""
        return f"{self.prefix}:jobs:owner:{owner}"

    def batch(self, batch_id: str) -> BatchKeys:
        record = f"{self.prefix}:batch:{batch_id}"
        return BatchKeys(record, f"{record}:jobs", f"{record}:items", f"{record}:rows",
                         f"{record}:ended")

    @property
    def batches_index(self) -> str:
        """Sorted set of every tenant's batch ids by creation time (an admin's GET /batches)."""
        return f"{self.prefix}:batches-all"

    def owner_batches_index(self, owner: str) -> str:
        """Sorted set of an owner's batch ids by creation time (for GET /batches)."""
        return f"{self.prefix}:batches:{owner}"

    def _fair(self, queue: str) -> str:
        """The prefix of one queue's fair-dispatch keys (`certify_jobs.fair_queue`): services
        sharing a Redis with different `CERTIFY_QUEUE_NAME`s never dispatch each other's
        jobs. The default queue keeps the names it always had (a backlog survives upgrades)."""
        return self.prefix if queue == DEFAULT_QUEUE else f"{self.prefix}:queue:{queue}"

    def tenant_backlog(self, tenant: str, queue: str = DEFAULT_QUEUE) -> str:
        """List of a tenant's job ids waiting for fair dispatch (`certify_jobs.fair_queue`)."""
        return f"{self._fair(queue)}:backlog:{tenant}"

    def tenant_running(self, tenant: str, queue: str = DEFAULT_QUEUE) -> str:
        """Sorted set of a tenant's dispatched, unended job ids, scored by dispatch time."""
        return f"{self._fair(queue)}:running:{tenant}"

    def tenant_ring(self, queue: str = DEFAULT_QUEUE) -> str:
        """Sorted set of the tenants with a backlog, scored by when each was last served."""
        return f"{self._fair(queue)}:tenants"

    def tenants_served(self, queue: str = DEFAULT_QUEUE) -> str:
        return f"{self._fair(queue)}:tenants-served"

    def tenants_served_seq(self, queue: str = DEFAULT_QUEUE) -> str:
        return f"{self._fair(queue)}:tenants-served-seq"

    def tenant_samples(self, tenant: str, hour: int) -> str:
        """Noise samples a tenant's jobs asked for in one clock hour (a rate limit)."""
        return f"{self.prefix}:samples:{tenant}:{hour}"

    def webhook_queued(self, kind: str, target_id: str) -> str:
        """Set once per ending: its one delivery has been queued (holds the delivery id)."""
        return f"{self.prefix}:webhook-queued:{kind}:{target_id}"
