"""The job contract between the API and the workers, defined once.

Importable without torch or FastAPI: the API enqueues what this package
describes and the worker reads it back.
"""

from certify_jobs.contract import (
    TASK_PATH,
    JobPayload,
    JobStatus,
    Outcome,
    ServiceKeys,
)
from certify_jobs.options import CertifyForm, OptionError

__all__ = [
    "TASK_PATH",
    "CertifyForm",
    "JobPayload",
    "JobStatus",
    "OptionError",
    "Outcome",
    "ServiceKeys",
]
