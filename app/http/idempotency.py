"""`Idempotency-Key`: a retried POST answers with what the first one made, never a second one.

One path for every POST that creates something (a job, a batch, files added
to a batch). The first request claims the key (SET NX, per principal and
scope) before it creates anything, so a duplicate arriving meanwhile finds
the key pointing at something that is not visible yet. It waits for it
instead of answering 404; if the first request failed and released the key,
the duplicate claims the key itself and creates it. Only when the first
request is still busy after `WAIT_S` does the duplicate answer with the
claimed id (its details appear moments later).
"""

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Header, Request

from app.http.backend import Backend, text

WAIT_S = 10.0
POLL_S = 0.02

IdempotencyKey = Annotated[str | None, Header(max_length=200, description=(
    "Retrying the POST with the same key returns the first answer instead of doing it twice."))]


class Idempotency:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _redis_key(self, principal: str, scope: str, key: str) -> str:
        # Hashed: the client's key may be any header text. Jobs, the first users, have no scope.
        scoped = f"{scope}:{key}" if scope else key
        return self.backend.keys.idempotency(principal, hashlib.sha256(scoped.encode()).hexdigest())

    def claim(self, principal: str, scope: str, key: str, new_id: str) -> str | None:
        """Reserve `key` for `new_id`; returns the earlier id when the key was used."""
        redis, name = self.backend.redis, self._redis_key(principal, scope, key)
        while True:  # the key can expire or be released between SET NX and GET
            if redis.set(name, new_id, nx=True, ex=self.backend.settings.idempotency_ttl_s):
                return None
            earlier = redis.get(name)
            if earlier is not None:
                return text(earlier)

    def release(self, principal: str, scope: str, key: str) -> None:
        self.backend.redis.delete(self._redis_key(principal, scope, key))

    def claim_or_join(self, principal: str, scope: str, key: str, new_id: str,
                      visible: Callable[[str], bool]) -> str | None:
        """None: this request owns the key and must create `new_id`; else the earlier id,
        once `visible(id)` (or after `WAIT_S`)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            earlier = self.claim(principal, scope, key, new_id)
            if earlier is None or visible(earlier) or time.monotonic() > deadline:
                return earlier
            time.sleep(POLL_S)

    @contextmanager
    def once(self, principal: str, scope: str, key: str | None, new_id: str,
             visible: Callable[[str], bool]) -> Iterator[str | None]:
        """Yields the earlier id to answer with, or None: create `new_id` now. Should creating
        it fail, the key is released, so that the client's retry creates it."""
        if key is None:
            yield None
            return
        earlier = self.claim_or_join(principal, scope, key, new_id, visible)
        if earlier is not None:
            yield earlier
            return
        try:
            yield None
        except BaseException:
            self.release(principal, scope, key)
            raise


async def get_idempotency(request: Request) -> Idempotency:
    return Idempotency(request.app.state.backend)


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]
