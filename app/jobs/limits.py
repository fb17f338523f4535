"""Per-tenant limits on submissions: jobs waiting, and noise samples per clock hour.

Checked when a job or batch is submitted, before anything is queued; a refusal
is 429 with `Retry-After`. Concurrent requests of one tenant may pass the
queued-jobs check together, so the limit can be exceeded by the requests in
flight at once; the hourly budget is counted atomically (INCRBY).
"""

import time

from redis import Redis

from app.http.errors import ApiError
from certify_contract import CertifyOptions
from certify_jobs import fair_queue
from certify_jobs.contract import ServiceKeys
from certify_settings import Settings

QUEUE_FULL_RETRY_S = 10
HOUR_S = 3600


def samples_of(options: CertifyOptions) -> int:
    """Noise samples a job may draw: selection plus the largest estimation count, per patch."""
    return (options.n0 + options.n) * (options.patches or 1)


def admit(redis: Redis, settings: Settings, owner: str, options: CertifyOptions,
          jobs: int = 1) -> None:
    if settings.tenant_max_queued:
        waiting = fair_queue.backlog_depth(redis, settings.queue_name, owner)
        if waiting + jobs > settings.tenant_max_queued:
            raise ApiError(429, "tenant_queue_full", f"This API key has {waiting} jobs waiting; "
                           f"at most {settings.tenant_max_queued} may wait at once. Retry "
                           "when some have started.",
                           headers={"Retry-After": str(QUEUE_FULL_RETRY_S)})
    if settings.tenant_samples_per_hour:
        _spend_samples(redis, settings.tenant_samples_per_hour, owner, samples_of(options) * jobs)


def room(redis: Redis, settings: Settings, owner: str, options: CertifyOptions, wanted: int) -> int:
    """How many of `wanted` jobs fit the tenant's limits now (0 to `wanted`); `admit` still
    decides, as concurrent submissions may take the room first."""
    fits = wanted
    if settings.tenant_max_queued:
        fits = min(fits, settings.tenant_max_queued
                   - fair_queue.backlog_depth(redis, settings.queue_name, owner))
    if settings.tenant_samples_per_hour:
        raw = redis.get(_samples_key(owner, time.time()))
        left = settings.tenant_samples_per_hour - int(raw or 0)
        fits = min(fits, left // samples_of(options))
    return max(fits, 0)


def _samples_key(owner: str, now: float) -> str:
    """The counter of the owner's samples in the clock hour of `now`."""
    return ServiceKeys().tenant_samples(owner, int(now // HOUR_S))


def _spend_samples(redis: Redis, budget: int, owner: str, samples: int) -> None:
    now = time.time()
    key = _samples_key(owner, now)
    with redis.pipeline() as pipe:
        pipe.incrby(key, samples)
        pipe.expire(key, HOUR_S + 60)
        spent = int(pipe.execute()[0])
    if spent > budget:
        redis.decrby(key, samples)
        retry_after = int(HOUR_S - now % HOUR_S) + 1
        raise ApiError(429, "tenant_rate_limited", f"This request asks for {samples} noise "
                       f"samples; this API key has {max(budget - spent + samples, 0)} of its "
                       f"{budget} per hour left. Retry in {retry_after} s.",
                       headers={"Retry-After": str(retry_after)})
