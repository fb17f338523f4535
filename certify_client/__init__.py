"""A light, typed Python client of the certification API.

Imports neither torch nor any server package (only httpx and the standard
library, plus `certify_contract` for the option definitions and every record the API
answers with), so scripts, CI jobs and the `certify submit` / `status` / `cancel`
/ `jobs` commands start in a fraction of a second.

    from certify_client import CertifyClient

    with CertifyClient("http://127.0.0.1:8000") as client:
        job = client.submit("certify_core/samples/fmnist-ankle-boot.png", options={"n": 1000})
        view = client.wait(job.job_id)
        print(view.status, view.result.radius if view.result else view.error)

Every request that fails with 502, 503 or 504, or cannot reach the server, is
retried with exponential backoff (`RetryPolicy`); a submission is retried
with the same `Idempotency-Key`, so a retry never creates a second job.
"""

from certify_client.client import CertifyClient
from certify_client.errors import ApiError, ClientError, ServiceUnreachable, WaitTimeout
from certify_client.transport import PollPolicy, RetryPolicy
from certify_client.webhooks import WebhookSignatureError, verify_webhook
from certify_contract import (
    BatchItem,
    BatchMetrics,
    BatchView,
    Certificate,
    ErrorBody,
    InvalidOptionError,
    JobPage,
    JobProgress,
    JobStatus,
    JobView,
    SubmittedJob,
    WebhookRecord,
)

__all__ = [
    "ApiError",
    "BatchItem",
    "BatchMetrics",
    "BatchView",
    "Certificate",
    "CertifyClient",
    "ClientError",
    "ErrorBody",
    "InvalidOptionError",
    "JobPage",
    "JobProgress",
    "JobStatus",
    "JobView",
    "PollPolicy",
    "RetryPolicy",
    "ServiceUnreachable",
    "SubmittedJob",
    "WaitTimeout",
    "WebhookRecord",
    "WebhookSignatureError",
    "verify_webhook",
]
