"""JSON log lines: extra fields become keys; secrets, URL passwords and bytes never appear."""

import json
import logging
import sys

from certify_contract import CertifyOptions
from certify_jobs.contract import JobPayload
from certify_jobs.json_logs import JsonFormatter, TextFormatter, job_fields


def formatted(message: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_extra_fields_are_keys_and_secrets_are_redacted() -> None:
    entry = formatted("connecting to %s", "redis://:hunter2secret@redis:6379/0", job_id="abc",
                      api_key="k-123", headers={"X-API-Key": "k-456", "accept": "*/*"},
                      upload=b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, duration_s=1.5)
    assert entry["message"] == "connecting to redis://:***@redis:6379/0"
    assert entry["job_id"] == "abc" and entry["duration_s"] == 1.5 and entry["level"] == "info"
    assert entry["api_key"] == "[redacted]"
    assert entry["headers"] == {"X-API-Key": "[redacted]", "accept": "*/*"}
    assert entry["upload"] == "[108 bytes]"
    text = json.dumps(entry)
    assert "hunter2secret" not in text and "k-123" not in text and "k-456" not in text


def test_long_messages_are_cut() -> None:
    entry = formatted("x" * 10_000)
    assert len(str(entry["message"])) < 2100 and str(entry["message"]).endswith("chars cut]")


def test_a_long_traceback_keeps_its_cause() -> None:
    try:
        try:
            raise ValueError("context " * 2000)
        except ValueError as context:
            raise RuntimeError("OOM command not allowed when used memory > 'maxmemory'.") \
                from context
    except RuntimeError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    exception = str(json.loads(JsonFormatter().format(record))["exception"])
    assert "chars cut" in exception and len(exception) < 8200
    assert exception.endswith("RuntimeError: OOM command not allowed when used memory > "
                              "'maxmemory'.")


def test_job_fields_name_the_job_not_its_bytes() -> None:
    payload = JobPayload("certify:upload:ff", "ff", 10, "image/png", "image", "m",
                         CertifyOptions(method="smooth-reduce", n=100, n0=10), seed=42)
    assert job_fields("j1", payload) == {
        "job_id": "j1", "model": "m", "method": "smooth-reduce", "media_kind": "image",
        "media_type": "image/png", "upload_bytes": 10, "n0": 10, "n": 100}
    assert job_fields("j2", None) == {"job_id": "j2"}  # a payload that did not parse


def test_text_lines_name_the_job_and_the_error_code() -> None:
    record = logging.LogRecord("worker.jobs", logging.WARNING, __file__, 1, "job %s", ("failed",), None)
    for key, value in {"job_id": "j9", "model": "m", "outcome": "failed",
                       "error_code": "corrupt_image", "n": 100}.items():
        setattr(record, key, value)
    line = TextFormatter().format(record)
    assert line.endswith("WARNING worker.jobs job failed job_id=j9 model=m outcome=failed "
                         "error_code=corrupt_image")
    plain = logging.LogRecord("app", logging.INFO, __file__, 1, "started", (), None)
    assert TextFormatter().format(plain).endswith("INFO app started")
