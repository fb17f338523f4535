"""`python -m app.webhooks.worker`: the light worker that delivers webhooks.

It serves only the webhook queue, runs only the two delivery tasks, loads no
model and never imports torch, so deliveries never wait behind a long
certification. Failed deliveries wait in rq's scheduled registry until their
retry interval has passed; this worker moves the due ones back to the queue
every second, in its own process (rq's scheduler would fork a second process
that outlives a Redis shutdown noisily).
"""

import argparse
import logging
import sys

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker, worker_registration
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from app.webhooks.delivery import DELIVERY_CONTEXT, DeliveryContext
from certify_jobs.contract import allow_listed_job
from certify_jobs.endings import WEBHOOK_TASKS
from certify_jobs.json_logs import configure_logging
from certify_jobs.redis_connect import RedisUnreachableError, connect_redis
from certify_settings import Settings, load_settings

DeliveryJob = allow_listed_job(WEBHOOK_TASKS)


class DeliveryWorker(SimpleWorker):
    @property
    def dequeue_timeout(self) -> int:
        return 1  # wake every second to move due retries, even when the queue is idle

    def teardown(self) -> None:
        # Stopping while Redis is away (or already stopped): the registration expires anyway.
        try:
            super().teardown()
        except (RedisConnectionError, RedisTimeoutError) as exc:
            self.log.warning("Teardown incomplete, Redis trouble: %s", exc)

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        # The lock keeps two delivery workers from enqueuing one retry twice.
        # Each scheduler resets rq's scheduler logger to its level: at INFO it would log
        # "Acquired scheduler lock" every second.
        scheduler = RQScheduler(self.queues, connection=self.connection,
                                serializer=JSONSerializer, name=f"{self.name}-retries",
                                logging_level="WARNING")
        if scheduler.acquire_locks():
            try:
                scheduler.enqueue_scheduled_jobs()
            finally:
                scheduler.release_locks()


def run_delivery_worker(settings: Settings, name: str | None = None, burst: bool = False) -> bool:
    redis = connect_redis(settings.redis_url_or_default)
    DELIVERY_CONTEXT.set(DeliveryContext(settings, redis))
    queue = Queue(settings.webhook_queue, connection=redis, serializer=JSONSerializer,
                  job_class=DeliveryJob)
    worker = DeliveryWorker([queue], connection=redis, serializer=JSONSerializer, name=name,
                            job_class=DeliveryJob, worker_ttl=settings.worker_ttl_s,
                            maintenance_interval=1)
    logging.getLogger(__name__).info("Webhook delivery worker %s on queue %s", worker.name,
                                     settings.webhook_queue)
    # rq's own lines would report the per-second maintenance; deliveries log their own.
    return bool(worker.work(burst=burst, logging_level="WARNING", with_scheduler=False))


def live_delivery_workers(settings: Settings) -> int:
    """Delivery workers registered on the webhook queue whose registration has not expired."""
    redis = Redis.from_url(settings.redis_url_or_default, socket_connect_timeout=3)
    queue = Queue(settings.webhook_queue, connection=redis, serializer=JSONSerializer)
    return sum(1 for key in worker_registration.get_keys(queue=queue) if redis.exists(key))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m app.webhooks.worker")
    parser.add_argument("--name", default=None)
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    parser.add_argument("--check", action="store_true",
                        help="exit 0 when a delivery worker is live (a container health check)")
    args = parser.parse_args()
    settings = load_settings()
    if args.check:
        raise SystemExit(0 if live_delivery_workers(settings) else 1)
    configure_logging(settings.log_level, settings.log_format)
    try:
        run_delivery_worker(settings, args.name, args.burst)
    except RedisUnreachableError as exc:
        print(f"webhook worker: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
