"""Webhook signatures: how the service signs a delivery and how a receiver checks it.

The signature is HMAC-SHA256, keyed with the shared secret, over the
timestamp, a dot and the raw body: `hex(HMAC(secret, f"{t}." + body))`. It
travels as `X-Certify-Signature: t=<unix seconds>,v1=<hex>`. Signing the
timestamp with the body lets a receiver refuse replays of an old delivery;
comparing in constant time keeps the check from leaking the signature.
Standard library only, so `certify_client` and the service share it.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Certify-Signature"
DELIVERY_HEADER = "X-Certify-Delivery"
EVENT_HEADER = "X-Certify-Event"
DEFAULT_TOLERANCE_S = 300


class WebhookSignatureError(ValueError):
    """The signature header is missing, malformed, stale or does not match the body."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={signature(secret, stamp, body)}"


def verify_signature(
    secret: str, header: str | None, body: bytes, *, tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> int:
    """The delivery's timestamp when `header` signs `body` with `secret`; raises otherwise.

    `body` must be the raw bytes received, before any JSON parsing. A header
    may carry several `v1=` values (while a secret is being rotated); one match
    suffices.
    """
    if not header:
        raise WebhookSignatureError(f"No {SIGNATURE_HEADER} header.")
    parts = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in parts if key == "t"]
    candidates = [value for key, _, value in parts if key == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not candidates:
        raise WebhookSignatureError(f"Malformed {SIGNATURE_HEADER} header: {header[:100]!r}.")
    timestamp = int(stamps[0])
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookSignatureError(
            f"The signature's timestamp is {current - timestamp:.0f} s old (tolerance {tolerance_s} s).")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise WebhookSignatureError("The signature does not match the body.")
    return timestamp
