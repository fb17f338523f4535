"""Who may register a model (`CERTIFY_MODEL_UPLOADS`), asked by `GET /models` for the dashboard's
upload form and by `POST /models` itself, so the two never disagree."""

from app.http.deps import Caller
from certify_jobs.contract import ANONYMOUS
from certify_settings import Settings


def may_upload(settings: Settings, caller: Caller) -> bool:
    """admin: admin keys, and the one user of a server without keys (who operates it);
    tenants: every valid key; off: nobody."""
    if settings.model_uploads == "off":
        return False
    if settings.model_uploads == "tenants":
        return True
    return caller.admin or caller.principal == ANONYMOUS
