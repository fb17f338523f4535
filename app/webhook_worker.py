"""`python -m app.webhook_worker`: the light worker that delivers webhooks.

It serves only the webhook queue, runs only the two delivery tasks, loads no
model and never imports torch, so deliveries never wait behind a long
certification. Its rq scheduler (a small forked process; safe here, no CUDA)
re-queues failed deliveries at the retry intervals.
"""

import argparse
import logging
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer

from app.webhook_delivery import DELIVERY_CONTEXT, DeliveryContext
from certify_jobs.contract import TaskNotAllowed
from certify_jobs.endings import WEBHOOK_TASKS
from certify_jobs.json_logs import configure_logging
from certify_settings import Settings, load_settings


class DeliveryJob(Job):
    @property
    def func(self) -> Any:
        if self.func_name not in WEBHOOK_TASKS:
            raise TaskNotAllowed(f"Refusing to run {self.func_name!r}: not a delivery task.")
        return super().func


def run_delivery_worker(settings: Settings, name: str | None = None, burst: bool = False) -> bool:
    redis = Redis.from_url(settings.redis_url_or_default)
    DELIVERY_CONTEXT.set(DeliveryContext(settings, redis))
    queue = Queue(settings.webhook_queue, connection=redis, serializer=JSONSerializer,
                  job_class=DeliveryJob)
    worker = SimpleWorker([queue], connection=redis, serializer=JSONSerializer, name=name,
                          job_class=DeliveryJob, worker_ttl=settings.worker_ttl_s,
                          maintenance_interval=settings.maintenance_interval_s)
    logging.getLogger(__name__).info("Webhook delivery worker %s on queue %s", worker.name,
                                     settings.webhook_queue)
    return bool(worker.work(burst=burst, logging_level="INFO", with_scheduler=True))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m app.webhook_worker")
    parser.add_argument("--name", default=None)
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    args = parser.parse_args()
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    run_delivery_worker(settings, args.name, args.burst)


if __name__ == "__main__":
    main()
