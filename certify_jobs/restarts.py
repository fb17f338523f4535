"""After a Redis restart, a live worker's job looks abandoned for a while: do not sweep it yet.

A running job's entry in rq's started registry expires unless its worker
beats within `CERTIFY_HEARTBEAT_TTL_S`. While Redis is down no worker can
beat, so right after a restart every running job looks abandoned, and the
first sweep (the API's, every 2 s) would "retry" it at the tail of the queue,
spending a retry, while its worker is about to put it back at the head
(`worker/service_worker.py`). So the sweeps wait until Redis has been up
long enough for every live worker to be back: its reconnect backoff (capped at
8 s, `worker/redis_outage.py`) and one heartbeat TTL.
"""

from redis import Redis
from redis.exceptions import ResponseError

WORKER_RECONNECT_S = 10  # a worker's Redis backoff is capped at 8 s, plus a margin


def sweep_must_wait(redis: Redis, heartbeat_ttl_s: int) -> bool:
    """True while Redis has been up for less than a live worker needs to beat again.

    A Redis that refuses INFO (renamed or disabled by its operator) cannot say: sweep.
    """
    try:
        uptime = redis.info("server").get("uptime_in_seconds")
    except ResponseError:
        return False
    return isinstance(uptime, int) and uptime < heartbeat_ttl_s + WORKER_RECONNECT_S
