"""The OpenAPI document against the real server: schemathesis fuzzes every operation.

Zero server errors, and every answer inside the document (status, content type,
headers, body schema, Allow). The server is real (uvicorn, Redis) with an API key,
on a queue no worker reads, so fuzzed submissions stay queued and cost no compute.
Three checks are left out, for reasons of design: `/readyz` answers 503 by design
when no worker reads the queue; `positive_data_acceptance` expects a 2xx
for any schema-valid form, while rules between options, an empty or non-image
file and the model's geometry are refused with a documented 422; and
`use_after_free` expects DELETE to remove a resource, while `DELETE /jobs/{id}`
and `DELETE /batches/{id}` cancel, and the canceled job or batch stays readable.
Bounded: 40 examples per operation, a fixed seed, about 20 s on a quiet machine.

Forty examples rarely reach an operation's deep paths: a paged read on a batch
needs a batch that exists before its integers reach Redis. A second, targeted
run fuzzes the paged reads alone, on a real batch, with many more examples:
enough to find an integer Redis refuses (an offset over 2**63 answered 500, found
about once in 1,700 cases), which the whole-document run never reached.
"""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from certify_testkit.processes import extra_api

pytestmark = pytest.mark.integration
FUZZ_KEY = "fuzz-key"


@pytest.fixture(scope="module")
def fuzzed_api(service: dict[str, object], logs: Path) -> Iterator[str]:
    with extra_api(service, logs / "fuzz-api.log", CERTIFY_API_KEYS=FUZZ_KEY,
                   CERTIFY_QUEUE_NAME="fuzz") as port:
        yield f"http://127.0.0.1:{port}"


def _schemathesis(api: str, tmp_path: Path, *options: str, config: Path | None = None
                  ) -> subprocess.CompletedProcess[str]:
    top = ["--config-file", str(config)] if config else []
    command = [
        sys.executable, "-m", "schemathesis.cli", *top, "run", f"{api}/openapi.json",
        "--header", f"X-API-Key: {FUZZ_KEY}", "--request-timeout", "20", "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path), *options,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=tmp_path)


def test_every_answer_is_in_the_document(fuzzed_api: str, tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{fuzzed_api}/openapi.json",
        "--header", f"X-API-Key: {FUZZ_KEY}", "--checks", "all",
        "--exclude-checks", "positive_data_acceptance,use_after_free", "--exclude-path", "/readyz",
        "--max-examples", "40", "--seed", "11", "--workers", "2",
        "--request-timeout", "20", "--no-color", "--report", "junit",
        "--report-dir", str(tmp_path),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    assert "Server error" not in run.stdout and " passed" in run.stdout, summary


# The reads whose integers go to Redis (LRANGE, ZREVRANGE bounds).
PAGED_READS = "^/batches/\\{batch_id\\}/jobs$|^/batches$|^/jobs$"


def test_paged_reads_on_a_real_batch(fuzzed_api: str, tmp_path: Path, sample_png: bytes) -> None:
    """Many examples of the reads that pass integers to Redis, on a batch that exists."""
    made = httpx.post(f"{fuzzed_api}/batches", headers={"X-API-Key": FUZZ_KEY},
                      data={"n": "100", "n0": "10"}, files=[("file", ("x.png", sample_png))])
    assert made.status_code == 202, made.text
    config = tmp_path / "schemathesis.toml"
    config.write_text("[parameters]\n" + f"\"path.batch_id\" = {json.dumps(made.json()['batch_id'])}\n")
    # Valid requests only: those are the ones whose integers reach Redis (invalid ones stop
    # at validation, and the whole-document run covers them).
    run = _schemathesis(fuzzed_api, tmp_path, "--include-path-regex", PAGED_READS,
                        "--exclude-method-regex", "POST|DELETE", "--phases", "fuzzing",
                        "--mode", "positive", "--checks", "not_a_server_error",
                        "--max-examples", "300", "--seed", "11", "--workers", "2",
                        config=config)
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    assert "Server error" not in run.stdout and " passed" in run.stdout, summary
