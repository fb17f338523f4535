"""Prometheus metrics of the API: requests by route and status, and the queue's state.

`GET /metrics` serves them in the text format. Each app gets its own registry,
so several apps in one process (tests) do not collide. Queue gauges are read
from Redis at scrape time; while Redis is away only `certify_redis_up 0` is
reported. Run one uvicorn process per API container: each process keeps its
own counters, and Prometheus scrapes each container.
"""

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http import HTTPStatus

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from rq.registry import StartedJobRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.backend import Backend
from app.http.errors import CLIENT_CLOSED_REQUEST, STANDARD_METHODS
from certify_jobs import fair_queue
from certify_jobs.unreadable import fetch_many_readable

log = logging.getLogger("app.requests")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
QUIET_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})  # probes: logged at DEBUG only
# Every label takes values from a fixed set, so no request can create series: a made-up
# method is "other", a path no route matches is "unmatched" (routes are templates).
KNOWN_METHODS = frozenset(STANDARD_METHODS)
KNOWN_STATUSES = frozenset({*(str(status.value) for status in HTTPStatus),
                            str(CLIENT_CLOSED_REQUEST)})


def bounded_labels(scope: Scope, status: int) -> tuple[str, str, str]:
    """(method, route, status) as metric labels, each from a bounded set of values."""
    method = str(scope.get("method", ""))
    route = getattr(scope.get("route"), "path", None)
    code = str(status)
    return (method if method in KNOWN_METHODS else "other",
            route if isinstance(route, str) else "unmatched",
            code if code in KNOWN_STATUSES else "other")


class RequestMetrics:
    """ASGI middleware: count and time every request under its route template."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter("certify_api_requests", "HTTP requests answered.",
                                ("method", "route", "status"), registry=registry)
        self.latency = Histogram("certify_api_request_duration_seconds",
                                 "Time to answer an HTTP request.", ("method", "route", "status"),
                                 buckets=LATENCY_BUCKETS, registry=registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering
        answered = gone = False

        async def send_status(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = int(message["status"]), True
            await send(message)

        async def receive_watched() -> Message:
            nonlocal gone
            message = await receive()
            # The client left before its answer began: whatever the app then answers
            # (a body parse error, say) no one reads, and it is no failure of the server.
            gone = gone or (message["type"] == "http.disconnect" and not answered)
            return message

        try:
            await self.app(scope, receive_watched, send_status)
        finally:
            self._observe(scope, CLIENT_CLOSED_REQUEST if gone else status,
                          time.perf_counter() - start)

    def _observe(self, scope: Scope, status: int, elapsed: float) -> None:
        method, route, _ = labels = bounded_labels(scope, status)
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(elapsed)
        level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
        log.log(level, "%s %s %d", method, route, status, extra={
            "event": "http_request", "method": method, "route": route, "status": status,
            "duration_s": round(elapsed, 6)})


def _gauge(name: str, documentation: str, value: float, queue: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["queue"])
    family.add_metric([queue], value)
    return family


class QueueCollector(Collector):
    """Queue depth, oldest queued job's age, running jobs and live workers, read at scrape time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        backend: Backend | None = getattr(self.app.state, "backend", None)
        up = GaugeMetricFamily("certify_redis_up", "1 when the API reached Redis at this scrape.")
        if backend is None:
            up.add_metric([], 0)
            yield up
            return
        try:
            gauges = list(self._queue_gauges(backend))
        except Exception as exc:  # Redis away: report it, never fail the scrape
            log.debug("queue metrics unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from gauges

    def _queue_gauges(self, backend: Backend) -> Iterator[GaugeMetricFamily]:
        queue = backend.queue
        waiting = queue.count + fair_queue.backlog_depth(backend.redis, backend.queue.name)
        yield _gauge("certify_queue_depth", "Jobs waiting (in the queue and in the tenants' "
                     "backlogs).", waiting, queue.name)
        yield _gauge("certify_queue_oldest_job_age_seconds",
                     "Seconds the oldest waiting job has been queued (0 when none waits).",
                     _oldest_age(backend), queue.name)
        # No cleanup here: a scrape must not change the registries (the API sweeps them itself).
        running = StartedJobRegistry(queue=queue).get_job_count(cleanup=False)
        yield _gauge("certify_jobs_running", "Jobs a worker has started and not ended.", running,
                     queue.name)
        yield _gauge("certify_workers", "Workers registered on the queue.", backend.live_workers(),
                     queue.name)


def _oldest_age(backend: Backend) -> float:
    for job_id in backend.queue.get_job_ids(0, 5):
        job = fetch_many_readable(backend.redis, [job_id])[0]  # an unparsable one is moved aside
        if job is not None and job.enqueued_at is not None:
            enqueued = job.enqueued_at
            if enqueued.tzinfo is None:
                enqueued = enqueued.replace(tzinfo=UTC)
            return max((datetime.now(UTC) - enqueued).total_seconds(), 0.0)
    return 0.0


def install_metrics(app: FastAPI) -> None:
    """Add the request middleware, the queue collector and `GET /metrics` to `app`."""
    registry = CollectorRegistry()
    registry.register(QueueCollector(app))
    app.state.metrics_registry = registry
    app.add_middleware(RequestMetrics, registry=registry)

    @app.get("/metrics", tags=["health"], response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {}},
                              "description": "Prometheus text format."}})
    def metrics(request: Request) -> Response:
        """Prometheus metrics: requests by route and status, queue depth and age, workers."""
        body = generate_latest(request.app.state.metrics_registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
