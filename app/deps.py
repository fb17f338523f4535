"""Dependency aliases: the settings, the job store, the API-key check and the caller's rights."""

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from app.errors import ApiError
from app.store import JobStore
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


async def get_store(request: Request) -> JobStore:
    store: JobStore = request.app.state.store
    return store


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]


async def require_api_key(
    settings: SettingsDep, key: Annotated[str | None, Security(api_key_header)] = None
) -> str:
    """The caller's principal: a short hash of its key, or "anonymous" when keys are off."""
    allowed = settings.api_key_set
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
def _admin_principals(admin_keys: frozenset[str]) -> frozenset[str]:
    return frozenset(principal_of(key) for key in admin_keys)


PrincipalDep = Annotated[str, Depends(require_api_key)]


@dataclass(frozen=True)
class Caller:
    """Who asks, and whether it may see every tenant's jobs (an admin key)."""

    principal: str
    admin: bool

    def may_see(self, owner: str) -> bool:
        return self.admin or owner == self.principal


async def current_caller(settings: SettingsDep, principal: PrincipalDep) -> Caller:
    return Caller(principal, principal in _admin_principals(settings.admin_key_set))


CallerDep = Annotated[Caller, Depends(current_caller)]
