"""Uploads as content-addressed files: one file per sha256 and owner, shared by API and workers.

A blob's key is `<namespace>/<sha256>`: the namespace is the owner (a tenant's
principal), so equal bytes of two tenants are two blobs and nothing about one
(its existence, its lifetime) shows through the other. Layout under the uploads
folder: `<namespace>/ab/<sha256>` holds the bytes, `<namespace>/ab/<sha256>.refs/`
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
_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")


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

    def path(self, key: str) -> Path:
        namespace, _, sha256 = key.rpartition("/")
        if not _NAME.fullmatch(namespace) or not _SHA256.fullmatch(sha256):
            raise ValueError(f"Expected a blob key NAMESPACE/SHA256, got {key[:80]!r}.")
        return self.root / namespace / sha256[:2] / sha256

    def _refs(self, key: str) -> Path:
        path = self.path(key)
        return path.with_name(f"{path.name}.refs")

    @contextmanager
    def _shard_lock(self, key: str) -> Iterator[None]:
        shard = self.path(key).parent
        shard.mkdir(parents=True, exist_ok=True)
        with open(shard / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def key(namespace: str, data: bytes) -> str:
        return f"{namespace}/{hashlib.sha256(data).hexdigest()}"

    def put(self, data: bytes, job_id: str, namespace: str) -> str:
        """Store `data` (once per content and namespace) for `job_id`, which holds it until
        `release`; the blob's key."""
        key = self.key(namespace, data)
        path = self.path(key)
        with self._shard_lock(key):
            refs = self._refs(key)
            refs.mkdir(exist_ok=True)
            (refs / _ref_name(job_id)).touch()
            if not path.exists():
                partial = path.with_name(f".{path.name}.{os.getpid()}.part")
                partial.write_bytes(data)
                os.replace(partial, path)  # readers see the whole file or none
        return key

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"No stored upload {key}.") from None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def holders(self, key: str) -> set[str]:
        refs = self._refs(key)
        return {entry.name for entry in refs.iterdir()} if refs.is_dir() else set()

    def release(self, key: str, job_id: str, retention_s: int) -> None:
        """The job no longer needs the blob; with retention 0 the last release deletes it."""
        with self._shard_lock(key):
            (self._refs(key) / _ref_name(job_id)).unlink(missing_ok=True)
            path = self.path(key)
            if not path.exists():
                return
            os.utime(path)  # the retention counts from the last job's end
            if retention_s == 0 and not self.holders(key):
                self._delete(key)

    def _delete(self, key: str) -> int:
        path = self.path(key)
        size = path.stat().st_size if path.exists() else 0
        path.unlink(missing_ok=True)
        refs = self._refs(key)
        if refs.is_dir() and not any(refs.iterdir()):
            refs.rmdir()
        return size

    def prune(self, retention_s: int, now: float | None = None) -> PruneReport:
        """Delete every blob no job holds whose last use is older than the retention."""
        now = time.time() if now is None else now
        deleted = deleted_bytes = kept = 0
        for path in sorted(self.root.glob("*/??/*")):
            if not _SHA256.fullmatch(path.name):
                continue
            key = f"{path.parent.parent.name}/{path.name}"
            with self._shard_lock(key):
                try:
                    unused_since = path.stat().st_mtime
                except FileNotFoundError:
                    continue
                if self.holders(key) or now - unused_since < retention_s:
                    kept += 1
                    continue
                deleted_bytes += self._delete(key)
                deleted += 1
        return PruneReport(deleted, deleted_bytes, kept)


def _ref_name(job_id: str) -> str:
    if not _NAME.fullmatch(job_id):
        raise ValueError(f"Expected a job id of letters, digits, - or _, got {job_id[:80]!r}.")
    return job_id
