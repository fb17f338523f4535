"""Dependency aliases: the settings, the Redis backend, the API-key check and the caller's rights.

Each feature's own state (its store, its caches) has its alias beside it.
"""

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from app.http.backend import Backend
from app.http.errors import ApiError
from certify_jobs.contract import ANONYMOUS
from certify_settings import Settings

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False,
    description="Required when the server is configured with CERTIFY_API_KEYS.",
)


# Every dependency is `async def`: FastAPI would run a plain `def` in a worker thread,
# a hop that costs more than these functions themselves.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


SettingsDep = Annotated[Settings, Depends(get_settings)]
BackendDep = Annotated[Backend, Depends(get_backend)]


def _principal(settings: Settings, key: str | None) -> str:
    """The caller's principal: a short hash of its key, or "anonymous" when keys are off."""
    allowed = _key_sets(settings.api_keys, settings.admin_api_keys)[0]
    if not allowed:
        return ANONYMOUS
    if key is None:
        raise ApiError(401, "missing_api_key", "This server requires an X-API-Key header.")
    # Compare against every key in constant time, so timing does not reveal a prefix.
    if not any(hmac.compare_digest(key.encode(), good.encode()) for good in allowed):
        raise ApiError(401, "invalid_api_key", "The X-API-Key is not valid.")
    return principal_of(key)


def principal_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@lru_cache(maxsize=8)
def _key_sets(api_keys: str, admin_keys: str) -> tuple[frozenset[str], frozenset[str]]:
    """(every accepted key, the admins' principals), parsed once per settings."""
    settings = Settings(api_keys=api_keys, admin_api_keys=admin_keys)
    return settings.api_key_set, frozenset(principal_of(key) for key in settings.admin_key_set)


# Each of these reads the settings from the app itself rather than through another
# dependency: FastAPI's dependency solving is the largest cost of a cached poll.
async def require_api_key(
    request: Request, key: Annotated[str | None, Security(api_key_header)] = None
) -> str:
    return _principal(request.app.state.settings, key)


PrincipalDep = Annotated[str, Depends(require_api_key)]


@dataclass(frozen=True)
class Caller:
    """Who asks, and whether it may see every tenant's jobs (an admin key)."""

    principal: str
    admin: bool

    def may_see(self, owner: str) -> bool:
        return self.admin or owner == self.principal


async def current_caller(
    request: Request, key: Annotated[str | None, Security(api_key_header)] = None
) -> Caller:
    return caller_of(request.app.state.settings, key)


def caller_of(settings: Settings, key: str | None) -> Caller:
    """The caller of a key (for a route that reads X-API-Key itself: `API_KEY_SECURITY`)."""
    principal = _principal(settings, key)
    admins = _key_sets(settings.api_keys, settings.admin_api_keys)[1]
    return Caller(principal, principal in admins)


# What `Security(api_key_header)` puts in the document, for a route that reads the header
# itself (the poll route: no dependency to solve at all).
API_KEY_SECURITY: list[dict[str, list[str]]] = [{api_key_header.scheme_name: []}]


CallerDep = Annotated[Caller, Depends(current_caller)]
