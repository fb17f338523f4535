"""Reject request bodies over a byte limit while they stream.

Starlette spools a whole multipart upload to disk before the handler runs, so
the limit must act here: at once on a too-large `Content-Length`, and by
counting the bytes of bodies that do not declare one (chunked uploads).
"""

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.errors import ApiError, error_response


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, "payload_too_large", f"The request body exceeds {limit} bytes.")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_body_bytes: int,
                 by_path_prefix: Mapping[str, int] | None = None) -> None:
        """`by_path_prefix`: other limits for paths under a prefix (batches carry many files)."""
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.by_path_prefix = dict(by_path_prefix or {})

    def _limit(self, path: str) -> int:
        matches = [limit for prefix, limit in self.by_path_prefix.items() if path.startswith(prefix)]
        return matches[0] if matches else self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            too_large = BodyTooLarge(limit)
            response = error_response(413, too_large.code, str(too_large.detail))
            # Close the connection: the client may still be sending the body.
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        await self.app(scope, self._counting(receive, limit), send)

    def _counting(self, receive: Receive, limit: int) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return counted
