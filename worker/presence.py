"""A worker's presence: a short-lived Redis key naming its models, kept alive by a thread.

rq's own worker key lives `worker_ttl + 60` s (95 s by default) and is not
refreshed while a non-forking worker runs a job, so it cannot tell a dead
worker from a busy one in time. This key lives `CERTIFY_WORKER_PRESENCE_TTL_S`
(10 s) and a daemon thread renews it every third of that, during jobs and
while the worker blocks on the queue: `/readyz`, `GET /models` and
`POST /certify` stop counting a dead worker within that TTL.

Renewal uses EXPIRE, which a full Redis (maxmemory, noeviction) still accepts,
so a worker does not look dead just because Redis is full; the key is written
again with SET when it is gone (expired, or lost in a Redis restart) or when
the document changed (a new passes-per-second figure after a job). A full
Redis refuses that SET: the old document stays, renewed, until a later beat.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from redis import Redis
from redis.exceptions import OutOfMemoryError

from certify_jobs.contract import MODELS_SEEN_TTL_S, ServiceKeys
from worker.redis_outage import REDIS_TROUBLE

log = logging.getLogger(__name__)


class Presence:
    def __init__(self, redis: Redis, worker_name: str, document: Callable[[], str],
                 models: list[str], ttl_s: int) -> None:
        self.redis = redis
        self.key = ServiceKeys().worker_models(worker_name)
        self.document = document
        self.models = models
        self.ttl_s = ttl_s
        self._written: str | None = None  # the document the key holds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="certify-presence", daemon=True)

    def start(self) -> None:
        self.publish()
        self._thread.start()

    def publish(self) -> None:
        document = self.document()
        if document != self._written:
            with contextlib.suppress(OutOfMemoryError):  # a full Redis: renew the old one below
                self.redis.set(self.key, document, ex=self.ttl_s)
                self._written = document
        if not self.redis.expire(self.key, self.ttl_s):
            self.redis.set(self.key, document, ex=self.ttl_s)
            self._written = document
        seen = ServiceKeys().models_seen
        # A full Redis refuses HSET; the presence key above is what counts.
        with contextlib.suppress(*REDIS_TROUBLE), self.redis.pipeline() as pipe:
            pipe.hset(seen, mapping={name: int(time.time()) for name in self.models})
            pipe.expire(seen, MODELS_SEEN_TTL_S)
            pipe.execute()

    def refresh(self) -> None:
        """Write the document again now: what the worker holds changed (a registered model was
        loaded or evicted): the API sees it at once, not at the next beat."""
        document = self.document()
        with contextlib.suppress(*REDIS_TROUBLE):
            self.redis.set(self.key, document, ex=self.ttl_s)
            self._written = document

    def stop(self) -> None:
        """Withdraw at once (a warm stop): the API stops counting this worker immediately."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with contextlib.suppress(*REDIS_TROUBLE):  # it expires within ttl_s anyway
            self.redis.delete(self.key)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                self.publish()
            except REDIS_TROUBLE as exc:  # Redis away: the next beat tries again
                log.debug("presence beat failed: %s", exc)
