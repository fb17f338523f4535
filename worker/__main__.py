"""`python -m worker`: load the served models, then take jobs until told to stop."""

import argparse
import logging

from redis import Redis

from certify_settings import Settings, load_settings
from worker.runtime import CURRENT_RUNTIME, WorkerRuntime
from worker.service_worker import CertifyWorker


def run_worker(settings: Settings, name: str | None = None, burst: bool = False) -> bool:
    """Blocks until SIGINT/SIGTERM (a warm stop finishes the current job first)."""
    redis = Redis.from_url(settings.redis_url_or_default)
    runtime = WorkerRuntime.start(settings, redis)
    CURRENT_RUNTIME.set(runtime)
    worker = CertifyWorker(runtime, name=name)
    logging.getLogger(__name__).info(
        "Worker %s serving %s on %s", worker.name, sorted(runtime.models),
        next(iter(runtime.models.values())).device,
    )
    return bool(worker.work(burst=burst, logging_level="INFO", with_scheduler=False))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m worker")
    parser.add_argument("--name", default=None)
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_worker(load_settings(), args.name, args.burst)


if __name__ == "__main__":
    main()
