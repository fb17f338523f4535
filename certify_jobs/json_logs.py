"""Structured logs: one JSON object per line, for the API and the workers alike.

Fields given as `extra={...}` (job_id, model, method, durations) become keys of
the object. Secrets and media never reach a line: values of keys that name a
secret are replaced, bytes are replaced by their length, Redis URLs lose their
password, and over-long messages are cut (tracebacks in the middle, so that
their last line, the cause, stays).
"""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from certify_jobs.contract import JobPayload

SECRET_KEY = re.compile(r"(api[_-]?key|password|secret|token|authorization|cookie)", re.IGNORECASE)
URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)
MAX_MESSAGE_CHARS = 2000
MAX_TRACEBACK_CHARS = 8000
# Attributes every LogRecord has; anything else came in through `extra`.
STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName", "color_message",
}


def scrub_text(text: str) -> str:
    text = URL_PASSWORD.sub(r"\1***@", text)
    if len(text) > MAX_MESSAGE_CHARS:
        return text[:MAX_MESSAGE_CHARS] + f"... [{len(text) - MAX_MESSAGE_CHARS} chars cut]"
    return text


def scrub_traceback(text: str) -> str:
    """Like `scrub_text`, but a long traceback loses its middle: its last line says why."""
    text = URL_PASSWORD.sub(r"\1***@", text)
    if len(text) <= MAX_TRACEBACK_CHARS:
        return text
    head, tail = MAX_TRACEBACK_CHARS // 4, MAX_TRACEBACK_CHARS * 3 // 4
    return f"{text[:head]}\n... [{len(text) - head - tail} chars cut] ...\n{text[-tail:]}"


def scrub_value(key: str, value: Any) -> Any:
    if SECRET_KEY.search(key):
        return "[redacted]"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(value)} bytes]"
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {str(k): scrub_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(key, v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub_text(str(value))


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", ...extra}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub_text(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = scrub_value(key, value)
        if record.exc_info:
            entry["exception"] = scrub_traceback(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# The fields a person reading text logs needs to follow a job (JSON lines carry every field).
TEXT_FIELDS = ("job_id", "model", "outcome", "error_code", "duration_s")


class TextFormatter(logging.Formatter):
    """`<time> <level> <logger> <message> job_id=... error_code=...`: the text mode for humans."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{name}={scrub_value(name, getattr(record, name))}"
                  for name in TEXT_FIELDS if getattr(record, name, None) not in (None, "")]
        if not fields:
            return line
        head, newline, rest = line.partition("\n")  # a traceback stays below the first line
        return f"{head} {' '.join(fields)}{newline}{rest}"


def make_handler(log_format: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def configure_logging(level: str = "INFO", log_format: str = "json") -> None:
    """Route every logger of this process (rq's included) through one handler on the root."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(make_handler(log_format))
    root.setLevel(level.upper())


def uvicorn_log_config(level: str = "INFO", log_format: str = "json") -> dict[str, Any]:
    """A `log_config` for uvicorn.run: its loggers propagate to our root handler."""
    formatter = {"()": f"{__name__}.{'JsonFormatter' if log_format == 'json' else 'TextFormatter'}"}
    handler = {"class": "logging.StreamHandler", "formatter": "default",
               "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {name: {"handlers": [], "level": level.upper(), "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def job_fields(job_id: str, payload: JobPayload | None) -> dict[str, Any]:
    """What a log line says about a job: never the upload's bytes or the caller's key."""
    if payload is None:  # a payload that did not parse: the id is all there is to say
        return {"job_id": job_id}
    return {
        "job_id": job_id,
        "model": payload.model,
        "method": payload.options.method,
        "media_kind": payload.media_kind,
        "media_type": payload.media_type,
        "upload_bytes": payload.upload_bytes,
        "n0": payload.options.n0,
        "n": payload.options.n,
    }
