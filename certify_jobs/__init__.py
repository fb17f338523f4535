"""The job contract between the API and the workers, defined once.

Importable without torch or FastAPI: the API enqueues what this package
describes and the worker reads it back. Options, certificates, outcomes and
errors come from `certify_contract`.
"""

from certify_jobs.contract import (
    TASK_PATH,
    JobPayload,
    PayloadError,
    ServiceKeys,
    TaskNotAllowed,
)
from certify_jobs.crashes import record_crash

__all__ = [
    "TASK_PATH",
    "JobPayload",
    "PayloadError",
    "ServiceKeys",
    "TaskNotAllowed",
    "record_crash",
]
