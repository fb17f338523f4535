"""What a submission sends: the options as form fields, the files as multipart parts."""

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

from certify_contract import CertifyOptions

FileSpec = str | Path | tuple[str, bytes]


def form_fields(options: Mapping[str, object] | CertifyOptions | None) -> dict[str, str]:
    """Options as form fields, checked here with the server's own rules (`InvalidOptionError`).

    Only the options given are sent; the server's defaults (the same
    definitions) apply to the rest.
    """
    if options is None:
        return {}
    given = asdict(options) if isinstance(options, CertifyOptions) else dict(options)
    given = {name: value for name, value in given.items() if value is not None}
    CertifyOptions.from_dict(given)  # unknown names, bounds and combinations, as the API checks them
    return {name: str(value) for name, value in given.items()}


def file_parts(files: Sequence[FileSpec]) -> list[tuple[str, tuple[str, bytes]]]:
    """Paths, or `(name, bytes)` pairs, as repeated `file` parts."""
    parts = []
    for spec in files:
        name, data = spec if isinstance(spec, tuple) else (Path(spec).name, Path(spec).read_bytes())
        parts.append(("file", (name, data)))
    return parts
