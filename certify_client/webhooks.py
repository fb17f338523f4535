"""Checking a webhook the service sent: call `verify_webhook` on the raw body, then parse it."""

import json
from typing import Any

from certify_contract.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookSignatureError,
    verify_signature,
)

__all__ = ["DELIVERY_HEADER", "EVENT_HEADER", "SIGNATURE_HEADER", "WebhookSignatureError",
           "verify_signature", "verify_webhook"]


def verify_webhook(secret: str, headers: Any, body: bytes, *, tolerance_s: float = 300) -> Any:
    """The delivery's JSON (a job or batch view) once its signature checks out.

    `headers` is any mapping with case-insensitive or exact header names (a
    framework's request headers, or a dict). Raises `WebhookSignatureError`
    when the signature is missing, stale (older than `tolerance_s`) or wrong.
    Drop a delivery whose `X-Certify-Delivery` id you have already handled:
    retries of one ending carry the same id.
    """
    header = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower())
    verify_signature(secret, header, body, tolerance_s=tolerance_s)
    return json.loads(body)
