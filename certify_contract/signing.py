"""What `GET /jobs/{id}/certificate` and `GET /.well-known/certify-keys` answer.

The signed document's `payload` is kept as the JSON object that was signed (its
canonical encoding is what the signature covers), so a verifier re-encodes exactly
what it received: the certificate, `input_sha256`, `model` (name, version,
sha256), `options`, `seed`, `code_version`, `issued_at`, `key_id` and `job_id`.
"""

from dataclasses import dataclass
from typing import Any, ClassVar

from certify_contract.records import RECORD_CONFIG


@dataclass(frozen=True)
class CertificateSignature:
    """Ed25519 signatures over the payload's canonical JSON (RFC 8785)."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    algorithm: str
    """Always `Ed25519`."""
    key_id: str
    """The signing key, as listed by `GET /.well-known/certify-keys`."""
    value: str
    """Signature of the payload's canonical JSON, base64url without padding."""
    field_digests: dict[str, str]
    """sha256 of each leaf field's canonical JSON, by dotted path (`certificate.radius`): lets
    a verifier name the field that changed."""
    field_digests_value: str
    """Signature of `field_digests`' canonical JSON, base64url without padding."""


@dataclass(frozen=True)
class SignedCertificate:
    """A certificate and what it was certified from, signed by the service."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    format: str
    """`certify-signed-certificate/1`."""
    payload: dict[str, Any]
    """The signed fields: job_id, certificate, input_sha256, model {name, version, sha256},
    options, seed, code_version, issued_at, key_id."""
    signature: CertificateSignature
    """The signatures over the payload."""


@dataclass(frozen=True)
class SigningKey:
    """A public key the service signs (or once signed) certificates with."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    key_id: str
    """`ed25519-` and the first 16 hex digits of the key's sha256."""
    algorithm: str
    """Always `Ed25519`."""
    public_key: str
    """The raw 32-byte public key, base64url without padding."""
    created_at: str
    """When the key was made (ISO 8601)."""
    retired_at: str | None = None
    """When a rotation replaced it (it still verifies what it signed); null while in use."""


@dataclass(frozen=True)
class SigningKeys:
    """Every public key of the service, oldest first."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    keys: list[SigningKey]
    """The keys."""
