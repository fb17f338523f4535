"""The files of a batch request: multipart parts, or the members of one tar or zip archive.

Archives are read in memory, member by member, never written to disk; each
member gets the same size limit and content sniffing as a single upload.
Refused, before anything is queued: links, devices and other non-regular
members, absolute or `..` paths, encrypted zip members, a member over the
upload limit, a zip member whose unpacked/packed ratio marks a zip bomb,
more members than one request may add, and more unpacked bytes in all than
one request may carry. Sizes are enforced on the bytes actually read, not only
on what the archive declares.
"""

import io
import posixpath
import tarfile
import zipfile
from dataclasses import dataclass
from typing import IO

from app.http.errors import ApiError
from certify_settings import Settings


@dataclass(frozen=True)
class NamedFile:
    name: str
    data: bytes


@dataclass(frozen=True)
class FileLimits:
    max_files: int
    max_file_bytes: int
    max_total_bytes: int
    max_ratio: int
    # What to do instead, said with a refusal for too many files.
    too_many_hint: str = "split the batch over several requests to an open batch"

    @classmethod
    def from_settings(cls, settings: Settings) -> "FileLimits":
        return cls(settings.batch_max_files_per_request, settings.max_upload_bytes,
                   settings.batch_max_request_bytes, settings.batch_max_archive_ratio)


def _refuse(detail: str) -> ApiError:
    return ApiError(422, "invalid_archive", detail, field="file")


def _too_many(limits: FileLimits) -> ApiError:
    return ApiError(413, "too_many_files",
                    f"One request may add at most {limits.max_files} files; "
                    f"{limits.too_many_hint}.", field="file")


def is_archive(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04" or data[257:262] == b"ustar" or data[:2] == b"\x1f\x8b"


def safe_member_name(name: str) -> str:
    """The member's path, refused when it could point outside a folder if written out."""
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        raise _refuse(f"Unsafe member name {name[:100]!r} in the archive.")
    parts = name.split("/")
    if ".." in parts:
        raise _refuse(f"Unsafe member name {name[:100]!r} (a `..` component) in the archive.")
    return posixpath.normpath(name)


class _Budget:
    """Counts members and unpacked bytes against the request's limits."""

    def __init__(self, limits: FileLimits) -> None:
        self.limits, self.files, self.bytes = limits, 0, 0

    def admit(self, name: str, declared: int) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise _too_many(self.limits)
        if declared > self.limits.max_file_bytes:
            raise ApiError(413, "payload_too_large",
                           f"Member {name!r} exceeds {self.limits.max_file_bytes} bytes.", field="file")
        self.bytes += declared
        if self.bytes > self.limits.max_total_bytes:
            raise _refuse(f"The archive unpacks to more than {self.limits.max_total_bytes} bytes.")

    def read(self, name: str, handle: IO[bytes]) -> bytes:
        data = handle.read(self.limits.max_file_bytes + 1)
        if len(data) > self.limits.max_file_bytes:  # the archive understated the member's size
            raise ApiError(413, "payload_too_large",
                           f"Member {name!r} exceeds {self.limits.max_file_bytes} bytes.", field="file")
        return data


def _zip_members(data: bytes, limits: FileLimits) -> list[NamedFile]:
    budget, files = _Budget(limits), []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = safe_member_name(info.filename)
            if info.flag_bits & 0x1:
                raise _refuse(f"Member {name!r} is encrypted.")
            budget.admit(name, info.file_size)
            if info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise _refuse(f"Member {name!r} unpacks {info.file_size // max(info.compress_size, 1)}"
                              f"x its packed size (limit {limits.max_ratio}x): a zip bomb?")
            with archive.open(info) as handle:
                files.append(NamedFile(name, budget.read(name, handle)))
    return files


def _tar_members(data: bytes, limits: FileLimits) -> list[NamedFile]:
    budget, files = _Budget(limits), []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive:  # headers are read one at a time: no full listing up front
            if member.isdir():
                continue
            name = safe_member_name(member.name)
            if not member.isreg():
                raise _refuse(f"Member {name!r} is a link or a device, not a regular file.")
            budget.admit(name, member.size)
            handle = archive.extractfile(member)
            files.append(NamedFile(name, budget.read(name, handle) if handle else b""))
    return files


def expand_archive(data: bytes, limits: FileLimits) -> list[NamedFile]:
    try:
        files = _zip_members(data, limits) if data[:4] == b"PK\x03\x04" else \
            _tar_members(data, limits)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise _refuse(f"The archive cannot be read: {exc}.") from None
    if not files:
        raise _refuse("The archive holds no files.")
    return files


def request_files(parts: list[tuple[str | None, bytes]], limits: FileLimits) -> list[NamedFile]:
    """The files a request adds: its parts, or the members of its one archive part."""
    if not parts:
        raise ApiError(422, "invalid_option", "Send at least one `file` part.", field="file")
    if len(parts) > limits.max_files:
        raise _too_many(limits)
    if len(parts) == 1 and is_archive(parts[0][1]):
        return expand_archive(parts[0][1], limits)
    return [NamedFile(posixpath.basename(name or "") or f"file-{i}", data)
            for i, (name, data) in enumerate(parts)]
