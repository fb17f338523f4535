"""Waiting out a Redis restart or a full Redis, instead of exiting.

rq's work loop survives a lost connection only while it blocks on the queue;
anywhere else (a heartbeat, the end of a job, maintenance) the error reaches
its catch-all and the worker quits for good. `RedisOutage` is the one place
a worker waits, with capped exponential backoff, until Redis answers again.
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import StopRequested

# Errors that say "Redis is away or refuses writes for now", never "this job is bad".
# A restarting Redis answers LOADING (BusyLoadingError, a ConnectionError) until its AOF is read.
REDIS_TROUBLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError,
                                              OutOfMemoryError)
FIRST_WAIT_S = 0.25
MAX_WAIT_S = 8.0
T = TypeVar("T")
log = logging.getLogger(__name__)


class StopWaiting(StopRequested):
    """The worker was asked to stop while Redis was away (rq's loop then exits cleanly)."""


class RedisOutage:
    def __init__(self, redis: Redis, should_stop: Callable[[], bool]) -> None:
        self.redis = redis
        self.should_stop = should_stop

    def wait(self, cause: BaseException, what: str, first_delay_s: float = FIRST_WAIT_S) -> float:
        """Block until Redis answers a PING; returns the next delay to use if it fails again.

        Raises `StopWaiting` when the worker is asked to stop meanwhile.
        """
        log.warning("Redis trouble during %s (%s: %s); waiting for it", what,
                    type(cause).__name__, cause, extra={"event": "redis_lost"})
        delay, started = first_delay_s, time.monotonic()
        while True:
            if self.should_stop():
                raise StopWaiting(what)
            time.sleep(delay)
            delay = min(delay * 2, MAX_WAIT_S)
            try:
                self.redis.ping()
            except REDIS_TROUBLE:
                continue
            log.warning("Redis answers again after %.1f s; carrying on", time.monotonic() - started,
                        extra={"event": "redis_back"})
            return delay

    def retrying(self, action: Callable[[], T], what: str) -> T:
        """Run `action`, waiting out Redis trouble between tries (for idempotent actions).

        A full Redis still answers PING, so the delay keeps growing across tries.
        """
        delay = FIRST_WAIT_S
        while True:
            try:
                return action()
            except REDIS_TROUBLE as exc:
                delay = self.wait(exc, what, delay)
