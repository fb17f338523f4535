"""The dashboard: one HTML page and its static assets, served by the API itself.

Everything it shows comes from the public API (`/jobs`, `/models`, `/options`,
`/estimate`, `/certify`) with the caller's own X-API-Key, so a script can do all that the
dashboard does. The assets are the files of `app/dashboard/assets/`, read
once at start, and `contract.js`, written at start from `certify_contract`
(`app.dashboard.contract_js`); no CDN, no build step. The page's Content-Security-Policy
allows scripts and styles from this origin only (no inline script), and
`require-trusted-types-for 'script'` makes the browser refuse any assignment
of a string to `innerHTML` and its kin: API values can only be inserted as text.
"""

import hashlib
import html
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from app.dashboard.contract_js import CONTRACT_JS, contract_js
from app.http.errors import ApiError

ASSETS_FOLDER = "assets"
PAGE = "index.html"
CONTENT_TYPES = {
    "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml", "html": "text/html; charset=utf-8",
}
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob:",
    "media-src 'self' blob:", "connect-src 'self'", "form-action 'self'", "base-uri 'none'",
    "frame-ancestors 'none'", "require-trusted-types-for 'script'", "trusted-types 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _read_assets() -> dict[str, Asset]:
    bodies = {entry.name: entry.read_bytes()
              for entry in files("app.dashboard").joinpath(ASSETS_FOLDER).iterdir()
              if entry.is_file() and entry.name.rsplit(".", 1)[-1] in CONTENT_TYPES}
    bodies[CONTRACT_JS] = contract_js().encode()
    return {name: Asset(body, CONTENT_TYPES[name.rsplit(".", 1)[-1]],
                        '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
            for name, body in bodies.items()}


ASSETS = _read_assets()


def _page(request: Request) -> Response:
    # The root path (behind a proxy that mounts the API under a prefix) is the only value
    # put into the page, escaped; everything else arrives as JSON and is inserted as text.
    root = html.escape(request.scope.get("root_path", ""), quote=True)
    body = ASSETS[PAGE].body.decode().replace("%ROOT%", root)
    return Response(body, media_type=CONTENT_TYPES["html"],
                    headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    """The jobs list and the submit form."""
    return _page(request)


@router.get("/dashboard/models")
def dashboard_models(request: Request) -> Response:
    """The models the workers serve, their measured speed, and (if allowed) an upload form."""
    return _page(request)


@router.get("/dashboard/jobs/{job_id}")
def dashboard_job(job_id: str, request: Request) -> Response:
    """One job's page (a link one can share): progress, then the certificate or the error."""
    return _page(request)


@router.get("/dashboard/batches")
def dashboard_batches(request: Request) -> Response:
    """The key's batches."""
    return _page(request)


@router.get("/dashboard/batches/{batch_id}")
def dashboard_batch(batch_id: str, request: Request) -> Response:
    """One batch: counts by status, progress, certified accuracy against radius."""
    return _page(request)


@router.get("/dashboard/gates")
def dashboard_gates(request: Request) -> Response:
    """The key's release gates."""
    return _page(request)


@router.get("/dashboard/gates/{gate_id}")
def dashboard_gate(gate_id: str, request: Request) -> Response:
    """One gate: progress over looks, the count against each look's thresholds, the verdict."""
    return _page(request)


@router.get("/dashboard/assets/{name}")
def dashboard_asset(
    name: str, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    asset = ASSETS.get(name)
    if asset is None or name == PAGE:
        raise ApiError(404, "not_found", f"No dashboard asset {name!r}.")
    # Revalidated on every load (ETag), so a new release is picked up at once.
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
    if if_none_match == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)
