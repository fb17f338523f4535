"""`Idempotency-Key`: a retried POST answers with what the first one made, never a second one.

One path for every POST that creates something (a job, a batch, files added
to a batch). The key is bound to an id only in the transaction that creates
what the id names, so a key never points at something that does not exist:

1. The first request claims the key with a *pending* token (SET NX) that
   lives `CERTIFY_IDEMPOTENCY_LEASE_S`; a duplicate arriving meanwhile waits.
2. It creates its job or batch in one MULTI/EXEC that also binds the key to
   the new id, under WATCH of the key: should the claim have passed to another
   request meanwhile (its lease ran out), nothing is created (409, retry).
3. Should the request fail before that, it releases its claim; should it die
   (an API killed), the claim expires with its lease and the retry creates.

A key bound to something that no longer exists (expired, or bound by an older
version of the API that died before queueing) is replaced after one lease.
"""

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import WatchError

from app.http.backend import Backend, text
from app.http.errors import ApiError

POLL_S = 0.02
CONFLICT_RETRIES = 5  # tries of a creating transaction whose watched keys keep changing
PENDING = "pending:"
# KEYS: the idempotency key. ARGV: the value it must still hold to be deleted.
DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

IdempotencyKey = Annotated[str | None, Header(max_length=200, description=(
    "Retrying the POST with the same key returns the first answer instead of doing it twice."))]


def in_progress(detail: str) -> ApiError:
    return ApiError(409, "request_in_progress", detail, headers={"Retry-After": "1"})


class Conflict(Exception):
    """A watched key changed before the transaction ran: read again and retry."""


@dataclass(frozen=True)
class Claim:
    """This request's hold on a key (or no key at all): creates and binds in one transaction."""

    name: str | None
    token: str
    new_id: str
    ttl_s: int

    @contextmanager
    def transaction(self, redis: Redis, *watched: str) -> Iterator[Pipeline]:
        """A pipeline watching the key and `watched`, in immediate mode: read what the write
        depends on, call `multi()`, queue the writes; on exit the key is bound to `new_id`
        and all of it runs at once. `Conflict` when a watched key changed meanwhile."""
        with redis.pipeline() as pipe:
            names = ([self.name] if self.name else []) + list(watched)
            if names:
                pipe.watch(*names)  # type: ignore[no-untyped-call]
            if self.name and pipe.get(self.name) not in (None, self.token.encode()):
                raise in_progress("Another request with this Idempotency-Key took it over "
                                  "(this one outlived its lease); retry to get its answer.")
            yield pipe
            if self.name:
                pipe.set(self.name, self.new_id, ex=self.ttl_s)
            try:
                pipe.execute()
            except WatchError:
                raise Conflict() from None

    def commit(self, redis: Redis, write: Callable[[Pipeline], None], *watched: str,
               gave_up: str = "The Idempotency-Key kept changing; retry.") -> None:
        """`write(pipe)` in `transaction` (it reads what it depends on, calls `multi()`,
        queues its writes), tried again while a watched key changes under it; after
        `CONFLICT_RETRIES` tries, 409 `gave_up`."""
        for _ in range(CONFLICT_RETRIES):
            try:
                with self.transaction(redis, *watched) as pipe:
                    write(pipe)
                return
            except Conflict:  # the key's lease ran out, or a watched key changed: again
                continue
        raise in_progress(gave_up)


@dataclass(frozen=True)
class Slot:
    """What `Idempotency.once` decided: answer with `earlier`, or create under `claim`."""

    earlier: str | None
    claim: Claim


def no_claim(new_id: str) -> Claim:
    return Claim(None, "", new_id, 0)


class Idempotency:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _redis_key(self, principal: str, scope: str, key: str) -> str:
        # Hashed: the client's key may be any header text. Jobs, the first users, have no scope.
        scoped = f"{scope}:{key}" if scope else key
        return self.backend.keys.idempotency(principal, hashlib.sha256(scoped.encode()).hexdigest())

    def _claim_or_join(self, name: str, token: str, visible: Callable[[str], bool]) -> str | None:
        """None: this request holds the key (pending); else the id it is bound to."""
        redis, lease = self.backend.redis, self.backend.settings.idempotency_lease_s
        deadline = time.monotonic() + lease + 1.0
        while True:
            if redis.set(name, token, nx=True, ex=lease):
                return None
            raw = redis.get(name)
            value = text(raw) if raw is not None else None
            if value is not None and not value.startswith(PENDING):
                if visible(value):
                    return value
                if time.monotonic() > deadline:  # bound to nothing: replace it
                    redis.eval(DELETE_IF, 1, name, value)
                    continue
            elif value is not None and time.monotonic() > deadline:
                raise in_progress("A request with this Idempotency-Key is still being "
                                  "handled; retry to get its answer.")
            time.sleep(POLL_S)

    @contextmanager
    def once(self, principal: str, scope: str, key: str | None, new_id: str,
             visible: Callable[[str], bool]) -> Iterator[Slot]:
        """The earlier id to answer with, or a claim under which to create `new_id`. Should
        creating it fail, the claim is released, so that the client's retry creates it."""
        if key is None:
            yield Slot(None, no_claim(new_id))
            return
        name = self._redis_key(principal, scope, key)
        token = PENDING + uuid.uuid4().hex
        earlier = self._claim_or_join(name, token, visible)
        if earlier is not None:
            yield Slot(earlier, no_claim(new_id))
            return
        try:
            yield Slot(None, Claim(name, token, new_id, self.backend.settings.idempotency_ttl_s))
        except BaseException:
            self.backend.redis.eval(DELETE_IF, 1, name, token)
            raise


async def get_idempotency(request: Request) -> Idempotency:
    return Idempotency(request.app.state.backend)


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]
