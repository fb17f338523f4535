"""The webhook tasks: POST a job's, a batch's or a gate's final view, signed, to its `callback_url`.

Run by the delivery worker (`python -m app.webhooks.worker`) from the webhook
queue. The body is the view `GET /jobs/{id}` or `GET /batches/{id}` gives
(without its own delivery record); the headers carry the event, the delivery
id (the same on every retry of one ending, so a receiver can drop duplicates)
and the signature. Anything but a 2xx answer, a timeout or a refused
connection is retried by rq at growing intervals; an address the SSRF guard
refuses is not retried. Each attempt is recorded on the job (or batch).
"""

import asyncio
import contextvars
import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import TypeAdapter
from redis import Redis
from rq import get_current_job
from rq.job import Job
from rq.serializers import JSONSerializer

from app.batches.store import BatchRecord, BatchStore
from app.batches.views import batch_view
from app.gates.store import GateSpec, GateStore
from app.gates.views import VIEW as GATE_VIEW
from app.gates.views import view_of
from app.http.backend import Backend
from app.http.callbacks import Resolver, WebhookPolicy, WebhookRefused, check_url, resolve_checked
from app.jobs.views import JOB_VIEW, job_view
from certify_contract import BatchView
from certify_contract.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from certify_jobs.endings import CALLBACK_META, WEBHOOK_META
from certify_jobs.notices import notify_record
from certify_settings import Settings

log = logging.getLogger(__name__)
BATCH_VIEW = TypeAdapter(BatchView)


class DeliveryFailed(Exception):
    """This attempt failed; rq retries it while retries are left."""


@dataclass(frozen=True)
class DeliveryContext:
    settings: Settings
    redis: Redis
    resolver: Resolver = socket.getaddrinfo


# Bound by the delivery worker before it takes jobs (rq calls tasks by dotted name).
DELIVERY_CONTEXT: contextvars.ContextVar[DeliveryContext] = contextvars.ContextVar(
    "certify_delivery")


def send(url: str, body: bytes, headers: dict[str, str], policy: WebhookPolicy, timeout_s: float,
         resolver: Resolver = socket.getaddrinfo,
         transport: httpx.AsyncBaseTransport | None = None) -> httpx.Response:
    """One POST to the checked address of `url`; raises `WebhookRefused` before connecting.

    `timeout_s` bounds the whole attempt (connect, send, the answer's headers and body):
    a receiver that trickles its answer a byte at a time is cut off at the deadline,
    where a per-read timeout would restart at every byte."""
    target = check_url(url, policy)
    address = resolve_checked(target, policy, resolver)
    literal = f"[{address}]" if address.version == 6 else str(address)
    default_port = 443 if target.scheme == "https" else 80
    host = target.host if target.port == default_port else f"{target.host}:{target.port}"

    async def post() -> httpx.Response:
        # trust_env=False: no proxy from the environment may carry the request elsewhere.
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False,
                                     transport=transport) as http:
            request = http.build_request(
                "POST", f"{target.scheme}://{literal}:{target.port}{target.path}", content=body,
                headers={**headers, "Host": host, "Content-Type": "application/json"},
                # TLS checks the certificate against the host name, not the address.
                extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
            )
            try:
                async with asyncio.timeout(timeout_s):
                    return await http.send(request)
            except TimeoutError:
                raise httpx.TimeoutException(f"No complete answer within {timeout_s:g} s "
                                             "(the attempt's deadline).", request=request) from None

    return asyncio.run(post())


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _attempt(context: DeliveryContext, event: str, url: str, body: bytes, delivery_id: str,
             record: dict[str, Any], save: Callable[[dict[str, Any]], None]) -> str:
    settings = context.settings
    record = {**record, "delivery_id": delivery_id, "attempts": int(record.get("attempts", 0)) + 1,
              "last_attempt_at": _now(), "last_status": None, "last_error": None}
    headers = {EVENT_HEADER: event, DELIVERY_HEADER: delivery_id,
               SIGNATURE_HEADER: signature_header(settings.webhook_secret, body)}
    try:
        answer = send(url, body, headers, WebhookPolicy.from_settings(settings),
                      settings.webhook_timeout_s, context.resolver)
    except WebhookRefused as exc:
        save({**record, "state": "refused", "last_error": str(exc)})
        log.warning("webhook refused delivery_id=%s event=%s: %s", delivery_id, event, exc)
        return "refused"
    except httpx.HTTPError as exc:
        record["last_error"] = f"{type(exc).__name__}: {exc}"[:300]
    else:
        record["last_status"] = answer.status_code
        if 200 <= answer.status_code < 300:
            save({**record, "state": "delivered", "delivered_at": _now()})
            log.info("webhook delivered delivery_id=%s event=%s attempts=%d", delivery_id, event,
                     record["attempts"])
            return "delivered"
        record["last_error"] = f"HTTP {answer.status_code}"
    this_job = get_current_job()
    final = this_job is None or not this_job.retries_left
    save({**record, "state": "failed" if final else "pending"})
    log.warning("webhook attempt failed delivery_id=%s event=%s attempts=%d final=%s: %s",
                delivery_id, event, record["attempts"], final, record["last_error"])
    raise DeliveryFailed(f"Delivery {delivery_id} to {url} failed: {record['last_error']}")


def deliver_job_end(spec: dict[str, str]) -> str:
    context = DELIVERY_CONTEXT.get()
    job = Job.fetch(spec["target"], connection=context.redis, serializer=JSONSerializer)
    view = job_view(job, False)
    if view.status in ("queued", "running"):  # announced by a crash handler before rq failed it
        raise DeliveryFailed(f"Job {job.id} has not ended yet; retrying.")
    body = JOB_VIEW.dump_json(view, exclude={"webhook"})

    def save(record: dict[str, Any]) -> None:
        job.meta[WEBHOOK_META] = record
        job.save_meta()
        notify_record(context.redis, "job", job.id)

    return _attempt(context, "job.ended", str(job.meta[CALLBACK_META]), body,
                    spec["delivery_id"], dict(job.meta.get(WEBHOOK_META) or {}), save)


def deliver_batch_end(spec: dict[str, str]) -> str:
    context = DELIVERY_CONTEXT.get()
    batches = BatchStore(Backend(context.redis, context.settings))
    keys = batches.keys.batch(spec["target"])
    record = BatchRecord.from_hash(spec["target"], context.redis.hgetall(keys.record))  # type: ignore[arg-type]
    view = batch_view(batches, record)
    if view.counts.queued + view.counts.running:  # a crashed job not yet marked failed
        raise DeliveryFailed(f"Batch {record.batch_id} has jobs still running; retrying.")
    body = BATCH_VIEW.dump_json(view, exclude={"webhook"})

    def save(update: dict[str, Any]) -> None:
        context.redis.hset(keys.record, "webhook", json.dumps(update))
        notify_record(context.redis, "batch", record.batch_id)

    return _attempt(context, "batch.ended", str(record.callback_url), body, spec["delivery_id"],
                    record.webhook or {}, save)


def deliver_gate_end(spec: dict[str, str]) -> str:
    """The gate's view with its verdict (event `gate.ended`)."""
    context = DELIVERY_CONTEXT.get()
    gates = GateStore(Backend(context.redis, context.settings))
    gate_id = spec["target"]
    raw = gates.raw(gate_id)
    gate = GateSpec.from_json(raw["spec"])
    body = GATE_VIEW.dump_json(view_of(gates, gate_id, gate, raw))

    def save(update: dict[str, Any]) -> None:
        context.redis.hset(gates.keys(gate_id).record, "webhook", json.dumps(update))

    previous = json.loads(raw["webhook"]) if raw.get("webhook") else {}
    return _attempt(context, "gate.ended", str(gate.callback_url), body, spec["delivery_id"],
                    previous, save)
