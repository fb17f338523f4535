"""How the contract's records render in an OpenAPI document, and as JSON without pydantic.

The records are plain dataclasses (no third-party import); pydantic reads this
configuration when the API puts them in its schema, taking each field's
description from the docstring written under it. `json_ready` writes a record
the way the API does, for callers without pydantic (the client, the CLI).
"""

from datetime import UTC, datetime
from typing import Any

RECORD_CONFIG: dict[str, object] = {"use_attribute_docstrings": True}
# For members of a union: a record must not swallow another's fields and drop them.
STRICT_RECORD_CONFIG: dict[str, object] = {**RECORD_CONFIG, "extra": "forbid"}


class ReadsLikeJson:
    """Lets a record be read like the JSON object it becomes: `certificate.geometry["offsets"]`."""

    def __getitem__(self, name: str) -> object:
        return vars(self)[name]


def json_ready(value: Any) -> Any:
    """A record's `asdict` with datetimes as the API writes them (ISO 8601, `Z` for UTC)."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if value.utcoffset() == UTC.utcoffset(None) else text
    return value
