"""Ed25519 signing keys: created in a folder on first start, rotated without forgetting.

The folder holds `<key id>.pem` (the private key, mode 0600) for the active key,
`<key id>.pub.json` for every key ever used, and `active` naming the signing key.
A rotation makes a new active key and deletes the old private key, keeping its
public half, so certificates signed before still verify. A deployment mounts
the folder as a secret (read-only is fine once a key exists).
"""

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"


class KeyFileError(ValueError):
    """A key file or key list that cannot be read."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519-" + hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    key: Ed25519PublicKey
    created_at: str
    retired_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"key_id": self.key_id, "algorithm": ALGORITHM, "public_key": b64url(raw),
                "created_at": self.created_at, "retired_at": self.retired_at}

    @classmethod
    def from_dict(cls, data: Any) -> "PublicKey":
        try:
            if data["algorithm"] != ALGORITHM:
                raise KeyFileError(f"Expected an {ALGORITHM} key, got {data['algorithm']!r}.")
            key = Ed25519PublicKey.from_public_bytes(unb64url(data["public_key"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyFileError(f"Not a certify public key: {exc}") from None
        if key_id_of(key) != data["key_id"]:
            raise KeyFileError(f"Key {data['key_id']!r} does not match its public key.")
        return cls(data["key_id"], key, data.get("created_at", ""), data.get("retired_at"))


def read_public_keys(text: str) -> list[PublicKey]:
    """Keys from a `.pub.json`, a `/.well-known/certify-keys` answer, or a PEM public key."""
    if text.lstrip().startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(f"Expected an {ALGORITHM} public key in the PEM file.")
        return [PublicKey(key_id_of(key), key, "")]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeyFileError(f"Not a key file (neither PEM nor JSON): {exc}") from None
    entries = data.get("keys", [data]) if isinstance(data, dict) else data
    return [PublicKey.from_dict(entry) for entry in entries]


class KeyRing:
    """The signing key of this service and every public key it ever signed with."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        """The active key, created on first use."""
        active = self.folder / "active"
        if not active.exists():
            return self.rotate()
        key_id = active.read_text().strip()
        key = serialization.load_pem_private_key((self.folder / f"{key_id}.pem").read_bytes(), None)
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"{key_id}.pem does not hold an {ALGORITHM} private key.")
        return key_id, key

    def rotate(self) -> tuple[str, Ed25519PrivateKey]:
        """A new active key; the old one's private half is deleted, its public half kept."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        now = datetime.now(UTC).isoformat()
        previous = self._active_id()
        key = Ed25519PrivateKey.generate()
        key_id = key_id_of(key.public_key())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        _write(self.folder / f"{key_id}.pem", pem, 0o600)
        _write(self.folder / f"{key_id}.pub.json",
               json.dumps(PublicKey(key_id, key.public_key(), now).to_dict()).encode(), 0o644)
        _write(self.folder / "active", key_id.encode(), 0o644)
        if previous is not None and previous != key_id:
            old = json.loads((self.folder / f"{previous}.pub.json").read_text())
            _write(self.folder / f"{previous}.pub.json",
                   json.dumps({**old, "retired_at": now}).encode(), 0o644)
            (self.folder / f"{previous}.pem").unlink(missing_ok=True)
        return key_id, key

    def _active_id(self) -> str | None:
        active = self.folder / "active"
        return active.read_text().strip() if active.exists() else None

    def public_keys(self) -> list[PublicKey]:
        keys = [PublicKey.from_dict(json.loads(path.read_text()))
                for path in sorted(self.folder.glob("*.pub.json"))]
        return sorted(keys, key=lambda key: key.created_at)


def _write(path: Path, data: bytes, mode: int) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)
