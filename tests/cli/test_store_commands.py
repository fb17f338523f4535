"""`certify verify`, `db`, `uploads prune` and `keys`, run as a user runs them."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from certify_cli.main import main
from certify_store.blobs import BlobStore
from certify_store.keys import KeyRing
from certify_store.signatures import Signable, sign

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "certify_core" / "samples" / "fmnist-ankle-boot.png"
OPTIONS = {"n0": 50, "n": 300, "alpha": 0.001}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [name for name in os.environ if name.startswith("CERTIFY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CERTIFY_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="module")
def local_certificate() -> dict[str, Any]:
    """A real certificate of the shipped default model, made by `certify local`."""
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in OPTIONS.items()]
    printed = subprocess.run(
        [sys.executable, "-m", "certify_cli.main", "local", str(SAMPLE), "--json", "--seed", "7",
         "--trusted", "--device", "cpu", *flags],
        capture_output=True, text=True, check=True, cwd=REPO, timeout=300).stdout
    certificate: dict[str, Any] = json.loads(printed.splitlines()[-1])
    return certificate


def _signed(data_dir: Path, certificate: dict[str, Any], tmp_path: Path) -> Path:
    from certify_contract.options import CertifyOptions

    options = CertifyOptions.from_dict(OPTIONS).to_dict()
    document = sign(KeyRing(data_dir / "keys"), Signable(
        "a" * 32, certificate, _sha256(SAMPLE), certificate["model"]["name"],
        certificate["model"]["sha256"], options, certificate["seed"], "0.1.0"))
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(document))
    return path


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_verify_accepts_a_signed_certificate_without_loading_torch(
        data_dir: Path, local_certificate: dict[str, Any], tmp_path: Path) -> None:
    path = _signed(data_dir, local_certificate, tmp_path)
    code = ("import sys; from certify_cli.main import main; "
            f"code = main(['verify', {str(path)!r}, '--input', {str(SAMPLE)!r}]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ}, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid (signature, input)" in result.stdout


def test_verify_names_the_changed_field_the_swapped_input_and_the_foreign_key(
        data_dir: Path, local_certificate: dict[str, Any], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = _signed(data_dir, local_certificate, tmp_path)
    document = json.loads(path.read_text())
    document["payload"]["certificate"]["radius"] = 9.0
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    assert main(["verify", str(tampered)]) == 1
    assert "certificate.radius: differs from the value that was signed" in capsys.readouterr().out
    other = REPO / "certify_core" / "samples" / "fmnist-trouser.jpg"
    assert main(["verify", str(path), "--input", str(other)]) == 1
    assert "input: the file's sha256" in capsys.readouterr().out
    foreign = KeyRing(tmp_path / "foreign")
    foreign.signing_key()
    key_file = next(foreign.folder.glob("*.pub.json"))
    assert main(["verify", str(path), "--key", str(key_file)]) == 1
    assert "which is not among the keys given" in capsys.readouterr().out
    assert main(["verify", str(path), "--key", str(next((data_dir / "keys").glob("*.pub.json")))]) == 0


@pytest.mark.slow
def test_recompute_reproduces_the_counts_and_catches_a_certificate_signed_wrongly(
        data_dir: Path, local_certificate: dict[str, Any], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = _signed(data_dir, local_certificate, tmp_path)
    assert main(["verify", str(path), "--input", str(SAMPLE), "--recompute"]) == 0
    assert "valid (signature, input, re-run)" in capsys.readouterr().out
    # Correctly signed, but not what the recorded seed gives: only the re-run can tell.
    wrong = {**local_certificate, "n_a": local_certificate["n_a"] - 1}
    wrong_path = _signed(data_dir, wrong, tmp_path / "wrong")
    assert main(["verify", str(wrong_path), "--input", str(SAMPLE), "--recompute"]) == 1
    assert "certificate.n_a: the re-run gives" in capsys.readouterr().out


def test_db_migrate_backup_restore(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                   ) -> None:
    assert main(["db", "migrate"]) == 0
    assert "revision r0004 (was empty)" in capsys.readouterr().out
    assert (data_dir / "certify.db").is_file()
    assert main(["db", "backup", str(tmp_path / "b.db")]) == 0
    assert main(["db", "restore", str(tmp_path / "b.db")]) == 0
    assert main(["db", "migrate"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "database at revision r0004"
    assert main(["db", "restore", str(tmp_path / "missing.db")]) == 2


def test_uploads_prune_honours_the_retention_setting(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    blobs = BlobStore(data_dir / "uploads")
    sha = blobs.put(b"an upload", "job-1", "anonymous")
    blobs.release(sha, "job-1", 3600)
    old = time.time() - 7200
    os.utime(blobs.path(sha), (old, old))
    monkeypatch.setenv("CERTIFY_UPLOAD_RETENTION", "3h")
    assert main(["uploads", "prune"]) == 0 and blobs.exists(sha)
    assert "deleted 0 uploads" in capsys.readouterr().out
    monkeypatch.setenv("CERTIFY_UPLOAD_RETENTION", "1h")
    assert main(["uploads", "prune"]) == 0 and not blobs.exists(sha)
    assert "deleted 1 uploads (9 bytes)" in capsys.readouterr().out


def test_keys_rotate_keeps_the_old_key_listed(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "rotate"]) == 0 and main(["keys", "rotate"]) == 0
    capsys.readouterr()
    assert main(["keys", "list"]) == 0
    keys = json.loads(capsys.readouterr().out)["keys"]
    assert len(keys) == 2 and keys[0]["retired_at"] and keys[1]["retired_at"] is None
