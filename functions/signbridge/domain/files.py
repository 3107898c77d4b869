"""Files as the workflow sees them: what a store wrote or lists, a browser upload form, an open download.

Plain data: `signbridge.storage.files` (S3) and `signbridge.providers.downloads` (provider file links) produce them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


ByteSource = Iterable[bytes] | Readable


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str
    version_id: str | None


@dataclass(frozen=True)
class FileInfo:
    key: str
    size: int
    sha256: str | None
    content_type: str | None
    version_id: str | None
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class ObjectSummary:
    """An object as a listing shows it (no metadata: that would take a HEAD per object)."""

    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class PresignedPost:
    """A browser-style form upload: POST `fields` plus the file (as the last form field, `file`) to `url`."""

    url: str
    fields: dict[str, str]
    expires_at: datetime
    min_bytes: int
    max_bytes: int


@dataclass
class FileStream:
    """An open download. `chunks` yields the body in pieces; iterate it once, inside the `with` block."""

    url_host: str
    content_length: int | None
    content_type: str | None
    chunks: Iterator[bytes]
