"""Served models and health probes."""

from fastapi import APIRouter

from app.deps import PrincipalDep, SettingsDep, StoreDep
from app.errors import ERROR_RESPONSES, ApiError
from app.schemas import Health, ModelList

router = APIRouter()


@router.get("/models", response_model=ModelList, responses=ERROR_RESPONSES, tags=["models"])
def list_models(store: StoreDep, settings: SettingsDep, _: PrincipalDep) -> ModelList:
    """The models live workers serve, with their manifests."""
    return ModelList(
        default_image_model=settings.default_image_model,
        default_video_model=settings.default_video_model,
        models=[served.info for served in store.served_models().values()],
    )


@router.get("/healthz", response_model=Health, tags=["health"])
async def healthz() -> Health:
    """The process is alive (touches nothing else)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses=ERROR_RESPONSES, tags=["health"])
def readyz(store: StoreDep) -> Health:
    """Redis answers and at least one worker is registered."""
    store.ping()
    workers = store.live_workers()
    if workers == 0:
        raise ApiError(503, "no_workers", "No live worker is registered on the queue.")
    return Health(status="ready", workers=workers)
