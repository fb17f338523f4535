"""One error shape and one table of codes: the docs, the type and the code agree."""

import ast
import re
from pathlib import Path
from typing import get_args

from app.http.errors import ApiError
from certify_contract import ERROR_CODES, CertifyError, CodedError, ErrorBody, ErrorCode
from certify_core.datasets import DatasetError
from certify_core.errors import (
    CertificationCanceled,
    InputShapeError,
    InvalidOptionError,
    ModelLoadError,
    ModelNotFoundError,
)
from certify_jobs.contract import PayloadError
from certify_media.errors import MediaError
from worker.tasks import JobRefused

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "worker", "certify_core", "certify_media", "certify_cli", "certify_jobs",
            "certify_contract")
TABLE_ROW = re.compile(r"^\| `([a-z_]+)` \| [^|]+ \| [^|]+ \|$")


def documented_codes() -> list[str]:
    lines = (ROOT / "docs" / "ERRORS.md").read_text().splitlines()
    return [match.group(1) for line in lines if (match := TABLE_ROW.match(line))]


def string_literals_in_code() -> set[str]:
    """Every string constant in the packages' code, except the list of codes itself."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "certify_contract" / "errors.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.add(node.value)
    return found


def test_the_table_documents_exactly_the_codes_of_the_code() -> None:
    documented = documented_codes()
    assert len(documented) == len(set(documented)), "a code is documented twice"
    assert set(documented) == set(get_args(ErrorCode)) == ERROR_CODES


def test_every_code_is_used_somewhere() -> None:
    assert ERROR_CODES - string_literals_in_code() == set()


def test_the_readme_links_the_table() -> None:
    assert "docs/ERRORS.md" in (ROOT / "README.md").read_text()


def test_every_coded_error_is_one_class_with_one_shape() -> None:
    for kind in (CertifyError, InvalidOptionError, ModelNotFoundError, ModelLoadError,
                 InputShapeError, CertificationCanceled, DatasetError, MediaError, JobRefused,
                 PayloadError, ApiError):
        assert issubclass(kind, CodedError), kind
    assert InvalidOptionError("x").body() == ErrorBody("invalid_option", "x")
    assert MediaError("corrupt_image", "y").body() == ErrorBody("corrupt_image", "y")
    assert JobRefused("upload_expired", "z").code == "upload_expired"
    assert ApiError(404, "job_not_found", "w").body() == ErrorBody("job_not_found", "w")
