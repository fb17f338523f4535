"""Signed certificates: what is signed, how, and how a verifier says what differs.

The signed payload holds the certificate, the input's sha256, the model's
name, version and sha256, every option, the seed, the code version, the issue
time and the key's id. Two Ed25519 signatures cover it, both over canonical JSON
(`certify_store.canonical`): one over the payload itself, one over a digest of
each of its fields. The first is the proof; the second lets a verifier name the
field that was changed instead of only saying "invalid".
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature

from certify_store.canonical import canonical_json
from certify_store.keys import ALGORITHM, KeyRing, PublicKey, b64url, unb64url

FORMAT = "certify-signed-certificate/1"
GATE_FORMAT = "certify-signed-gate-report/1"
FORMATS = (FORMAT, GATE_FORMAT)


@dataclass(frozen=True)
class Signable:
    """What the service knows about an ended job when it signs its certificate."""

    job_id: str
    certificate: dict[str, Any]
    input_sha256: str
    model_name: str
    model_sha256: str
    options: dict[str, Any]
    seed: int
    code_version: str
    model_version: str | None = None


def sign(ring: KeyRing, signable: Signable, issued_at: datetime | None = None) -> dict[str, Any]:
    key_id, key = ring.signing_key()
    moment = (issued_at or datetime.now(UTC)).astimezone(UTC)
    payload = {
        "job_id": signable.job_id, "certificate": signable.certificate,
        "input_sha256": signable.input_sha256,
        "model": {"name": signable.model_name, "version": signable.model_version,
                  "sha256": signable.model_sha256},
        "options": signable.options, "seed": signable.seed, "code_version": signable.code_version,
        "issued_at": moment.isoformat().replace("+00:00", "Z"), "key_id": key_id,
    }
    return _signed(key_id, key, FORMAT, payload)


def sign_gate_report(ring: KeyRing, report: dict[str, Any], issued_at: datetime | None = None
                     ) -> dict[str, Any]:
    """A release gate's report (its request, the images it used and the verdict), signed as a
    certificate is: `verify` checks both, and names a changed field the same way."""
    key_id, key = ring.signing_key()
    moment = (issued_at or datetime.now(UTC)).astimezone(UTC)
    payload = {**report, "issued_at": moment.isoformat().replace("+00:00", "Z"), "key_id": key_id}
    return _signed(key_id, key, GATE_FORMAT, payload)


def _signed(key_id: str, key: Any, format_: str, payload: dict[str, Any]) -> dict[str, Any]:
    digests = field_digests(payload)
    return {"format": format_, "payload": payload, "signature": {
        "algorithm": ALGORITHM, "key_id": key_id, "value": b64url(key.sign(canonical_json(payload))),
        "field_digests": digests, "field_digests_value": b64url(key.sign(canonical_json(digests))),
    }}


def stored_form(document: dict[str, Any]) -> dict[str, Any]:
    """The document without what its record already holds: the certificate (the record's
    view has it) and the field digests (digests of the payload, recomputed exactly)."""
    signature = {k: v for k, v in document["signature"].items() if k != "field_digests"}
    payload = {k: v for k, v in document["payload"].items() if k != "certificate"}
    return {**document, "payload": payload, "signature": signature}


def served_form(document: dict[str, Any], certificate: dict[str, Any]) -> dict[str, Any]:
    """The whole signed document again, from its stored form and the record's certificate."""
    payload = {**document["payload"], "certificate": certificate}
    signature = {**document["signature"], "field_digests": field_digests(payload)}
    return {**document, "payload": payload, "signature": signature}


def field_digests(payload: dict[str, Any]) -> dict[str, str]:
    """sha256 of each leaf field's canonical JSON, by dotted path (`certificate.radius`)."""
    return {path: hashlib.sha256(canonical_json(value)).hexdigest()
            for path, value in _leaves(payload, "")}


def _leaves(value: Any, prefix: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        return [leaf for key in sorted(value) for leaf in _leaves(value[key], f"{prefix}{key}.")]
    return [(prefix.rstrip("."), value)]


@dataclass(frozen=True)
class Verdict:
    """The outcome of a verification: every problem found, in words; none means valid."""

    key_id: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def verify(document: Any, keys: list[PublicKey], input_sha256: str | None = None) -> Verdict:
    """Check the signature with one of `keys`, and the input's hash when it is given."""
    try:
        payload, signature = document["payload"], document["signature"]
        if document["format"] not in FORMATS or signature["algorithm"] != ALGORITHM:
            return Verdict(None, [f"not a {' or '.join(FORMATS)} document signed with {ALGORITHM}"])
        key_id = signature["key_id"]
        value, digests = unb64url(signature["value"]), signature["field_digests"]
        digests_value = unb64url(signature["field_digests_value"])
    except (KeyError, TypeError, ValueError) as exc:
        return Verdict(None, [f"not a signed certificate: missing or malformed {exc}"])
    problems = _signature_problems(payload, key_id, value, digests, digests_value, keys)
    if input_sha256 is not None and payload.get("input_sha256") != input_sha256:
        problems.append(f"input: the file's sha256 {input_sha256} differs from the signed "
                        f"input_sha256 {payload.get('input_sha256')}")
    return Verdict(key_id, problems)


def _signature_problems(payload: Any, key_id: str, value: bytes, digests: Any, digests_value: bytes,
                        keys: list[PublicKey]) -> list[str]:
    by_id = {key.key_id: key for key in keys}
    if key_id not in by_id:
        known = ", ".join(sorted(by_id)) or "none"
        return [f"key: signed by {key_id}, which is not among the keys given ({known})"]
    public = by_id[key_id].key
    problems = [] if payload.get("key_id") == key_id else [
        f"key_id: the payload names {payload.get('key_id')!r}, the signature {key_id!r}"]
    try:
        public.verify(value, canonical_json(payload))
        return problems
    except (InvalidSignature, TypeError, ValueError):
        pass
    try:
        public.verify(digests_value, canonical_json(digests))
    except (InvalidSignature, TypeError, ValueError):
        return [*problems, f"signature: does not verify with key {key_id} (signed by another key, "
                "or the signed field list was altered)"]
    changed = _differing_fields(field_digests(payload), digests)
    return [*problems, *(changed or [f"signature: does not verify with key {key_id}"])]


def _differing_fields(now: dict[str, str], signed: dict[str, str]) -> list[str]:
    problems = []
    for path in sorted(set(now) | set(signed)):
        if path not in signed:
            problems.append(f"{path}: a field that was not signed")
        elif path not in now:
            problems.append(f"{path}: a signed field is missing")
        elif now[path] != signed[path]:
            problems.append(f"{path}: differs from the value that was signed")
    return problems
