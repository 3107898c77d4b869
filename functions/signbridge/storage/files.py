"""The S3 file store: streamed, size-capped, checked, hashed writes; presigned links; copies; streamed reads.

`store_stream` never holds a whole file: it reads the source chunk by chunk, hashes and counts as it goes, and sends
what it has buffered as one `PutObject` when the source ends within the first part, or as the parts of a multipart
upload otherwise (parts of about `part_size`, handed to botocore as a file-like view over the buffered chunks, without
joining them into one more copy). It refuses a source longer than `max_bytes` (`FileTooLargeError`) and, with
`expect_pdf`, one that does not start with `%PDF-` (`NotAPdfError`), both before anything is stored when possible.
After any failure (a refusal, an S3 error, an exception raised by the source itself) the multipart upload is aborted
and nothing is left under the key.

The sha256 is computed while streaming and answered in `StoredFile`; the caller records it in DynamoDB (the document
item carries it), which is where SignBridge reads it from. A single `PutObject` also carries it as object metadata
(`x-amz-meta-sha256`). A multipart upload fixes its metadata when it starts, before the hash is known, and S3's own
full-object checksums are CRCs only, so a multipart object has no sha256 metadata: copying it onto itself to add one
would take time proportional to its size once more (and leave a version to delete). Each part's transfer is checked
by the SDK's checksums (CRC32) and the completed object by S3.
"""

from __future__ import annotations

import hashlib
import io
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, Final, cast

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from signbridge.config import PRESIGN_TTL_MAX_SECONDS, Settings, get_settings
from signbridge.domain.errors import FileTooLargeError, NotAPdfError, StoredFileNotFoundError
from signbridge.domain.files import ByteSource, FileInfo, ObjectSummary, PresignedPost, Readable, StoredFile
from signbridge.domain.keys import INCOMING_PREFIX
from signbridge.domain.models import utc_now
from signbridge.domain.validation import PDF_MAGIC
from signbridge.storage.clients import s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef

logger = Logger(child=True)

MIB: Final = 1024 * 1024
DEFAULT_PART_SIZE: Final = 8 * MIB
MIN_PART_SIZE: Final = 5 * MIB  # S3's minimum for every part but the last
DEFAULT_READ_CHUNK: Final = 1 * MIB
DEFAULT_PRESIGN_TTL_SECONDS: Final = 600
SHA256_METADATA: Final = "sha256"
PDF_CONTENT_TYPE: Final = "application/pdf"


class FileStore:
    def __init__(
        self,
        *,
        bucket: str,
        client: S3Client,
        part_size: int = DEFAULT_PART_SIZE,
        read_chunk_size: int = DEFAULT_READ_CHUNK,
        presign_ttl_seconds: int = DEFAULT_PRESIGN_TTL_SECONDS,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum part size)")
        self._bucket = bucket
        self._client = client
        self._part_size = part_size
        self._read_chunk_size = read_chunk_size
        self._presign_ttl_seconds = _clamp_ttl(presign_ttl_seconds)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, client: S3Client | None = None) -> FileStore:
        settings = settings or get_settings()
        return cls(
            bucket=settings.bucket_name,
            client=client or s3_client(),
            presign_ttl_seconds=settings.presign_ttl_seconds,
        )

    @property
    def bucket(self) -> str:
        return self._bucket

    # ------------------------------------------------------------------------------------------------ writes

    def store_stream(
        self,
        key: str,
        source: ByteSource,
        *,
        expect_pdf: bool,
        max_bytes: int,
        content_type: str = PDF_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredFile:
        """Stream `source` (an iterable of byte chunks or a readable) to `key`; all or nothing."""
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        upload = _Upload(self._client, self._bucket, key, content_type, dict(metadata or {}))
        hasher = hashlib.sha256()
        buffered = _Chunks()
        size = 0
        head_checked = not expect_pdf
        try:
            for chunk in _lookahead(_chunks_of(source, self._read_chunk_size)):
                size += len(chunk.data)
                if size > max_bytes:
                    raise FileTooLargeError(key, max_bytes)
                hasher.update(chunk.data)
                buffered.append(chunk.data)
                if not head_checked and (len(buffered) >= len(PDF_MAGIC) or chunk.last):
                    if not buffered.startswith(PDF_MAGIC):
                        raise NotAPdfError(key)
                    head_checked = True
                if len(buffered) >= self._part_size and not chunk.last:
                    upload.send_part(buffered)  # more follows: this is not the last part
                    buffered = _Chunks()
            if not head_checked:  # an empty source
                raise NotAPdfError(key)
            sha256 = hasher.hexdigest()
            version_id = upload.finish(buffered, sha256)
        except BaseException:
            upload.abort()
            raise
        return StoredFile(key=key, size=size, sha256=sha256, version_id=version_id)

    def store_bytes(
        self,
        key: str,
        data: bytes,
        *,
        expect_pdf: bool,
        max_bytes: int,
        content_type: str = PDF_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredFile:
        return self.store_stream(
            key, [data], expect_pdf=expect_pdf, max_bytes=max_bytes, content_type=content_type, metadata=metadata
        )

    def copy(self, source_key: str, destination_key: str) -> FileInfo:
        """Server-side copy, keeping content type and metadata (sha256 included, when the source has it)."""
        source = self.head(source_key)
        try:
            response = self._client.copy_object(
                Bucket=self._bucket,
                Key=destination_key,
                CopySource=_copy_source(self._bucket, source_key, source.version_id),
                MetadataDirective="COPY",
            )
        except ClientError as error:
            if _is_not_found(error):
                raise StoredFileNotFoundError(source_key) from None
            raise
        return FileInfo(
            key=destination_key,
            size=source.size,
            sha256=source.sha256,
            content_type=source.content_type,
            version_id=response.get("VersionId"),
            metadata=source.metadata,
        )

    def move(self, source_key: str, destination_key: str) -> FileInfo:
        stored = self.copy(source_key, destination_key)
        self.delete(source_key)
        return stored

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)

    def list_objects(
        self, prefix: str, *, modified_before: datetime | None = None, page_size: int = 1000
    ) -> Iterator[ObjectSummary]:
        """The current objects under `prefix` in key order, fetched a page (`page_size` keys, S3's maximum 1000) at
        a time as the caller iterates; with `modified_before`, only those last written before it (the housekeeper's
        abandoned uploads)."""
        if not prefix:
            raise ValueError("list under a prefix, never the whole bucket")
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self._bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size})
        for page in pages:
            for item in page.get("Contents", []):
                summary = ObjectSummary(key=item["Key"], size=int(item["Size"]), last_modified=item["LastModified"])
                if modified_before is None or summary.last_modified < modified_before:
                    yield summary

    # ------------------------------------------------------------------------------------------------ reads

    def head(self, key: str) -> FileInfo:
        try:
            response = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _is_not_found(error):
                raise StoredFileNotFoundError(key) from None
            raise
        metadata = dict(response.get("Metadata", {}))
        return FileInfo(
            key=key,
            size=int(response.get("ContentLength", 0)),
            sha256=metadata.get(SHA256_METADATA),
            content_type=response.get("ContentType"),
            version_id=response.get("VersionId"),
            metadata=metadata,
        )

    def open_stream(self, key: str) -> ObjectStream:
        """The object as a stream (read it in chunks, e.g. to upload to a provider without buffering it)."""
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _is_not_found(error):
                raise StoredFileNotFoundError(key) from None
            raise
        metadata = dict(response.get("Metadata", {}))
        return ObjectStream(
            key=key,
            body=cast("IO[bytes]", response["Body"]),
            size=int(response.get("ContentLength", 0)),
            sha256=metadata.get(SHA256_METADATA),
            content_type=response.get("ContentType"),
            version_id=response.get("VersionId"),
        )

    # ------------------------------------------------------------------------------------------------ links

    def presigned_post(
        self,
        key: str,
        *,
        max_bytes: int,
        exact_size: int | None = None,
        expires_in: int | None = None,
        content_type: str = PDF_CONTENT_TYPE,
    ) -> PresignedPost:
        """A form upload to `key` (under `incoming/`) that S3 refuses outside [1, max_bytes] (or != exact_size)."""
        if not key.startswith(INCOMING_PREFIX):
            raise ValueError(f"client uploads go under {INCOMING_PREFIX}")
        if exact_size is not None and not 0 < exact_size <= max_bytes:
            raise FileTooLargeError(key, max_bytes)
        low, high = (exact_size, exact_size) if exact_size is not None else (1, max_bytes)
        ttl = self._ttl(expires_in)
        expires_at = utc_now() + timedelta(seconds=ttl)
        post = self._client.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[["content-length-range", low, high], {"Content-Type": content_type}],
            ExpiresIn=ttl,
        )
        return PresignedPost(
            url=post["url"],
            fields={name: str(value) for name, value in post["fields"].items()},
            expires_at=expires_at,
            min_bytes=low,
            max_bytes=high,
        )

    def presigned_get(self, key: str, *, expires_in: int | None = None, download_name: str | None = None) -> str:
        """A download link; lives `expires_in` seconds (default from settings), never more than an hour."""
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": key}
        if download_name:
            # RFC 6266 / 5987: survives quotes and non-ASCII names.
            params["ResponseContentDisposition"] = (
                f"attachment; filename*=UTF-8''{urllib.parse.quote(download_name, safe='')}"
            )
        return self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=self._ttl(expires_in))

    def _ttl(self, expires_in: int | None) -> int:
        return self._presign_ttl_seconds if expires_in is None else _clamp_ttl(expires_in)


class ObjectStream:
    """An S3 object being read. Iterate for chunks, or `read(n)`; close it (or use `with`)."""

    def __init__(
        self,
        *,
        key: str,
        body: IO[bytes],
        size: int,
        sha256: str | None,
        content_type: str | None,
        version_id: str | None = None,
    ) -> None:
        self.key = key
        self.size = size
        self.sha256 = sha256
        self.content_type = content_type
        self.version_id = version_id  # the version read (None: an unversioned bucket)
        self._body = body

    def read(self, size: int = -1, /) -> bytes:
        return self._body.read(size)

    def iter_chunks(self, chunk_size: int = DEFAULT_READ_CHUNK) -> Iterator[bytes]:
        while chunk := self._body.read(chunk_size):
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks()

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> ObjectStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------ internals


class _Upload:
    """One object being written: nothing, then either one PutObject or a multipart upload."""

    def __init__(self, client: S3Client, bucket: str, key: str, content_type: str, metadata: dict[str, str]) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._content_type = content_type
        self._metadata = metadata
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def send_part(self, chunks: _Chunks) -> None:
        if self._upload_id is None:
            started = self._client.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, ContentType=self._content_type, Metadata=self._metadata
            )
            self._upload_id = started["UploadId"]
        number = len(self._parts) + 1
        response = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=cast("IO[bytes]", chunks.reader()),
            ContentLength=len(chunks),
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def finish(self, rest: _Chunks, sha256: str) -> str | None:
        metadata = {**self._metadata, SHA256_METADATA: sha256}
        if self._upload_id is None:
            response = self._client.put_object(
                Bucket=self._bucket,
                Key=self._key,
                Body=cast("IO[bytes]", rest.reader()),
                ContentLength=len(rest),
                ContentType=self._content_type,
                Metadata=metadata,
            )
            return response.get("VersionId")
        if len(rest):
            self.send_part(rest)
        completed = self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": cast("Any", self._parts)},
        )
        self._upload_id = None
        return completed.get("VersionId")

    def abort(self) -> None:
        if self._upload_id is None:
            return
        try:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
        except ClientError:
            # The original failure matters more; an abandoned multipart upload is also removed by the bucket's
            # lifecycle rule for incomplete uploads.
            logger.exception("could not clean up a failed upload", extra={"key": self._key})


def _copy_source(bucket: str, key: str, version_id: str | None) -> CopySourceTypeDef:
    source: CopySourceTypeDef = {"Bucket": bucket, "Key": key}
    if version_id:
        source["VersionId"] = version_id
    return source


class _Chunks:
    """Byte chunks kept as they arrived, readable as one stream without joining them."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0

    def append(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._size += len(chunk)

    def __len__(self) -> int:
        return self._size

    def startswith(self, prefix: bytes) -> bool:
        head = b""
        for chunk in self._chunks:
            head += chunk[: len(prefix) - len(head)]
            if len(head) == len(prefix):
                break
        return head == prefix

    def reader(self) -> _ChunksReader:
        return _ChunksReader(self._chunks, self._size)


class _ChunksReader(io.RawIOBase):
    """A seekable, read-only file over a list of byte chunks (botocore rewinds bodies to checksum and to retry)."""

    def __init__(self, chunks: list[bytes], size: int) -> None:
        super().__init__()
        self._chunks = chunks
        self._size = size
        self._position = 0
        self._starts: list[int] = []
        offset = 0
        for chunk in chunks:
            self._starts.append(offset)
            offset += len(chunk)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def __len__(self) -> int:
        return self._size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = min(max(base + offset, 0), self._size)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        written = 0
        while written < len(view) and self._position < self._size:
            index = self._chunk_at(self._position)
            chunk = self._chunks[index]
            start = self._position - self._starts[index]
            count = min(len(chunk) - start, len(view) - written)
            view[written : written + count] = chunk[start : start + count]
            written += count
            self._position += count
        return written

    def read(self, size: int | None = -1, /) -> bytes:
        remaining = self._size - self._position
        size = remaining if size is None or size < 0 else min(size, remaining)
        pieces: list[bytes | memoryview] = []
        while size > 0:
            index = self._chunk_at(self._position)
            chunk = self._chunks[index]
            start = self._position - self._starts[index]
            count = min(len(chunk) - start, size)
            # a whole chunk is returned as it is; parts of chunks are views, copied once by the join below
            pieces.append(chunk if (start, count) == (0, len(chunk)) else memoryview(chunk)[start : start + count])
            self._position += count
            size -= count
        if len(pieces) == 1 and isinstance(pieces[0], bytes):
            return pieces[0]
        return b"".join(pieces)

    def _chunk_at(self, position: int) -> int:
        # bisect over chunk starts: few chunks per part, so a linear scan from the end would do too
        low, high = 0, len(self._starts) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self._starts[middle] <= position:
                low = middle
            else:
                high = middle - 1
        return low


@dataclass(frozen=True)
class _Chunk:
    data: bytes
    last: bool


def _chunks_of(source: ByteSource, read_size: int) -> Iterator[bytes]:
    if hasattr(source, "read"):
        readable = cast("Readable", source)
        while chunk := readable.read(read_size):
            yield bytes(chunk)
        return
    for chunk in source:
        if chunk:
            yield bytes(chunk)


def _lookahead(chunks: Iterator[bytes]) -> Iterator[_Chunk]:
    """Each chunk with whether it is the last one, so a full buffer can tell a middle part from the whole file."""
    previous: bytes | None = None
    for chunk in chunks:
        if previous is not None:
            yield _Chunk(previous, last=False)
        previous = chunk
    if previous is not None:
        yield _Chunk(previous, last=True)


def _clamp_ttl(seconds: int) -> int:
    if seconds <= 0:
        raise ValueError("a presigned link must live at least one second")
    return min(seconds, PRESIGN_TTL_MAX_SECONDS)


def _is_not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")
