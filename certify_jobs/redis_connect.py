"""Connecting to Redis at start: one clear line when it cannot be reached, not a traceback."""

from typing import Any

from redis import Redis
from redis.exceptions import RedisError


class RedisUnreachableError(RuntimeError):
    """Redis did not answer a PING at start; the message says what to do."""


def connect_redis(url: str, **options: Any) -> Redis:
    """A client of `url` that has answered a PING.

    Checked before a worker loads models or registers, so a wrong URL or a
    stopped Redis ends the start in a second with one line. The message names
    the address Redis's own error gives, never the URL (it may hold a password).
    """
    redis = Redis.from_url(url, **options)
    try:
        redis.ping()
    except RedisError as exc:
        raise RedisUnreachableError(
            f"cannot reach Redis: {exc} Start it, or point CERTIFY_REDIS_URL at it."
        ) from None
    return redis
