"""The FastAPI application: `create_app()` builds it from the one settings object."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from app.api_docs import install_api_docs
from app.body_limit import BodySizeLimit
from app.dashboard import router as dashboard_router
from app.errors import install_error_handlers
from app.job_input import router as job_input_router
from app.metrics import install_metrics
from app.openapi_schema import install_openapi
from app.option_catalog import router as options_router
from app.routes_batches import router as batches_router
from app.routes_jobs import router as jobs_router
from app.routes_system import router as system_router
from app.slow_clients import BodyDeadline
from app.store import JobStore
from certify_settings import Settings, load_settings

# Multipart framing and the option fields ride on top of the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024

DESCRIPTION = """Certified robustness by randomized smoothing and Smooth-Reduce.

Submit an image or video with `POST /certify`, then poll `GET /jobs/{job_id}` until
`status` is `succeeded` (the certificate is in `result`), `failed` or `canceled`.
Every error body is `{"error": code, "detail": sentence}`. The dashboard at `/dashboard`
is a client of these same endpoints.
"""


# Short timeouts: a request should fail fast with 503 while Redis is away;
# the pool reconnects on its own when Redis comes back.
REDIS_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 5.0,
                 "health_check_interval": 10, "retry_on_timeout": False}


def connect_redis(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url_or_default, **REDIS_OPTIONS)


def connect_async_redis(settings: Settings) -> AsyncRedis:
    """For the hot read paths, which run on the event loop instead of a thread."""
    return AsyncRedis.from_url(settings.redis_url_or_default, **REDIS_OPTIONS)  # type: ignore[arg-type]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis, async_redis = connect_redis(settings), connect_async_redis(settings)
        app.state.store = JobStore(redis, settings, async_redis)
        try:
            yield
        finally:
            redis.close()
            await async_redis.aclose()

    # /docs and /redoc are served from local assets (install_api_docs), never from a CDN.
    app = FastAPI(title="Certification service", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    install_error_handlers(app)
    limit = settings.max_upload_bytes + FORM_OVERHEAD_BYTES
    app.add_middleware(BodySizeLimit, max_body_bytes=limit, by_path_prefix={
        "/batches": settings.batch_max_request_bytes + FORM_OVERHEAD_BYTES})
    app.add_middleware(BodyDeadline, body_timeout_s=settings.request_body_timeout_s)
    install_metrics(app)  # outermost middleware: counts 413s and errors too
    app.include_router(jobs_router)
    app.include_router(batches_router)
    app.include_router(job_input_router)
    app.include_router(system_router)
    app.include_router(options_router)
    app.include_router(dashboard_router)
    install_api_docs(app)
    install_openapi(app)
    return app
