"""Concurrent POSTs with one `Idempotency-Key`: every one answers with the same job.

The first request claims the key (SET NX) before it stores the upload and
queues the job, so a duplicate arriving meanwhile finds the key pointing at
a job that is not visible yet. It waits for that job instead of answering
404; if the first request failed and released the key, the duplicate claims
the key itself and queues the job. Only when the first request is still
queueing after `WAIT_S` does the duplicate answer with the claimed id and
`queued` (the job appears moments later).
"""

import time

from app.store import JobStore
from certify_jobs.contract import JobStatus

WAIT_S = 10.0
POLL_S = 0.02


def claim_or_join(store: JobStore, principal: str, key: str,
                  job_id: str) -> tuple[str, JobStatus] | None:
    """None: this request owns the key and must queue `job_id`; else the earlier job."""
    deadline = time.monotonic() + WAIT_S
    while True:
        earlier = store.claim_idempotency(principal, key, job_id)
        if earlier is None:
            return None
        job = store.fetch(earlier)
        if job is not None:
            return earlier, store.view(job).status
        if time.monotonic() > deadline:
            return earlier, "queued"
        time.sleep(POLL_S)
