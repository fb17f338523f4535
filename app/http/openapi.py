"""The OpenAPI document says what the API really answers.

FastAPI declares its own `HTTPValidationError` for every 422, but the error
handlers answer `{"error", "detail"}` (`ErrorBody`) for every error; here each
422 points at `ErrorBody` and FastAPI's validation schemas leave the document.

A form model holding an upload is declared url-encoded, with `null` allowed for
optional fields; the API reads it as multipart, where an optional field is
either sent with a value or left out. The form schemas say so here.
"""

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

ERROR_BODY_REF = {"$ref": "#/components/schemas/ErrorBody"}
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
MULTIPART_ERRORS = {"400": "Malformed or cut-short multipart body.",
                    "408": "The body did not arrive in time."}
VALIDATION_DESCRIPTION = "Invalid request: a parameter, header or form field is missing or wrong."


def _error_body_for_422(document: dict[str, Any]) -> None:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                described = responses["422"].get("description")
                keep = described if described and described != "Validation Error" \
                    else VALIDATION_DESCRIPTION
                responses["422"] = {"description": keep,
                                    "content": {"application/json": {"schema": ERROR_BODY_REF}}}
            # A route answering text (a TSV) still answers its errors as JSON.
            for code, response in responses.items():
                if code[:1] in ("4", "5") and "application/json" not in response.get("content", {}):
                    response["content"] = {"application/json": {"schema": ERROR_BODY_REF}}
    schemas = document.get("components", {}).get("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)


def _multipart_forms(document: dict[str, Any]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            form = content.get("application/x-www-form-urlencoded") \
                or content.get("multipart/form-data")
            if form is None:
                continue
            name = form["schema"].get("$ref", "").rsplit("/", 1)[-1]
            properties = schemas.get(name, {}).get("properties", {})
            if not any(_is_upload(field) for field in properties.values()):
                continue
            if "application/x-www-form-urlencoded" in content:
                content["multipart/form-data"] = content.pop("application/x-www-form-urlencoded")
            # Every multipart body passes the cut-body and slow-body guards (app/slow_clients.py).
            responses = operation.setdefault("responses", {})
            for code, described in MULTIPART_ERRORS.items():
                responses.setdefault(code, {"description": described, "content": {
                    "application/json": {"schema": ERROR_BODY_REF}}})
            for field in properties.values():
                _without_null(field)


def _is_upload(field: dict[str, Any]) -> bool:
    """A file field, or a list of files (`POST /batches`)."""
    items = field.get("items")
    return "contentMediaType" in field or field.get("format") == "binary" or (
        isinstance(items, dict) and _is_upload(items))


def _add_form_schemas(document: dict[str, Any], forms: list[type[BaseModel]]) -> None:
    """Forms a route parses itself (`POST /certify`): their schemas, forms' rules applied."""
    for model in forms:
        form = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for field in form["properties"].values():
            _without_null(field)
        document.setdefault("components", {}).setdefault("schemas", {})[model.__name__] = form


def _without_null(field: dict[str, Any]) -> None:
    """`anyOf: [X, null]` becomes X: a form field is a value or absent, never null."""
    branches = field.get("anyOf")
    if isinstance(branches, list):
        kept = [branch for branch in branches if branch != {"type": "null"}]
        if len(kept) == 1:
            del field["anyOf"]
            field.update(kept[0])
    if field.get("default", 0) is None:
        del field["default"]


def install_openapi(app: FastAPI, forms: list[type[BaseModel]]) -> None:
    """Call after every route is added: the document is built once, on first request. `forms`:
    the forms that routes parse themselves, which FastAPI does not see."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()  # FastAPI's generator caches the document it returns
            _error_body_for_422(document)
            _add_form_schemas(document, forms)
            _multipart_forms(document)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
