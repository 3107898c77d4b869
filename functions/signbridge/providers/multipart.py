"""A `multipart/form-data` body for `requests`, produced in chunks (generic HTTP: no provider knowledge)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from typing import IO, Final, Protocol

from signbridge.domain.provider_errors import RetryableError

CHUNK_BYTES: Final = 64 * 1024  # what one iteration yields of a file part


class Part(Protocol):
    """One file of the body (e.g. `signbridge.domain.oneshot.Part`): bytes, or a binary file object read in
    chunks; `size` when a stream cannot tell its own length."""

    @property
    def content(self) -> bytes | IO[bytes]: ...

    @property
    def filename(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    @property
    def size(self) -> int | None: ...


class MultipartBody:
    """A `multipart/form-data` body produced in chunks, so a file part is never read into memory whole.

    `requests` sends an iterable body as it is produced: with a `Content-Length` when every part's size is known
    (`__len__`), chunked otherwise. Each iteration starts from the beginning again, rewinding seekable streams, so
    the retry policy can resend it; a stream that cannot be rewound makes a resend fail with `RetryableError` (the
    caller's next attempt opens the stream again).
    """

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        files: Sequence[tuple[str, Part]],
        *,
        provider: str,
        operation: str,
        boundary: str | None = None,
    ) -> None:
        self.boundary = boundary or f"SignBridge{secrets.token_hex(16)}"
        self.fields = list(fields)
        self.files = list(files)
        self.provider = provider
        self.operation = operation
        self._starts: dict[int, int | None] = {id(part): _start_of(part) for _, part in self.files}
        self._iterations = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __bool__(self) -> bool:
        return True  # `__len__` may be 0 (size unknown); the body is never "empty"

    def __len__(self) -> int:
        """The body's size in bytes, or 0 when a part's size is unknown (then `requests` sends it chunked)."""
        total = len(self._closing())
        for name, value in self.fields:
            total += len(self._field_head(name)) + len(value.encode("utf-8")) + 2
        for name, part in self.files:
            size = _size_of(part, self._starts[id(part)])
            if size is None:
                return 0
            total += len(self._file_head(name, part)) + size + 2
        return total

    def __iter__(self) -> Iterator[bytes]:
        self._iterations += 1
        for name, value in self.fields:
            yield self._field_head(name) + value.encode("utf-8") + b"\r\n"
        for name, part in self.files:
            yield self._file_head(name, part)
            yield from self._content(part)
            yield b"\r\n"
        yield self._closing()

    def _content(self, part: Part) -> Iterator[bytes]:
        if isinstance(part.content, bytes):
            for offset in range(0, len(part.content), CHUNK_BYTES):
                yield part.content[offset : offset + CHUNK_BYTES]
            return
        stream = part.content
        start = self._starts[id(part)]
        if self._iterations > 1:
            if start is None:
                raise RetryableError(
                    self.provider, self.operation, f"cannot resend {part.filename!r}: its stream cannot be rewound"
                )
            stream.seek(start)
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk

    def _field_head(self, name: str) -> bytes:
        return f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()

    def _file_head(self, name: str, part: Part) -> bytes:
        return (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quote(name)}"; filename="{_quote(part.filename)}"\r\n'
            f"Content-Type: {_quote(part.content_type)}\r\n\r\n"
        ).encode()

    def _closing(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()


def _start_of(part: Part) -> int | None:
    """Where a stream part starts, if it can be rewound there."""
    if isinstance(part.content, bytes):
        return 0
    try:
        return part.content.tell() if part.content.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


def _size_of(part: Part, start: int | None) -> int | None:
    if isinstance(part.content, bytes):
        return len(part.content)
    if part.size is not None:
        return part.size
    if start is None:
        return None
    stream = part.content
    end = stream.seek(0, 2)
    stream.seek(start)
    return end - start


def _quote(value: str) -> str:
    """A header parameter value: quotes percent-encoded, line breaks dropped (as browsers do, WHATWG HTML)."""
    return value.replace("\r", "").replace("\n", "").replace('"', "%22")
