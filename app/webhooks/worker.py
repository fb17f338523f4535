"""`python -m app.webhooks.worker`: the light worker that delivers webhooks.

It serves only the webhook queue, runs only the two delivery tasks, loads no
model and never imports torch, so deliveries never wait behind a long
certification. It delivers `CERTIFY_WEBHOOK_CONCURRENCY` webhooks at once (one
rq worker per thread, each registered on its own), and each attempt has a
total deadline (`CERTIFY_WEBHOOK_TIMEOUT_S`), so a receiver that hangs or
trickles holds one slot for at most that long while the others deliver.
Failed deliveries wait in rq's scheduled registry until their retry interval
has passed; the workers move the due ones back to the queue every second, in
this process (rq's scheduler would fork a second process that outlives a Redis
shutdown noisily).
"""

import argparse
import logging
import signal
import sys
import threading
import uuid

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, worker_registration
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty

from app.webhooks.delivery import DELIVERY_CONTEXT, DeliveryContext
from certify_jobs.contract import allow_listed_job
from certify_jobs.endings import WEBHOOK_TASKS
from certify_jobs.json_logs import configure_logging
from certify_jobs.redis_connect import RedisUnreachableError, connect_redis
from certify_jobs.unreadable import UnreadableJobsAside
from certify_settings import Settings, load_settings

DeliveryJob = allow_listed_job(WEBHOOK_TASKS)


class DeliveryWorker(UnreadableJobsAside):
    # A timer, not SIGALRM: the workers run in threads, where signals cannot reach them.
    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            super()._install_signal_handlers()

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
    """Run `CERTIFY_WEBHOOK_CONCURRENCY` delivery workers in threads until stopped (SIGTERM
    or SIGINT: each finishes its attempt, bounded by its deadline) or, with `burst`, idle."""
    redis = connect_redis(settings.redis_url_or_default)
    base = name or uuid.uuid4().hex[:12]
    workers = [_worker(settings, redis, f"{base}-{slot}")
               for slot in range(settings.webhook_concurrency)]
    logging.getLogger(__name__).info("Webhook delivery: %d workers %s-* on queue %s",
                                     len(workers), base, settings.webhook_queue)
    worked = [False] * len(workers)

    def serve(slot: int) -> None:
        DELIVERY_CONTEXT.set(DeliveryContext(settings, redis))  # contexts are per thread
        # rq's own lines would report the per-second maintenance; deliveries log their own.
        worked[slot] = bool(workers[slot].work(burst=burst, logging_level="WARNING",
                                               with_scheduler=False))

    threads = [threading.Thread(target=serve, args=(slot,), name=worker.name, daemon=True)
               for slot, worker in enumerate(workers)]

    def stop(*_: object) -> None:
        for worker in workers:
            worker._stop_requested = True  # each ends after its current attempt

    previous = [signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)  # wakes for signals
    finally:
        for sig, handler in zip((signal.SIGTERM, signal.SIGINT), previous, strict=True):
            signal.signal(sig, handler)
    return any(worked)


def _worker(settings: Settings, redis: Redis, name: str) -> DeliveryWorker:
    queue = Queue(settings.webhook_queue, connection=redis, serializer=JSONSerializer,
                  job_class=DeliveryJob)
    return DeliveryWorker([queue], connection=redis, serializer=JSONSerializer, name=name,
                          job_class=DeliveryJob, worker_ttl=settings.worker_ttl_s,
                          maintenance_interval=1)


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
