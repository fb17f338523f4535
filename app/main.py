"""The FastAPI application: `create_app()` builds it from the one settings object.

The composition root: it opens the Redis backend, gives each feature its
state (`app.state`), and mounts each feature's routes on the HTTP plumbing.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from app.batches.routes import router as batches_router
from app.dashboard.routes import router as dashboard_router
from app.gates.advance import GateAdvancer
from app.gates.routes import router as gates_router
from app.http.api_docs import install_api_docs
from app.http.backend import Backend
from app.http.body_limit import BodySizeLimit
from app.http.errors import install_error_handlers
from app.http.metrics import install_metrics
from app.http.openapi import install_openapi
from app.http.slow_clients import BodyDeadline
from app.jobs.certificates import router as certificates_router
from app.jobs.estimate import router as estimate_router
from app.jobs.form import CertifyForm
from app.jobs.input import router as job_input_router
from app.jobs.options import router as options_router
from app.jobs.queue import JobQueue
from app.jobs.reads import JobReads
from app.jobs.routes import router as jobs_router
from app.models.routes import router as models_router
from app.models.served import ServedModels
from app.records.recorder import Recorder
from app.registry.routes import router as registry_router
from app.registry.store import ModelRegistry
from certify_settings import Settings, load_settings

# Multipart framing and the option fields ride on top of the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024

DESCRIPTION = """Certified robustness by randomized smoothing and Smooth-Reduce.

Submit an image or video with `POST /certify`, then poll `GET /jobs/{job_id}` until
`status` is `succeeded` (the certificate is in `result`), `failed` or `canceled`.
Every error body is `{"error": code, "detail": sentence}` (with `field` when it is about one
field). The dashboard at `/dashboard` is a client of these same endpoints.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend = Backend.connect(settings)
        app.state.backend = backend
        app.state.served_models = ServedModels(backend)
        app.state.model_registry = ModelRegistry(
            backend, lambda name: name in app.state.served_models.now())
        app.state.job_queue = JobQueue(backend)
        app.state.job_reads = JobReads(backend)
        recorder = Recorder(backend, app.state.job_reads)
        app.state.job_queue.on_queued = recorder.record_now
        await run_in_threadpool(recorder.open)
        recorder.start()
        advancer = GateAdvancer(backend, app.state.job_queue)
        advancer.start()  # gates left open by an earlier process go on from here
        try:
            yield
        finally:
            advancer.stop()
            recorder.stop()
            await backend.close()

    # /docs and /redoc are served from local assets (install_api_docs), never from a CDN.
    app = FastAPI(title="Certification service", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    install_error_handlers(app)
    limit = settings.max_upload_bytes + FORM_OVERHEAD_BYTES
    app.add_middleware(BodySizeLimit, max_body_bytes=limit, by_path_prefix={
        "/batches": settings.batch_max_request_bytes + FORM_OVERHEAD_BYTES,
        "/models": settings.model_max_bytes + FORM_OVERHEAD_BYTES,
        "/gates": settings.batch_max_request_bytes + FORM_OVERHEAD_BYTES})
    app.add_middleware(BodyDeadline, body_timeout_s=settings.request_body_timeout_s)
    install_metrics(app)  # outermost middleware: counts 413s and errors too
    for router in (jobs_router, batches_router, gates_router, job_input_router,
                   certificates_router, models_router, registry_router, estimate_router,
                   options_router, dashboard_router):
        app.include_router(router)
    install_api_docs(app)
    install_openapi(app, forms=[CertifyForm])
    return app
