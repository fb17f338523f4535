"""Notices to the record store: "record job X (or batch X) as it is now".

Added to the outbox stream (`ServiceKeys.outbox`) when a job or batch is
created (in the transaction that queues it), when it ends, and when its
webhook delivery settles; the API's drainer reads the live state and writes
the record. A notice carries no state, so a repeated one only rewrites the same record.
"""

from typing import Any, Literal

from certify_jobs.contract import ServiceKeys

Kind = Literal["job", "batch"]
KEYS = ServiceKeys()


def notify_record(redis: Any, kind: Kind, target_id: str) -> None:
    """Add the notice with `redis`: a client, or the caller's pipeline (its transaction)."""
    redis.xadd(KEYS.outbox, {"kind": kind, "id": target_id})
