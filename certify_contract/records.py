"""How the contract's records render in an OpenAPI document.

The records are plain dataclasses (no third-party import); pydantic reads this
configuration when the API puts them in its schema, taking each field's
description from the docstring written under it.
"""

RECORD_CONFIG: dict[str, object] = {"use_attribute_docstrings": True}
# For members of a union: a record must not swallow another's fields and drop them.
STRICT_RECORD_CONFIG: dict[str, object] = {**RECORD_CONFIG, "extra": "forbid"}


class ReadsLikeJson:
    """Lets a record be read like the JSON object it becomes: `certificate.geometry["offsets"]`."""

    def __getitem__(self, name: str) -> object:
        return vars(self)[name]
