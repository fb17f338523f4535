"""What the dashboard stands on, over real HTTP: GET /options, GET /jobs/{id}/input, a job's
options, and the dashboard's own pages and assets with their security headers."""

import hashlib
import io
import re
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from app.dashboard.routes import CONTENT_SECURITY_POLICY
from app.jobs.form import CertifyForm
from certify_contract import OPTION_SPECS
from certify_jobs.contract import ANONYMOUS
from certify_store.blobs import BlobStore
from certify_testkit.processes import REPO, poll_job

pytestmark = pytest.mark.integration

ASSETS = REPO / "app" / "dashboard" / "assets"
VIDEO = REPO / "certify_core" / "samples" / "moving-fmnist-trouser.mp4"
# Every asset together, what a first visit downloads: a budget, so that it stays small.
PAGE_WEIGHT_BUDGET = 100_000


def fresh_png(seed: int) -> bytes:
    """An image no other test uploads (uploads are stored by content hash)."""
    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 255, (28, 28), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def submit(client: httpx.Client, name: str, data: bytes, **fields: str) -> str:
    answer = client.post("/certify", files={"file": (name, data)}, data={"n0": "10", "n": "50",
                                                                         **fields})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["job_id"])


def test_options_describe_the_form_from_the_one_definition(client: httpx.Client) -> None:
    options = {option["name"]: option for option in client.get("/options").json()["options"]}
    assert list(options) == [spec.name for spec in OPTION_SPECS]
    for spec in OPTION_SPECS:
        option = options[spec.name]
        assert option["help"] == spec.meta.help and option["flag"] == spec.flag
        assert option["default_text"] == spec.default_text and option["optional"] == spec.optional
    assert options["method"]["kind"] == "choice"
    assert options["method"]["choices"] == ["cohen", "smooth-reduce"]
    assert options["n"]["kind"] == "integer" and options["n"]["minimum"] == 1
    # The service's cap, which only the form knows, is the maximum the form enforces.
    n_field = CertifyForm.model_fields["n"]
    assert options["n"]["maximum"] == next(c.le for c in n_field.metadata if hasattr(c, "le"))
    assert options["alpha"]["minimum"] == 1e-12 and options["alpha"]["exclusive_maximum"] == 1
    assert options["sigma"]["default"] is None and options["sigma"]["kind"] == "number"
    assert options["resize"]["applies_when"] == {"option": "method", "value": "smooth-reduce"}
    assert options["resize"]["media"] == "image" and options["frames"]["media"] == "video"


def test_a_jobs_input_is_its_upload_served_as_media_never_as_a_page(client: httpx.Client) -> None:
    image = fresh_png(1)
    job_id = submit(client, "page.html", image, n0="11")
    answer = client.get(f"/jobs/{job_id}/input")
    assert answer.status_code == 200 and answer.content == image
    assert answer.headers["content-type"] == "image/png"  # sniffed, not the name's .html
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in answer.headers["content-security-policy"]
    assert answer.headers["content-disposition"] == f'inline; filename="job-{job_id}.png"'
    view = client.get(f"/jobs/{job_id}").json()
    assert view["options"]["n0"] == 11 and view["options"]["method"] == "cohen"

    video = client.get(f"/jobs/{submit(client, 'clip.mp4', VIDEO.read_bytes())}/input")
    assert video.headers["content-type"] == "video/mp4" and video.content == VIDEO.read_bytes()


def test_an_unknown_job_or_an_expired_upload_is_an_error_body(
    client: httpx.Client, service: dict[str, object]
) -> None:
    for job_id in ("0" * 32, "not-a-job"):
        answer = client.get(f"/jobs/{job_id}/input")
        assert answer.status_code == 404 and answer.json()["error"] == "job_not_found"
    image = fresh_png(2)
    job_id = submit(client, "a.png", image)
    poll_job(client, job_id)
    digest = hashlib.sha256(image).hexdigest()
    env: dict[str, str] = service["env"]  # type: ignore[assignment]
    BlobStore(Path(env["CERTIFY_DATA_DIR"]) / "uploads").path(f"{ANONYMOUS}/{digest}").unlink()
    answer = client.get(f"/jobs/{job_id}/input")
    assert answer.status_code == 410 and answer.json()["error"] == "upload_expired"


def test_dashboard_pages_forbid_inline_scripts_and_other_origins(client: httpx.Client) -> None:
    for path in ("/dashboard", f"/dashboard/jobs/{'a' * 32}"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
        policy = answer.headers["content-security-policy"]
        assert policy == CONTENT_SECURITY_POLICY
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'" and directives["default-src"] == "'none'"
        assert "unsafe" not in policy and "http" not in policy and "*" not in policy
        assert directives["require-trusted-types-for"] == "'script'"
        assert answer.headers["x-content-type-options"] == "nosniff"
    page = client.get("/dashboard").text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline script"
    assert not re.search(r"\sstyle=|<style", page) and not re.search(r"\son\w+=", page)


def referenced_assets(client: httpx.Client, page: str) -> set[str]:
    """The assets the page names, and every module those import, transitively (as served)."""
    names = set(re.findall(r'/dashboard/assets/([\w.-]+)"', page))
    pending = [name for name in names if name.endswith(".js")]
    while pending:
        text = client.get(f"/dashboard/assets/{pending.pop()}").text
        for imported in re.findall(r"from '\./([\w.-]+)'", text):
            if imported not in names:
                names.add(imported)
                pending.append(imported)
    return names


def test_every_asset_is_served_from_this_origin_with_its_type(client: httpx.Client) -> None:
    names = referenced_assets(client, client.get("/dashboard").text)
    # Every file, and contract.js, which the API writes from certify_contract.
    assert names == {path.name for path in ASSETS.iterdir()} - {"index.html"} | {"contract.js"}
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    weight = 0
    for name in names:
        answer = client.get(f"/dashboard/assets/{name}")
        assert answer.status_code == 200 and answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-type"].startswith(types[Path(name).suffix])
        again = client.get(f"/dashboard/assets/{name}", headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304
        weight += len(answer.content)
    weight += len(client.get("/dashboard").content)
    assert weight < PAGE_WEIGHT_BUDGET
    missing = client.get("/dashboard/assets/index.html")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_assets_insert_text_only_and_load_nothing_from_elsewhere() -> None:
    for path in ASSETS.iterdir():
        text = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                     "new Function", "setHTMLUnsafe"):
            assert sink not in text, f"{path.name} uses {sink}"
        external = set(re.findall(r"https?://[^\s'\"<>)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not external, f"{path.name} names {external}"
