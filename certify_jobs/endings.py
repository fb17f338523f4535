"""What happens when a job ends: its batch learns of it, and webhooks are queued.

Called by the worker that ran the job (after rq saved its result) and by the
API when it cancels a job that never ran, so every ending passes here once or
more; each step is idempotent (a set of ended job ids, and one `SET NX` per
webhook), so a second call changes nothing. Deliveries run on their own RQ
queue (`CERTIFY_WEBHOOK_QUEUE`), served by the light delivery worker
(`python -m app.webhooks.worker`), with rq's retries at exponentially growing
intervals.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from certify_jobs import fair_queue
from certify_jobs.contract import OWNER_META, ServiceKeys
from certify_jobs.notices import notify_record
from certify_settings import Settings

# Job meta written by the API at submission (besides `certify_jobs.contract.OWNER_META`).
CALLBACK_META = "callback_url"
BATCH_META = "batch"
GATE_META = "gate"  # a release gate's job: the gate counts it from Redis, so it stays there
# The delivery record of a job's webhook (a `WebhookRecord` dict), written by the delivery task.
WEBHOOK_META = "webhook"

WEBHOOK_JOB_TASK = "app.webhooks.delivery.deliver_job_end"
WEBHOOK_BATCH_TASK = "app.webhooks.delivery.deliver_batch_end"
WEBHOOK_GATE_TASK = "app.webhooks.delivery.deliver_gate_end"
WEBHOOK_TASKS = frozenset({WEBHOOK_JOB_TASK, WEBHOOK_BATCH_TASK, WEBHOOK_GATE_TASK})
ENDED_STATES = frozenset({"finished", "failed", "canceled", "stopped"})

BatchState = Literal["open", "closed", "canceled"]
TargetKind = Literal["job", "batch", "gate"]
KEYS = ServiceKeys()


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def job_has_ended(job: Job) -> bool:
    status = job.get_status(refresh=True)
    return status is not None and str(getattr(status, "value", status)) in ENDED_STATES


def announce_job_end(redis: Redis, settings: Settings, job: Job, *, ending: bool = False) -> None:
    """Tell the job's batch, and queue its webhook, once the job has ended.

    `ending`: the caller knows the job is about to fail for good (a crash with
    no retry left), though rq has not written its status yet.
    """
    if not ending and not job_has_ended(job):  # re-queued for a retry: not ended yet
        return
    notify_record(redis, "job", job.id)
    meta = job.meta or {}
    fair_queue.job_ended(redis, job.origin, str(meta.get(OWNER_META, "")), job.id)
    if meta.get(CALLBACK_META):
        queue_webhook(redis, settings, "job", job.id)
    batch_id = meta.get(BATCH_META)
    if isinstance(batch_id, str):
        redis.sadd(KEYS.batch(batch_id).ended, job.id)
        check_batch_end(redis, settings, batch_id)


def check_batch_end(redis: Redis, settings: Settings, batch_id: str) -> bool:
    """True when the batch is closed (or canceled) and every job ended; queues its webhook."""
    keys = KEYS.batch(batch_id)
    state, total, callback = redis.hmget(keys.record, ["state", "total", "callback_url"])
    if state is None or state in (b"open", "open"):
        return False
    if redis.scard(keys.ended) < int(total or 0):
        return False
    if redis.hsetnx(keys.record, "ended_at", now_iso()):
        notify_record(redis, "batch", batch_id)
    if callback:
        queue_webhook(redis, settings, "batch", batch_id)
    return True


def queue_webhook(redis: Redis, settings: Settings, kind: TargetKind, target_id: str) -> None:
    """Queue the one delivery of `target_id`'s ending; a second call finds it queued."""
    delivery_id = uuid.uuid4().hex
    if not redis.set(KEYS.webhook_queued(kind, target_id), delivery_id, nx=True, ex=settings.result_ttl_s):
        return
    queue = Queue(settings.webhook_queue, connection=redis, serializer=JSONSerializer)
    task = {"job": WEBHOOK_JOB_TASK, "batch": WEBHOOK_BATCH_TASK, "gate": WEBHOOK_GATE_TASK}[kind]
    intervals = settings.webhook_retry_intervals
    queue.enqueue(
        task, {"target": target_id, "delivery_id": delivery_id}, job_id=f"webhook-{delivery_id}",
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        job_timeout=int(settings.webhook_timeout_s * 3) + 5, result_ttl=settings.result_ttl_s,
        failure_ttl=settings.result_ttl_s,
    )


def crash_announcer(settings: Settings) -> Callable[..., bool]:
    """An rq exception handler: a crashed job with no retry left ends here (webhook, batch).

    Abandoned jobs (their worker was killed) fail inside the registry cleanup,
    where no worker's end-of-job step runs; this handler is their one notice.
    """

    def announce_crash(job: Job, *_: Any) -> bool:
        if not job.retries_left:
            announce_job_end(job.connection, settings, job, ending=True)
        return True

    return announce_crash
