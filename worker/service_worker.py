"""A non-forking rq worker that runs only the allow-listed task and keeps its heartbeat.

Non-forking: CUDA contexts cannot cross a fork and a forked child would lose
the preloaded models. A non-forking worker normally sends no heartbeat while
a job runs, so a long job could be declared abandoned while alive; a small
thread keeps it alive instead, which lets the heartbeat TTL be short and a
killed worker's job be noticed within seconds.
"""

import threading
from typing import Any

from rq import Queue, SimpleWorker, worker_registration
from rq.executions import Execution
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import WorkerStatus

from certify_jobs.contract import ALLOWED_TASKS, TaskNotAllowed
from certify_jobs.crashes import record_crash
from certify_jobs.endings import announce_job_end, crash_announcer
from worker.runtime import WorkerRuntime


class AllowListedJob(Job):
    @property
    def func(self) -> Any:
        if self.func_name not in ALLOWED_TASKS:
            raise TaskNotAllowed(f"Refusing to run {self.func_name!r}: not an allow-listed task.")
        return super().func


class CertifyWorker(SimpleWorker):
    def __init__(self, runtime: WorkerRuntime, **kwargs: Any) -> None:
        settings = runtime.settings
        queue = Queue(settings.queue_name, connection=runtime.redis, serializer=JSONSerializer,
                      job_class=AllowListedJob)
        super().__init__(
            [queue], connection=runtime.redis, serializer=JSONSerializer, job_class=AllowListedJob,
            worker_ttl=settings.worker_ttl_s, maintenance_interval=settings.maintenance_interval_s,
            default_result_ttl=settings.result_ttl_s,
            # A crash's code is chosen here, by exception type, for the API to read.
            exception_handlers=[record_crash, crash_announcer(settings)], **kwargs,
        )
        self.runtime = runtime

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return self.runtime.settings.heartbeat_ttl_s

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        super().heartbeat(timeout, pipeline)
        connection = pipeline if pipeline is not None else self.connection
        ttl = timeout or self.worker_ttl + 60
        # Re-published on every beat: after a Redis restart the API sees this
        # worker and its models again without a worker restart.
        connection.set(self.runtime.keys.worker_models(self.name),
                       self.runtime.models_document(self.name), ex=ttl)
        worker_registration.register(self, pipeline)

    def register_death(self) -> None:
        self.connection.delete(self.runtime.keys.worker_models(self.name))
        super().register_death()

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        stop = threading.Event()
        beats = threading.Thread(target=self._beat_while_running, args=(job, execution, stop),
                                 name="certify-heartbeat", daemon=True)
        beats.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            stop.set()
            beats.join()
        self._announce_end(job)
        self.set_state(WorkerStatus.IDLE)

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
