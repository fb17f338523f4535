"""/docs and /redoc work offline: every asset they reference is served by the API itself."""

import re

import httpx
import pytest

pytestmark = pytest.mark.integration
REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")
EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "json"}


def references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(html)]


@pytest.mark.parametrize(("page", "assets"), [
    ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png", "openapi.json"}),
    ("/redoc", {"redoc.standalone.js", "favicon.png", "openapi.json"}),
])
def test_docs_pages_reference_only_same_origin_assets_that_load(
    client: httpx.Client, page: str, assets: set[str]
) -> None:
    answer = client.get(page)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    found = references(html)
    assert {url.rsplit("/", 1)[-1] for url in found} >= assets
    for url in found:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        kind = next(v for k, v in EXPECTED_TYPES.items() if url.endswith(k))
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert len(asset.content) > 1000, url


def test_swagger_ui_is_the_real_bundle_and_asks_no_validator(client: httpx.Client) -> None:
    html = client.get("/docs").text
    assert '"validatorUrl": null' in html
    bundle = client.get("/docs-assets/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle
    assert client.get("/docs/oauth2-redirect").status_code == 200
