"""Every record the API answers with is defined once, in `certify_contract`.

The API's routes answer with those classes, its OpenAPI document describes
exactly their fields, the client reads the very same classes, and a view
written by the client (`certify status --json`) is the JSON the API wrote.
Any twin of a record, on either side, fails one of these.
"""

import dataclasses
import importlib
import inspect
import json
import pkgutil
from datetime import UTC, datetime
from typing import Any, get_args, get_type_hints

import pytest
from pydantic import TypeAdapter

import certify_client
import certify_contract
from app.main import create_app
from certify_client import CertifyClient
from certify_client.records import from_json
from certify_contract import (
    ACTIVE_STATUSES,
    ENDED_STATUSES,
    JOB_STATUSES,
    STOP_REASONS,
    BatchCounts,
    BatchMetrics,
    BatchView,
    Certificate,
    CertifyOptions,
    ErrorBody,
    JobProgress,
    JobView,
    StopReason,
    WebhookRecord,
)
from certify_settings import Settings
from tests.client.test_records import certificate_json

# The forms a request sends are the API's own (pydantic); everything it answers is a record.
FORMS = {"CertifyForm", "BatchForm", "BatchFilesForm", "GateForm"}


def contract_records() -> dict[str, type]:
    """Every dataclass defined in a module of certify_contract, by name."""
    records: dict[str, type] = {}
    for module in pkgutil.iter_modules(certify_contract.__path__, "certify_contract."):
        for name, value in vars(importlib.import_module(module.name)).items():
            if inspect.isclass(value) and dataclasses.is_dataclass(value) \
                    and value.__module__ == module.name:
                assert name not in records, f"two records named {name}"
                records[name] = value
    return records


RECORDS = contract_records()


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(Settings(redis_url="redis://127.0.0.1:1/0"))


def test_every_answer_is_a_contract_record(app: Any) -> None:
    answered = {}
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if code.startswith("2") and schema is not None:
                    answered[f"{method} {path}"] = schema["$ref"].rsplit("/", 1)[1]
                elif schema is not None:
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, code)
    assert len(answered) >= 15
    assert set(answered.values()) <= set(RECORDS), answered


def test_the_document_describes_exactly_each_records_fields(app: Any) -> None:
    schemas = app.openapi()["components"]["schemas"]
    assert set(schemas) - FORMS <= set(RECORDS), set(schemas) - FORMS - set(RECORDS)
    for name in set(schemas) - FORMS:
        fields = {field.name for field in dataclasses.fields(RECORDS[name])}
        assert set(schemas[name]["properties"]) == fields, name


def test_the_client_reads_the_contracts_own_classes() -> None:
    exported = {name: getattr(certify_client, name) for name in certify_client.__all__}
    twins = {name for name, value in exported.items()
             if name in RECORDS and value is not RECORDS[name]}
    assert not twins, f"certify_client defines its own {twins}"
    answers = {name: get_type_hints(method)["return"]
               for name, method in inspect.getmembers(CertifyClient, inspect.isfunction)
               if not name.startswith("_") and "return" in get_type_hints(method)}
    read = {answer for answer in answers.values() if dataclasses.is_dataclass(answer)}
    assert {RECORDS["JobView"], RECORDS["JobPage"], RECORDS["BatchView"]} <= read
    assert read <= set(RECORDS.values()), read - set(RECORDS.values())


def full_job_view() -> JobView:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    return JobView(
        job_id="a" * 32, status="succeeded", model="m", media_type="image/png", created_at=moment,
        started_at=moment, ended_at=moment, progress=JobProgress(1100, 1100, 2, 3), attempts=1,
        options=CertifyOptions(n=1000, sampling="adaptive", looks="500"),
        result=from_json(Certificate, certificate_json(seed=2**61 + 1, elapsed_s=1.5)),
        error=None, webhook=WebhookRecord("d" * 32, "delivered", 1, 204, None, moment, moment))


def test_the_client_writes_a_view_exactly_as_the_api_does() -> None:
    view = full_job_view()
    written = json.loads(TypeAdapter(JobView).dump_json(view))
    assert view.to_dict() == written  # `certify status --json`: every field, the same values
    assert from_json(JobView, written) == view
    failed = dataclasses.replace(view, status="failed", result=None,
                                 error=ErrorBody("invalid_option", "Bad `n`.", "n"))
    assert failed.to_dict() == json.loads(TypeAdapter(JobView).dump_json(failed))
    batch = BatchView(
        batch_id="b" * 32, status="ended", total=1, counts=BatchCounts(succeeded=1), progress=1.0,
        created_at=view.created_at, closed_at=view.created_at,  # type: ignore[arg-type]
        model="m", options=CertifyOptions(n=10), labeled=True,
        metrics=BatchMetrics(1, {"0": 1.0}, {"0": [0.025, 1.0]}, 0.5, 0.0, 1.0, 0.1),
        jobs_url="/j", results_url="/r")
    written = json.loads(TypeAdapter(BatchView).dump_json(batch))
    assert batch.to_dict() == written and from_json(BatchView, written) == batch


def test_statuses_and_stop_reasons_are_defined_once_and_complete() -> None:
    assert set(JOB_STATUSES) == ENDED_STATUSES | ACTIVE_STATUSES
    assert not ENDED_STATUSES & ACTIVE_STATUSES
    assert set(STOP_REASONS) == set(get_args(StopReason))
    assert get_type_hints(Certificate)["stop_reason"] == StopReason | None
