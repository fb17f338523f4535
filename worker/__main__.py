"""`python -m worker`: load the served models, then take jobs until told to stop."""

import argparse
import logging
import sys

from certify_jobs.json_logs import configure_logging
from certify_jobs.redis_connect import RedisUnreachableError, connect_redis
from certify_settings import Settings, load_settings
from worker.metrics import serve_metrics
from worker.runtime import CURRENT_RUNTIME, WorkerRuntime
from worker.service_worker import CertifyWorker


def run_worker(settings: Settings, name: str | None = None, burst: bool = False) -> bool:
    """Blocks until SIGINT/SIGTERM (a warm stop finishes the current job first)."""
    # Keepalive and a connect timeout: a vanished Redis host shows up as an error
    # the worker waits out (worker/redis_outage.py), never as a call that hangs.
    redis = connect_redis(settings.redis_url_or_default, socket_connect_timeout=5,
                          socket_keepalive=True)
    runtime = WorkerRuntime.start(settings, redis)
    CURRENT_RUNTIME.set(runtime)
    worker = CertifyWorker(runtime, name=name)
    device = str(next(iter(runtime.models.values())).device)
    logging.getLogger(__name__).info(
        "Worker %s serving %s on %s", worker.name, sorted(runtime.models), device,
        extra={"event": "worker_started", "worker": worker.name, "device": device},
    )
    serve_metrics(settings, worker.name, device, sorted(runtime.models))
    try:
        return bool(worker.work(burst=burst, logging_level="INFO", with_scheduler=False))
    finally:
        runtime.sandbox.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m worker")
    parser.add_argument("--name", default=None)
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    args = parser.parse_args()
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        run_worker(settings, args.name, args.burst)
    except RedisUnreachableError as exc:
        print(f"worker: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
