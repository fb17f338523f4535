"""Uploads on disk, by content: stored once, held by jobs, kept for the retention, then pruned."""

import hashlib
import os
import time
from pathlib import Path

import pytest

from certify_store.blobs import BlobNotFound, BlobStore

DAY = 86_400


def test_equal_uploads_are_stored_once_under_their_sha256(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "uploads")
    data = b"\x89PNG fake but bytes"
    sha = blobs.put(data, "job-1")
    assert sha == hashlib.sha256(data).hexdigest() and blobs.put(data, "job-2") == sha
    assert blobs.read(sha) == data and blobs.path(sha).parent.name == sha[:2]
    assert blobs.holders(sha) == {"job-1", "job-2"}
    assert [p.name for p in blobs.root.rglob("*") if p.is_file() and p.name == sha] == [sha]


def test_retention_zero_deletes_when_the_last_job_releases(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    sha = blobs.put(b"shared", "job-1")
    blobs.put(b"shared", "job-2")
    blobs.release(sha, "job-1", retention_s=0)
    assert blobs.exists(sha)  # job-2 still needs it
    blobs.release(sha, "job-2", retention_s=0)
    assert not blobs.exists(sha)
    with pytest.raises(BlobNotFound, match=sha):
        blobs.read(sha)


def test_prune_deletes_only_released_blobs_older_than_the_retention(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    old, recent, held = (blobs.put(name, name.decode()) for name in (b"old", b"recent", b"held"))
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
    sha = blobs.put(b"again", "job-1")
    blobs.release(sha, "job-1", DAY)
    blobs.put(b"again", "job-2")
    assert blobs.prune(0, now=time.time() + 2 * DAY).deleted == 0 and blobs.read(sha) == b"again"


def test_names_that_are_not_hashes_or_ids_never_become_paths(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    with pytest.raises(ValueError, match="sha256"):
        blobs.read("../../etc/passwd")
    with pytest.raises(ValueError, match="job id"):
        blobs.put(b"x", "../escape")
