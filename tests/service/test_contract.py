"""The service's side of the contract, without servers: the derived form, the payload, the schema."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.jobs.form import SERVICE_CAPS
from certify_contract import OPTION_NAMES, OPTION_SPECS, CertifyOptions, InvalidOptionError
from certify_jobs import JobPayload
from certify_jobs.contract import PayloadError
from certify_settings import Settings
from certify_testkit.processes import REPO
from tests.app_client import AppClient, running

SAMPLE = Path(__file__).resolve().parents[2] / "certify_core" / "samples" / "fmnist-ankle-boot.png"
OPTION_CASES = [
    {},
    {"method": "smooth-reduce", "stride": "2"},
    {"method": "smooth-reduce", "patches": "4", "patch_size": "20", "noise": "independent"},
    {"method": "smooth-reduce", "patches": "4", "stride": "2"},
    {"method": "cohen", "resize": "32"},
    {"method": "cohen", "patch_size": "20"},
    {"alpha": "1.5"},
    {"n": "0"},
]


@pytest.fixture(scope="module")
def api() -> Iterator[AppClient]:
    """The real app with Redis unreachable: a form that passes validation then gets 503."""
    yield from running(Settings(redis_url="redis://127.0.0.1:1/0"))


def post(api: AppClient, fields: dict[str, str]) -> tuple[int, dict[str, str]]:
    response = api.post("/certify", files={"file": ("a.png", SAMPLE.read_bytes())}, data=fields)
    return response.status_code, response.json()


def test_importing_the_app_does_not_import_torch() -> None:
    code = "import sys, app.main; app.main.create_app(); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


@pytest.mark.parametrize("fields", OPTION_CASES)
def test_the_form_refuses_exactly_what_the_library_refuses(
    api: AppClient, fields: dict[str, str]
) -> None:
    status, body = post(api, fields)
    typed = {name: value if name in ("method", "noise") else float(value) if name == "alpha"
             else int(value) for name, value in fields.items()}
    try:
        CertifyOptions.from_dict(typed)
    except InvalidOptionError:
        assert status == 422 and body["error"] == "invalid_option", body
        return
    assert status == 503 and body["error"] == "redis_unavailable", body  # accepted, then queued


def test_rules_between_options_give_the_library_s_message(api: AppClient) -> None:
    status, body = post(api, {"method": "cohen", "stride": "2"})
    assert status == 422
    assert body["detail"] == "Options ['stride'] apply to method 'smooth-reduce' only, not 'cohen'."
    assert body["field"] == "stride"


@pytest.mark.parametrize(("fields", "field"), [
    ({"n": "0"}, "n"), ({"alpha": "1.5"}, "alpha"), ({"method": "fast"}, "method"),
    ({"method": "smooth-reduce", "patches": "4", "stride": "2"}, "stride"),
    ({"sampling": "adaptive", "looks": "5,2"}, "looks"), ({"looks": "5"}, "looks"),
    ({"sampling": "adaptive", "looks": "500", "n": "100"}, "n"),
])
def test_an_error_about_one_field_names_it(
    api: AppClient, fields: dict[str, str], field: str
) -> None:
    """`field` places the sentence on a form (the dashboard's) without parsing the sentence."""
    status, body = post(api, fields)
    assert status == 422 and body["field"] == field, body


def test_an_error_about_the_upload_names_the_file_and_others_name_nothing(api: AppClient) -> None:
    empty = api.post("/certify", files={"file": ("a.png", b"")})
    text = api.post("/certify", files={"file": ("a.png", b"plain text, not an image")})
    assert (empty.status_code, empty.json()["field"]) == (422, "file")
    assert (text.status_code, text.json()["field"]) == (415, "file")
    unreachable = api.post("/certify", files={"file": ("a.png", SAMPLE.read_bytes())})
    assert unreachable.status_code == 503 and "field" not in unreachable.json()


def test_unknown_fields_are_refused_by_name(api: AppClient) -> None:
    status, body = post(api, {"sigam": "0.5", "model": "fmnist-cnn-s025"})
    assert status == 422 and body == {"error": "invalid_option", "detail": "Unknown field `sigam`.",
                                      "field": "sigam"}


def test_the_form_is_the_options_plus_file_and_model_with_the_service_caps(api: AppClient) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    form = schemas["CertifyForm"]
    assert set(form["properties"]) == {"file", "model", "callback_url", *OPTION_NAMES}
    assert form["additionalProperties"] is False and form["required"] == ["file"]
    batch = schemas["BatchForm"]  # the same options, with files, labels and `open`
    assert set(batch["properties"]) == {"file", "labels", "open", "model", "callback_url",
                                        *OPTION_NAMES}
    for spec in OPTION_SPECS:
        field = form["properties"][spec.name]
        assert field["description"] == spec.help_line
        assert field.get("default") == spec.default
        assert batch["properties"][spec.name] == field
    assert set(SERVICE_CAPS) <= set(OPTION_NAMES)
    assert form["properties"]["n"]["maximum"] == SERVICE_CAPS["n"]
    assert form["properties"]["alpha"]["exclusiveMaximum"] == 1


def test_payload_round_trips_and_rejects_strangers() -> None:
    payload = JobPayload("k", "s", 3, "image/png", "image", "m", CertifyOptions(n=10), 7)
    assert JobPayload.from_dict(payload.to_dict()) == payload
    with pytest.raises(PayloadError):
        JobPayload.from_dict({**payload.to_dict(), "extra": 1})
    with pytest.raises(InvalidOptionError, match="Unknown options"):
        JobPayload.from_dict({**payload.to_dict(), "options": {"sigam": 0.5}})


def test_every_422_in_the_schema_is_the_error_body_the_api_sends(api: AppClient) -> None:
    document = api.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    declared = [operation["responses"]["422"]["content"]["application/json"]["schema"]
                for operations in document["paths"].values() for operation in operations.values()
                if "422" in operation["responses"]]
    assert len(declared) >= 5 and all(
        schema == {"$ref": "#/components/schemas/ErrorBody"} for schema in declared)
    answer = api.get("/jobs?limit=0")
    assert answer.status_code == 422 and set(answer.json()) == {"error", "detail", "field"}
    assert answer.json()["field"] == "limit"


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", "/jobs/" + "0" * 32, "GET, DELETE"), ("POST", "/healthz", "GET"),
    ("GET", "/certify", "POST"), ("DELETE", "/docs-assets/x.js", "GET, HEAD"),
])
def test_405_names_the_allowed_methods(api: AppClient, method: str, path: str, allow: str) -> None:
    answer = api.request(method, path)
    assert answer.status_code == 405 and answer.headers["allow"] == allow
    assert answer.json()["error"] == "method_not_allowed" and allow in answer.json()["detail"]
