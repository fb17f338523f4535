"""Fair scheduling between tenants, over the one rq queue the workers read.

A job is created as an ordinary rq job on the service queue (its origin, its
registries, its retries all stay rq's), but its id waits in its tenant's
*backlog* (a Redis list per principal) instead of the queue. `dispatch` moves
ids from the backlogs to the queue, one at a time and only while the queue
holds fewer than `depth` jobs, taking each from the tenant served least
recently (a sorted set of tenants with a backlog, scored by when each was last
served; a new tenant scores its last service, 0 when never served). So one
tenant's flood waits in its own backlog, and another tenant's job is next as
soon as a worker is free: it waits at most for the jobs already running and
the `depth` jobs already handed to the queue.

A tenant over `CERTIFY_TENANT_MAX_RUNNING` jobs running at once is skipped
until one of them ends (`job_ended`); a job counts as running from its
dispatch until it ends, or for at most the job timeout.

The API holds each new job (`hold`, in the transaction that creates it) and
dispatches after; every worker dispatches before each dequeue. Both steps are
Lua scripts, atomic in Redis.
"""

import time

from redis import Redis
from redis.client import Pipeline

from certify_jobs.contract import ServiceKeys

KEYS = ServiceKeys()

# KEYS: queue list, tenant ring, served hash, the tenant's backlog. ARGV: job id, tenant.
# rq pushed the job onto the queue in the same transaction: it waits in the backlog instead.
HOLD = """
redis.call('LREM', KEYS[1], -1, ARGV[1])
redis.call('RPUSH', KEYS[4], ARGV[1])
if not redis.call('ZSCORE', KEYS[2], ARGV[2]) then
  redis.call('ZADD', KEYS[2], tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0'), ARGV[2])
end
return 1
"""

# KEYS: queue list, tenant ring, served hash, sequence counter.
# ARGV: depth, backlog prefix, running prefix, running limit (0: none), now, stale-after seconds.
DISPATCH = """
local depth, limit = tonumber(ARGV[1]), tonumber(ARGV[4])
local now, stale = tonumber(ARGV[5]), tonumber(ARGV[6])
local moved = 0
while redis.call('LLEN', KEYS[1]) < depth do
  local chosen = nil
  for _, tenant in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    local running = ARGV[3] .. tenant
    redis.call('ZREMRANGEBYSCORE', running, '-inf', now - stale)
    if limit <= 0 or redis.call('ZCARD', running) < limit then chosen = tenant break end
  end
  if not chosen then break end
  local backlog = ARGV[2] .. chosen
  local job = redis.call('LPOP', backlog)
  local seq = redis.call('INCR', KEYS[4])
  redis.call('HSET', KEYS[3], chosen, seq)
  if redis.call('LLEN', backlog) > 0 then
    redis.call('ZADD', KEYS[2], seq, chosen)
  else
    redis.call('ZREM', KEYS[2], chosen)
  end
  if job then
    redis.call('RPUSH', KEYS[1], job)
    redis.call('ZADD', ARGV[3] .. chosen, now, job)
    redis.call('EXPIRE', ARGV[3] .. chosen, stale)
    moved = moved + 1
  end
end
return moved
"""


def queue_name(queue_key: str) -> str:
    """rq's queue key (`rq:queue:NAME`) to the queue's name."""
    return queue_key.removeprefix("rq:queue:")


def _ring_keys(queue_key: str) -> list[str]:
    name = queue_name(queue_key)
    return [queue_key, KEYS.tenant_ring(name), KEYS.tenants_served(name),
            KEYS.tenants_served_seq(name)]


def hold(pipe: Pipeline, queue_key: str, job_id: str, tenant: str) -> None:
    """In the transaction that queued `job_id`: keep it in its tenant's backlog instead."""
    name = queue_name(queue_key)
    pipe.eval(HOLD, 4, queue_key, KEYS.tenant_ring(name), KEYS.tenants_served(name),
              KEYS.tenant_backlog(tenant, name), job_id, tenant)


def dispatch(redis: Redis, queue_key: str, *, depth: int = 1, max_running: int = 0,
             job_timeout_s: int = 3600) -> int:
    """Move this queue's backlog jobs to it, fairly, until it holds `depth`; how many moved."""
    name = queue_name(queue_key)
    return int(redis.eval(DISPATCH, 4, *_ring_keys(queue_key), depth,
                          KEYS.tenant_backlog("", name), KEYS.tenant_running("", name), max_running,
                          time.time(), job_timeout_s + 60))


def job_ended(redis: Redis, queue: str, tenant: str, job_id: str) -> None:
    """The job (of the queue named `queue`) no longer counts against its tenant's running limit."""
    redis.zrem(KEYS.tenant_running(tenant, queue), job_id)


def unhold(redis: Redis, queue: str, tenant: str, job_id: str) -> None:
    """A job canceled before it was dispatched leaves its backlog."""
    redis.lrem(KEYS.tenant_backlog(tenant, queue), 0, job_id)


def backlog_depth(redis: Redis, queue: str, tenant: str | None = None) -> int:
    """Jobs waiting in one tenant's backlog of the queue named `queue`, or in all its backlogs."""
    tenants = [tenant] if tenant is not None else \
        [t.decode() if isinstance(t, bytes) else str(t) for t in redis.zrange(KEYS.tenant_ring(queue), 0, -1)]
    with redis.pipeline(transaction=False) as pipe:
        for name in tenants:
            pipe.llen(KEYS.tenant_backlog(name, queue))
        return sum(int(count) for count in pipe.execute())
