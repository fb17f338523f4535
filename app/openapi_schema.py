"""The OpenAPI document says what the API really answers.

FastAPI declares its own `HTTPValidationError` for every 422, but the error
handlers answer `{"error", "detail"}` (`ErrorBody`) for every error; here each
422 points at `ErrorBody` and FastAPI's validation schemas leave the document.
"""

from typing import Any

from fastapi import FastAPI

ERROR_BODY_REF = {"$ref": "#/components/schemas/ErrorBody"}
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
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
    schemas = document.get("components", {}).get("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)


def install_openapi(app: FastAPI) -> None:
    """Call after every route is added: the document is built once, on first request."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _error_body_for_422(generate())  # FastAPI's generator caches the document it returns
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
