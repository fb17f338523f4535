"""Uploads on disk, by content and owner: stored once, held by jobs, kept for the retention, pruned."""

import hashlib
import os
import time
from pathlib import Path

import pytest

from certify_store.blobs import BlobNotFound, BlobStore

DAY = 86_400


def test_equal_uploads_of_one_owner_are_stored_once_under_their_sha256(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "uploads")
    data = b"\x89PNG fake but bytes"
    key = blobs.put(data, "job-1", "alice")
    assert key == f"alice/{hashlib.sha256(data).hexdigest()}" == blobs.put(data, "job-2", "alice")
    assert blobs.read(key) == data and blobs.holders(key) == {"job-1", "job-2"}
    assert len([p for p in blobs.root.rglob("*") if p.is_file() and p.name in key]) == 1


def test_two_owners_equal_bytes_are_two_blobs_with_their_own_lifetimes(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    alice, bob = blobs.put(b"same", "job-a", "alice"), blobs.put(b"same", "job-b", "bob")
    assert alice != bob
    blobs.release(alice, "job-a", retention_s=0)
    assert not blobs.exists(alice) and blobs.read(bob) == b"same"


def test_retention_zero_deletes_when_the_last_job_releases(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    key = blobs.put(b"shared", "job-1", "t")
    blobs.put(b"shared", "job-2", "t")
    blobs.release(key, "job-1", retention_s=0)
    assert blobs.exists(key)  # job-2 still needs it
    blobs.release(key, "job-2", retention_s=0)
    assert not blobs.exists(key)
    with pytest.raises(BlobNotFound, match=key):
        blobs.read(key)


def test_prune_deletes_only_released_blobs_older_than_the_retention(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    old, recent, held = (blobs.put(name, name.decode(), "t") for name in (b"old", b"recent", b"held"))
    blobs.release(old, "old", 30 * DAY)
    blobs.release(recent, "recent", 30 * DAY)
    now = time.time()
    os.utime(blobs.path(old), (now - 31 * DAY, now - 31 * DAY))
    os.utime(blobs.path(held), (now - 99 * DAY, now - 99 * DAY))  # old, but a job still holds it
    report = blobs.prune(30 * DAY, now=now)
    assert (report.deleted, report.deleted_bytes, report.kept) == (1, 3, 2)
    assert not blobs.exists(old) and blobs.exists(recent) and blobs.exists(held)
    assert blobs.prune(0, now=now).deleted == 1  # retention 0: every released blob goes
    assert blobs.exists(held)


def test_a_blob_released_and_stored_again_is_held_again(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    key = blobs.put(b"again", "job-1", "t")
    blobs.release(key, "job-1", DAY)
    blobs.put(b"again", "job-2", "t")
    assert blobs.prune(0, now=time.time() + 2 * DAY).deleted == 0 and blobs.read(key) == b"again"


def test_names_that_are_not_keys_or_ids_never_become_paths(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    for bad in ("../../etc/passwd", f"../{'a' * 64}", f"a/b/{'a' * 64}", "a" * 64):
        with pytest.raises(ValueError, match="NAMESPACE/SHA256"):
            blobs.read(bad)
    with pytest.raises(ValueError, match="job id"):
        blobs.put(b"x", "../escape", "t")
