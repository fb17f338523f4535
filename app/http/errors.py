"""One error shape for every 4xx/5xx: `ErrorBody`, `{"error": code, "detail": sentence}`, with
`"field"` when the error is about one request field (a form shows the sentence beside it)."""

import logging
from collections.abc import Mapping

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match, Mount

from certify_contract import CodedError, ErrorBody, ErrorCode

log = logging.getLogger(__name__)
REDIS_FULL_RETRY_S = 30
# Not an HTTP status anyone receives: the metric and log label of a request its client abandoned.
CLIENT_CLOSED_REQUEST = 499

STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
# Codes for the HTTP errors the framework raises itself (unknown route, wrong method, ...).
FRAMEWORK_CODES: dict[int, ErrorCode] = {
    400: "bad_request", 404: "not_found", 405: "method_not_allowed",
}


class ApiError(HTTPException, CodedError):
    """A coded error with its HTTP status; an HTTPException, so body parsing passes it through."""

    def __init__(self, status_code: int, code: ErrorCode, detail: str,
                 headers: dict[str, str] | None = None, field: str | None = None) -> None:
        HTTPException.__init__(self, status_code=status_code, detail=detail, headers=headers)
        CodedError.__init__(self, code, detail, field)


def error_response(status_code: int, code: ErrorCode, detail: str,
                   headers: Mapping[str, str] | None = None,
                   field: str | None = None) -> JSONResponse:
    # `field` is written only when known: most errors concern no one field.
    body: dict[str, str] = {"error": code, "detail": detail}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status_code,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def allowed_methods(request: Request) -> str:
    """Every method some route of this path takes (several routes may share a path).

    Routes are probed method by method, since included routers do not list theirs; a
    mounted static folder matches any method but serves reads only.
    """
    # Inside a mount the scope's root path has grown by the mount's; probe from the top.
    scope = {**request.scope, "root_path": request.scope.get(
        "app_root_path", request.scope.get("root_path", ""))}
    allowed: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Mount):
            if route.matches(scope)[0] != Match.NONE:
                allowed |= {"GET", "HEAD"}
            continue
        allowed |= {method for method in STANDARD_METHODS
                    if route.matches({**scope, "method": method})[0] == Match.FULL}
    return ", ".join(method for method in STANDARD_METHODS if method in allowed)


def _describe_validation(exc: RequestValidationError) -> tuple[str, str | None]:
    """The sentence, and the field of the first error that names one."""
    parts, fields = [], []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        # A rule between options names its field on the error it raised (a model-level error).
        cause = (error.get("ctx") or {}).get("error")
        fields.append(cause.field if isinstance(cause, CodedError) and cause.field else where)
        if error.get("type") == "extra_forbidden":
            parts.append(f"Unknown field `{where}`.")
            continue
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"`{where}`: {message}" if where else message)
    return " ".join(parts) or "Invalid request.", next((f for f in fields if f), None)


def install_error_handlers(app: FastAPI) -> None:
    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = exc.code if isinstance(exc, CodedError) else FRAMEWORK_CODES.get(
            exc.status_code, "http_error")
        headers, detail = dict(exc.headers or {}), str(exc.detail)
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
            detail = f"This path takes {headers['Allow']}, not {request.method}."
        field = exc.field if isinstance(exc, CodedError) else None
        return error_response(exc.status_code, code, detail, headers, field)

    app.add_exception_handler(StarletteHTTPException, http_error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail, field = _describe_validation(exc)
        return error_response(422, "invalid_option", detail, field=field)

    async def redis_down(_: Request, exc: Exception) -> JSONResponse:
        log.warning("Redis unavailable: %s", exc)
        return error_response(503, "redis_unavailable", "The job store (Redis) is unreachable; "
                              "retry shortly.")

    app.add_exception_handler(RedisConnectionError, redis_down)
    app.add_exception_handler(RedisTimeoutError, redis_down)

    async def redis_full(request: Request, exc: Exception) -> JSONResponse:
        log.error("Redis refused a write, out of memory (maxmemory reached, noeviction): %s "
                  "[%s]", exc, _memory_summary(request), extra={"event": "redis_full"})
        return error_response(503, "redis_full", "The job store (Redis) is full; retry in "
                              f"{REDIS_FULL_RETRY_S} s.", {"Retry-After": str(REDIS_FULL_RETRY_S)})

    app.add_exception_handler(OutOfMemoryError, redis_full)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, _: Exception) -> JSONResponse:
        # The client closed the connection before its request was read: nothing failed here,
        # and no one reads the answer. Counted as 499 (nginx's "client closed request").
        log.info("client closed the connection during %s %s", request.method, request.url.path,
                 extra={"event": "client_closed_request"})
        return error_response(CLIENT_CLOSED_REQUEST, "client_closed_request",
                              "The client closed the connection before sending its request.")

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:
        log.exception("Unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "The server failed to handle the request.")


def _memory_summary(request: Request) -> str:
    """Redis's own figures for the log line (INFO still answers when Redis is full)."""
    try:
        info = request.app.state.backend.redis.info("memory")
        return f"used_memory={info.get('used_memory')} maxmemory={info.get('maxmemory')}"
    except RedisError as exc:
        return f"memory figures unavailable: {exc}"


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        401: "Missing or wrong X-API-Key (only when the server has API keys).",
        503: "Redis is unreachable or full, or no live worker serves the model.",
    }.items()
}
