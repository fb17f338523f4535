"""Signed certificates: valid as issued; a changed field, input or key is named on failure."""

import json
from pathlib import Path
from typing import Any

import pytest

from certify_store.keys import KeyRing, read_public_keys
from certify_store.signatures import Signable, field_digests, sign, verify

CERTIFICATE = {"label": 3, "label_name": "Dress", "abstained": False, "radius": 0.4123, "p_lower": 0.951,
               "n_a": 980, "n": 1000, "n0": 100, "alpha": 0.001, "sigma": 0.25,
               "model": {"name": "fmnist-cnn-s025", "sha256": "e" * 64}, "seed": 2**61 + 7,
               "estimation_counts": [0, 0, 0, 980, 20, 0, 0, 0, 0, 0],
               "input": {"shape": [1, 28, 28], "value_range": [0.0, 1.0]}}


def signable() -> Signable:
    return Signable("a" * 32, CERTIFICATE, "f" * 64, "fmnist-cnn-s025", "e" * 64,
                    {"n0": 100, "n": 1000, "alpha": 0.001, "method": "cohen"}, 2**61 + 7, "0.1.0")


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys")


def test_a_certificate_verifies_with_the_published_keys(ring: KeyRing) -> None:
    document = sign(ring, signable())
    published = json.dumps({"keys": [key.to_dict() for key in ring.public_keys()]})
    verdict = verify(json.loads(json.dumps(document)), read_public_keys(published), "f" * 64)
    assert verdict.valid, verdict.problems
    assert verdict.key_id == document["payload"]["key_id"] == ring.public_keys()[0].key_id
    assert document["payload"]["seed"] == 2**61 + 7 and document["payload"]["model"]["version"] is None


def _set(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = document["payload"]
    for name in parents:
        node = node[name]
    node[last] = value


def _changed(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return not value if isinstance(value, bool) else "x"
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "0"
    return [*value, 0]


def test_every_single_field_change_is_refused_by_name(ring: KeyRing) -> None:
    document = sign(ring, signable())
    keys = ring.public_keys()
    paths = sorted(field_digests(document["payload"]))
    assert "certificate.radius" in paths and "options.n" in paths and "issued_at" in paths
    for path in paths:
        tampered = json.loads(json.dumps(document))
        value = json.loads(json.dumps(document["payload"]))
        for name in path.split("."):
            value = value[name]
        _set(tampered, path, _changed(value))
        verdict = verify(tampered, keys)
        assert not verdict.valid, path
        assert any(problem.startswith(f"{path}:") for problem in verdict.problems), verdict.problems


def test_an_added_field_and_an_altered_digest_list_are_refused(ring: KeyRing) -> None:
    document = sign(ring, signable())
    keys = ring.public_keys()
    added = json.loads(json.dumps(document))
    added["payload"]["certificate"]["bonus"] = 1
    assert verify(added, keys).problems == ["certificate.bonus: a field that was not signed"]
    forged = json.loads(json.dumps(added))
    forged["signature"]["field_digests"] = field_digests(forged["payload"])
    assert verify(forged, keys).problems[0].startswith("signature: does not verify")


def test_a_swapped_input_is_refused(ring: KeyRing) -> None:
    verdict = verify(sign(ring, signable()), ring.public_keys(), input_sha256="0" * 64)
    assert verdict.problems == [f"input: the file's sha256 {'0' * 64} differs from the signed "
                                f"input_sha256 {'f' * 64}"]


def test_a_foreign_key_is_refused(ring: KeyRing, tmp_path: Path) -> None:
    document = sign(ring, signable())
    foreign = KeyRing(tmp_path / "foreign")
    foreign.signing_key()
    verdict = verify(document, foreign.public_keys())
    assert verdict.problems[0].startswith(f"key: signed by {document['signature']['key_id']}, which")
    # A document re-signed by the foreign key is refused by the service's keys.
    assert not verify(sign(foreign, signable()), ring.public_keys()).valid


def test_a_rotation_keeps_old_certificates_verifiable(ring: KeyRing) -> None:
    old = sign(ring, signable())
    old_id, _ = ring.signing_key()
    new_id, _ = ring.rotate()
    new = sign(ring, signable())
    assert new["payload"]["key_id"] == new_id != old_id
    assert not (ring.folder / f"{old_id}.pem").exists()  # the old private half is gone
    keys = ring.public_keys()
    assert [key.key_id for key in keys] == [old_id, new_id] and keys[0].retired_at is not None
    assert verify(old, keys).valid and verify(new, keys).valid


def test_the_key_is_made_once_and_kept_private(ring: KeyRing) -> None:
    key_id, _ = ring.signing_key()
    assert ring.signing_key()[0] == key_id
    assert (ring.folder / f"{key_id}.pem").stat().st_mode & 0o077 == 0


def test_the_stored_form_serves_the_same_document(ring: KeyRing) -> None:
    from certify_store.signatures import served_form, stored_form

    document = sign(ring, signable())
    stored = json.loads(json.dumps(stored_form(document)))
    assert "field_digests" not in stored["signature"] and len(json.dumps(stored)) < len(json.dumps(document))
    served = served_form(stored, CERTIFICATE)
    assert served == document and verify(served, ring.public_keys()).valid
