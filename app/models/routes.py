"""Served models and health probes."""

from fastapi import APIRouter

from app.http.deps import BackendDep, CallerDep, SettingsDep
from app.http.errors import ERROR_RESPONSES, ApiError
from app.models.served import ServedModelsDep
from app.registry.routes import registered_latest
from app.registry.store import ModelRegistryDep, may_upload
from certify_contract import Health, ModelList

router = APIRouter()


@router.get("/models", response_model=ModelList, responses=ERROR_RESPONSES, tags=["models"])
def list_models(models: ServedModelsDep, settings: SettingsDep, registry: ModelRegistryDep,
                caller: CallerDep) -> ModelList:
    """The models live workers serve, with their manifests and measured passes per second,
    the registered models this key may see (their latest versions), and whether this caller
    may register one."""
    return ModelList(
        default_image_model=settings.default_image_model,
        default_video_model=settings.default_video_model,
        models=[served.info for served in models.now().values()],
        registered=registered_latest(registry, caller),
        uploads_allowed=may_upload(settings, caller),
    )


@router.get("/healthz", response_model=Health, tags=["health"])
async def healthz() -> Health:
    """The process is alive (touches nothing else)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses=ERROR_RESPONSES, tags=["health"])
def readyz(backend: BackendDep) -> Health:
    """Redis answers and at least one worker is registered."""
    backend.ping()
    workers = backend.live_workers()
    if workers == 0:
        raise ApiError(503, "no_workers", "No live worker is registered on the queue.")
    return Health(status="ready", workers=workers)
