"""A non-forking rq worker that runs only the allow-listed task and rides out Redis restarts.

Non-forking: CUDA contexts cannot cross a fork and a forked child would lose
the preloaded models. A non-forking worker normally sends no heartbeat while
a job runs, so a long job could be declared abandoned while alive; a small
thread keeps it alive instead, which lets the heartbeat TTL be short and a
killed worker's job be noticed within seconds.

rq quits its work loop on any Redis error outside its blocking dequeue. Every
step of the loop that touches Redis is therefore wrapped here: the worker
waits with backoff (`RedisOutage`) and carries on. A job that was running
when Redis went away (its connection lost: a restart) is put back at the head
of the queue once Redis is back, its retries kept: the outage is not the
job's failure. Only after `MAX_INTERRUPTIONS` such returns, or when Redis was
full instead (the job may be what fills it), it goes through rq's failure
path: retried while it has retries left, else failed with `redis_interrupted`.
It is never left "running".
"""

import threading
from types import TracebackType
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, worker_registration
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.worker import WorkerStatus

from certify_jobs import fair_queue
from certify_jobs.contract import ALLOWED_TASKS, allow_listed_job
from certify_jobs.crashes import crash_recorder
from certify_jobs.endings import announce_job_end, crash_announcer
from certify_jobs.restarts import sweep_must_wait
from certify_jobs.unreadable import UnreadableJobsAside
from worker.presence import Presence
from worker.redis_outage import FIRST_WAIT_S, MAX_WAIT_S, REDIS_TROUBLE, RedisOutage
from worker.runtime import WorkerRuntime

SETTLED = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED,
           JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
CertificationJob = allow_listed_job(ALLOWED_TASKS)
# Redis went away (restarting), as opposed to refusing writes (full): the job did nothing wrong.
CONNECTION_LOST = (RedisConnectionError, RedisTimeoutError)
INTERRUPTIONS_META = "interruptions"
MAX_INTERRUPTIONS = 10  # a Redis that keeps restarting under one job ends it after all
ExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]


class CertifyWorker(UnreadableJobsAside):
    # rq's own backoff while blocked on the queue: capped like RedisOutage's, not at 60 s,
    # so a worker is back within seconds of Redis.
    max_connection_wait_time = MAX_WAIT_S

    def __init__(self, runtime: WorkerRuntime, **kwargs: Any) -> None:
        settings = runtime.settings
        queue = Queue(settings.queue_name, connection=runtime.redis, serializer=JSONSerializer,
                      job_class=CertificationJob)
        super().__init__(
            [queue], connection=runtime.redis, serializer=JSONSerializer, job_class=CertificationJob,
            worker_ttl=settings.worker_ttl_s, maintenance_interval=settings.maintenance_interval_s,
            default_result_ttl=settings.result_ttl_s,
            # A crash's code is chosen here, by exception type, for the API to read.
            exception_handlers=[crash_recorder(runtime.blobs, settings.upload_retention),
                                crash_announcer(settings)], **kwargs,
        )
        self.runtime = runtime
        self.outage = RedisOutage(runtime.redis, lambda: bool(self._stop_requested))
        self.presence = Presence(runtime.redis, self.name, lambda: runtime.models_document(self.name),
                                 sorted(runtime.models), settings.worker_presence_ttl_s)
        runtime.registered.on_change = self.presence.refresh

    # -- the work loop's Redis steps, each waiting out an outage -------------------
    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        self.outage.retrying(self.connection.ping, "start")
        super().bootstrap(*args, **kwargs)
        self.outage.retrying(self.presence.start, "start")

    def check_for_suspension(self, burst: bool) -> None:
        self.outage.retrying(lambda: super(CertifyWorker, self).check_for_suspension(burst),
                             "the suspension check")

    def run_maintenance_tasks(self) -> None:
        try:
            # Right after a Redis restart, other live workers' jobs only look abandoned.
            if not sweep_must_wait(self.connection, self.runtime.settings.heartbeat_ttl_s):
                super().run_maintenance_tasks()
        except REDIS_TROUBLE as exc:  # periodic: the next interval tries again
            self.log.warning("Maintenance skipped, Redis trouble: %s", exc)
        except Exception:  # a bad entry in a registry must not stop the worker that found it
            self.log.exception("Maintenance failed; the next interval tries again")

    def dequeue_job_and_maintain_ttl(self, timeout: int | None,
                                     max_idle_time: int | None = None) -> tuple[Job, Queue] | None:
        settings = self.runtime.settings
        # The next job is the one of the tenant served least recently (certify_jobs.fair_queue).
        self.outage.retrying(lambda: fair_queue.dispatch(
            self.connection, self.queues[0].key, max_running=settings.tenant_max_running,
            job_timeout_s=settings.job_timeout_s), "dispatch")
        return self.outage.retrying(
            lambda: super(CertifyWorker, self).dequeue_job_and_maintain_ttl(timeout, max_idle_time),
            "dequeue")

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return self.runtime.settings.heartbeat_ttl_s

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)
            worker_registration.register(self, pipeline)
            return
        try:
            super().heartbeat(timeout)
            # Re-registered on every beat: after a Redis restart that lost the
            # registry, the worker is listed again without a restart.
            worker_registration.register(self)
        except REDIS_TROUBLE as exc:  # a missed beat; the loop's next Redis step waits it out
            self.log.warning("Heartbeat failed, Redis trouble: %s", exc)

    def register_death(self) -> None:
        self.presence.stop()
        try:
            super().register_death()
        except REDIS_TROUBLE as exc:  # stopping while Redis is away: its keys expire anyway
            self.log.warning("Could not register this worker's death: %s", exc)

    def teardown(self) -> None:
        try:
            super().teardown()
        except REDIS_TROUBLE as exc:
            self.log.warning("Teardown incomplete, Redis trouble: %s", exc)

    # -- running one job ------------------------------------------------------------
    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.outage.retrying(lambda: self.prepare_execution(job), "job start")
        stop = threading.Event()
        beats = threading.Thread(target=self._beat_while_running, args=(job, execution, stop),
                                 name="certify-heartbeat", daemon=True)
        beats.start()
        try:
            self.perform_job(job, queue, execution)
        except REDIS_TROUBLE as exc:  # rq's own failure handling needed Redis too
            self._settle_interrupted(job, queue, execution, exc)
        finally:
            stop.set()
            beats.join()
        self._announce_end(job)
        self.outage.retrying(lambda: self.set_state(WorkerStatus.IDLE), "job end")

    def _finalize_failure(self, job: Job, queue: Queue, execution: Execution,
                          exc_info: ExcInfo) -> None:
        # A task that failed on Redis trouble is settled by execute_job once Redis is back.
        if exc_info[1] is not None and isinstance(exc_info[1], REDIS_TROUBLE):
            raise exc_info[1]
        super()._finalize_failure(job, queue, execution, exc_info)

    def _settle_interrupted(self, job: Job, queue: Queue, execution: Execution,
                            cause: BaseException) -> None:
        delay = FIRST_WAIT_S
        while True:
            delay = self.outage.wait(cause, f"job {job.id}", delay)
            try:
                return self._fail_interrupted(job, queue, execution, cause)
            except REDIS_TROUBLE as again:
                cause = again

    def _fail_interrupted(self, job: Job, queue: Queue, execution: Execution,
                          cause: BaseException) -> None:
        """Retry the job (retries left) or fail it with `redis_interrupted` via rq's own path."""
        if not self.connection.exists(job.key):
            self.log.error("Job %s is gone from Redis after the outage (data lost)", job.id,
                           extra={"event": "job_lost", "job_id": job.id})
            return
        if job.get_status(refresh=True) in SETTLED:  # ended, canceled, or re-queued meanwhile
            with self.connection.pipeline() as pipe:
                self.cleanup_execution(job, pipeline=pipe, execution=execution)
                pipe.execute()
            return
        interruptions = int(job.meta.get(INTERRUPTIONS_META, 0))
        if isinstance(cause, CONNECTION_LOST) and interruptions < MAX_INTERRUPTIONS:
            return self._requeue_at_head(job, queue, execution, interruptions + 1)
        super()._finalize_failure(job, queue, execution, (type(cause), cause, cause.__traceback__))

    def _requeue_at_head(self, job: Job, queue: Queue, execution: Execution,
                         interruptions: int) -> None:
        """Back to the head of the queue, retries kept, in one transaction."""
        job.meta[INTERRUPTIONS_META] = interruptions
        with self.connection.pipeline() as pipe:
            pipe.multi()  # opened first: enqueue_job opens it itself only before any command
            self.cleanup_execution(job, pipeline=pipe, execution=execution)
            queue.enqueue_job(job, pipeline=pipe, at_front=True)
            pipe.execute()
        self.log.warning("Job %s interrupted by the Redis outage; back at the head of the queue",
                         job.id, extra={"event": "job_requeued_at_head", "job_id": job.id,
                                        "interruptions": interruptions})

    def _announce_end(self, job: Job) -> None:
        # After perform_job, so the result is in Redis when its batch or webhook reads it.
        try:
            announce_job_end(self.connection, self.runtime.settings, job)
        except Exception:  # a lost announcement must not stop the worker; GET /batches re-checks
            self.log.warning("Announcing the end of job %s failed", job.id, exc_info=True)

    def _beat_while_running(self, job: Job, execution: Execution, stop: threading.Event) -> None:
        interval = max(self.runtime.settings.heartbeat_ttl_s / 4, 0.5)
        while not stop.wait(interval):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception:  # a missed beat is retried next interval; the job must go on
                self.log.warning("Heartbeat for job %s failed", job.id, exc_info=True)
