"""Webhook signatures: what the service signs, the client verifies; anything else is refused."""

import pytest

from certify_client import WebhookSignatureError, verify_webhook
from certify_contract.webhooks import signature, signature_header, verify_signature

BODY = b'{"job_id": "abc", "status": "succeeded"}'


def test_a_signed_body_verifies_and_parses() -> None:
    header = signature_header("s3cret", BODY, timestamp=1_700_000_000)
    assert verify_signature("s3cret", header, BODY, now=1_700_000_010) == 1_700_000_000
    headers = {"X-Certify-Signature": signature_header("s3cret", BODY)}
    assert verify_webhook("s3cret", headers, BODY)["status"] == "succeeded"


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"123." + BODY, hashlib.sha256).hexdigest()
    assert signature("k", 123, BODY) == expected


@pytest.mark.parametrize(("secret", "header", "body", "words"), [
    ("wrong", None, BODY, "does not match"),
    ("s3cret", None, BODY + b" ", "does not match"),
    ("s3cret", "", BODY, "No X-Certify-Signature"),
    ("s3cret", "v1=abc", BODY, "Malformed"),
    ("s3cret", "t=1700000000", BODY, "Malformed"),
    ("s3cret", "t=1699990000,v1=00", BODY, "old"),
])
def test_wrong_secret_body_or_header_is_refused(secret: str, header: str | None, body: bytes,
                                                words: str) -> None:
    header = signature_header("s3cret", BODY, 1_700_000_000) if header is None else header
    with pytest.raises(WebhookSignatureError, match=words):
        verify_signature(secret, header, body, now=1_700_000_000)


def test_any_of_several_signatures_matches_during_a_secret_rotation() -> None:
    good = signature("new", 1_700_000_000, BODY)
    header = f"t=1700000000,v1={'0' * 64},v1={good}"
    assert verify_signature("new", header, BODY, now=1_700_000_000) == 1_700_000_000
