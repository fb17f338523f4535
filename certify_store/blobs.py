"""Uploads as content-addressed files: one file per sha256, shared by API and workers.

Layout under the uploads folder: `ab/<sha256>` holds the bytes, `ab/<sha256>.refs/`
one empty file per job that still needs them. When the last job releases a blob
its modification time records when; `prune` deletes blobs unused for longer than
the retention (0: at once). A lock per two-hex-digit shard makes "take a
reference" and "delete an unreferenced blob" exclude each other across processes.
"""

import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobNotFound(FileNotFoundError):
    """No blob holds this hash (never stored, or pruned after its retention)."""


@dataclass(frozen=True)
class PruneReport:
    deleted: int
    deleted_bytes: int
    kept: int


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"Expected a sha256 of 64 lowercase hex digits, got {sha256[:80]!r}.")
        return self.root / sha256[:2] / sha256

    def _refs(self, sha256: str) -> Path:
        return self.path(sha256).with_name(f"{sha256}.refs")

    @contextmanager
    def _shard_lock(self, sha256: str) -> Iterator[None]:
        shard = self.root / sha256[:2]
        shard.mkdir(parents=True, exist_ok=True)
        with open(shard / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def put(self, data: bytes, job_id: str) -> str:
        """Store `data` (once per content) for `job_id`, which holds it until `release`."""
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path(sha256)
        with self._shard_lock(sha256):
            refs = self._refs(sha256)
            refs.mkdir(exist_ok=True)
            (refs / _ref_name(job_id)).touch()
            if not path.exists():
                partial = path.with_name(f".{sha256}.{os.getpid()}.part")
                partial.write_bytes(data)
                os.replace(partial, path)  # readers see the whole file or none
        return sha256

    def read(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"No stored upload has sha256 {sha256}.") from None

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def holders(self, sha256: str) -> set[str]:
        refs = self._refs(sha256)
        return {entry.name for entry in refs.iterdir()} if refs.is_dir() else set()

    def release(self, sha256: str, job_id: str, retention_s: int) -> None:
        """The job no longer needs the blob; with retention 0 the last release deletes it."""
        with self._shard_lock(sha256):
            (self._refs(sha256) / _ref_name(job_id)).unlink(missing_ok=True)
            path = self.path(sha256)
            if not path.exists():
                return
            os.utime(path)  # the retention counts from the last job's end
            if retention_s == 0 and not self.holders(sha256):
                self._delete(sha256)

    def _delete(self, sha256: str) -> int:
        path = self.path(sha256)
        size = path.stat().st_size if path.exists() else 0
        path.unlink(missing_ok=True)
        refs = self._refs(sha256)
        if refs.is_dir() and not any(refs.iterdir()):
            refs.rmdir()
        return size

    def prune(self, retention_s: int, now: float | None = None) -> PruneReport:
        """Delete every blob no job holds whose last use is older than the retention."""
        now = time.time() if now is None else now
        deleted = deleted_bytes = kept = 0
        for path in sorted(self.root.glob("??/*")):
            if not _SHA256.fullmatch(path.name):
                continue
            with self._shard_lock(path.name):
                try:
                    unused_since = path.stat().st_mtime
                except FileNotFoundError:
                    continue
                if self.holders(path.name) or now - unused_since < retention_s:
                    kept += 1
                    continue
                deleted_bytes += self._delete(path.name)
                deleted += 1
        return PruneReport(deleted, deleted_bytes, kept)


def _ref_name(job_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", job_id):
        raise ValueError(f"Expected a job id of letters, digits, - or _, got {job_id[:80]!r}.")
    return job_id
