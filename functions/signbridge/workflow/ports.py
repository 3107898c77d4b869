"""The ports: what the workflow needs of the outside world, as `typing.Protocol`s with only the methods it uses.

`signbridge.storage` (DynamoDB, S3, SQS, Secrets Manager) and `signbridge.providers` (ZapSign, One-Shot, file links)
implement them; `signbridge.wiring` plugs the implementations in. Unit tests can pass in-memory fakes instead. The
types that cross a port (entities, changes, errors, provider data) are the domain's (`signbridge.domain`), imported
for the type checker only: every handler imports this module (through `Services`), and the provider data models
(`domain.zapsign`, `domain.oneshot`, `domain.verification`) are a large part of a cold start.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:  # annotations only: a handler loads a provider's models when it calls that provider
    from signbridge.domain.changes import DocumentChange, Lookup, LookupTarget, SignerChange, TimelineNote
    from signbridge.domain.credentials import SignerPageKey, WebhookSecrets
    from signbridge.domain.files import ByteSource, FileInfo, FileStream, ObjectSummary, PresignedPost, StoredFile
    from signbridge.domain.idempotency import CompletedResult, IdempotencyClaim
    from signbridge.domain.messages import OperationMessage
    from signbridge.domain.models import (
        Cause,
        Document,
        RequestAggregate,
        RequestStatus,
        SignatureRequest,
        Signer,
    )
    from signbridge.domain.oneshot import (
        CreatedRequest,
        DocumentInfo,
        DocumentType,
        FilePart,
        IdEvidence,
        SignatureAppearance,
        SignerIdentity,
        SignResult,
        UploadedDocument,
    )
    from signbridge.domain.operations import Queue
    from signbridge.domain.pages import Page
    from signbridge.domain.verification import ExpectedSigner, FileReport, LongTermLevel
    from signbridge.domain.zapsign import (
        CancelOutcome,
        NewDocument,
        ZapSignDocument,
        ZapSignDocumentPage,
        ZapSignExtraDocument,
    )


class ObjectStream(Protocol):
    """A stored file being read (`FileStore.open_stream`). Iterate for chunks, or `read(n)`; close it (or `with`)."""

    key: str
    size: int
    sha256: str | None
    content_type: str | None
    version_id: str | None

    def read(self, size: int = -1, /) -> bytes: ...

    def iter_chunks(self, chunk_size: int = ...) -> Iterator[bytes]: ...

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...

    def __enter__(self) -> ObjectStream: ...

    def __exit__(self, *_: object) -> None: ...


class RecordStore(Protocol):
    """What the workflow uses of `signbridge.storage.records.RecordStore`."""

    def create_request(
        self,
        request: SignatureRequest,
        documents: Sequence[Document],
        signers: Sequence[Signer],
        *,
        cause: Cause,
        correlation_id: str,
        detail: str | None = None,
    ) -> None: ...

    def get_request(self, request_id: str) -> RequestAggregate: ...

    def get_request_item(self, request_id: str) -> SignatureRequest: ...

    def move_request(
        self,
        aggregate: RequestAggregate,
        to: RequestStatus,
        *,
        cause: Cause,
        correlation_id: str,
        detail: str | None = None,
        updates: Mapping[str, object] | None = None,
        lookups: Sequence[Lookup] = (),
        document_changes: Sequence[DocumentChange] = (),
        signer_changes: Sequence[SignerChange] = (),
        record_event: bool = True,
    ) -> RequestAggregate:
        """Move the request conditionally on the status and version `aggregate` holds, with the part changes, lookups
        and timeline entry (unless `record_event` is False) in the same write; answer the aggregate as written (no
        read). Raises
        `ConcurrentUpdateError` after a lost race, `TransitionNotAllowedError` for a move the lifecycle forbids."""
        ...

    def record_on_request(
        self,
        aggregate: RequestAggregate,
        *,
        cause: Cause,
        correlation_id: str,
        detail: str,
        updates: Mapping[str, object],
    ) -> RequestAggregate:
        """Set request fields without a move, with a timeline entry, conditionally on the status and version
        `aggregate` holds (a fact recorded on a finished request: its evidence package); answer the aggregate as
        written."""
        ...

    def move_part(
        self,
        aggregate: RequestAggregate,
        change: DocumentChange | SignerChange,
        *,
        cause: Cause,
        correlation_id: str,
        detail: str | None = None,
        lookups: Sequence[Lookup] = (),
        request_status: RequestStatus | None = None,
        record_event: bool = True,
    ) -> RequestAggregate:
        """Move one document or signer (`change.to`) conditionally on `change.expected_status` (and on the request's
        status, with `request_status`); answer the aggregate as written."""
        ...

    def update_part(
        self,
        aggregate: RequestAggregate,
        change: DocumentChange | SignerChange,
        *,
        request_status: RequestStatus | None = None,
        note: TimelineNote | None = None,
    ) -> RequestAggregate:
        """Set fields of one document or signer without a move, conditionally like `move_part` (with `note`, and a
        timeline entry from the part's status to itself); answer the aggregate as written."""
        ...

    def find_by_zapsign_doc_token(self, doc_token: str) -> LookupTarget | None: ...

    def find_by_oneshot_request(self, request_pk: str | int) -> LookupTarget | None: ...

    def list_by_external_id(
        self, external_id: str, *, limit: int = 50, cursor: str | None = None, newest_first: bool = True
    ) -> Page[SignatureRequest]: ...

    def list_by_status(
        self,
        status: RequestStatus,
        *,
        older_than: timedelta | None = None,
        newer_than: timedelta | None = None,
        now: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[SignatureRequest]: ...


class FileStore(Protocol):
    """What the workflow uses of `signbridge.storage.files.FileStore`."""

    def store_stream(
        self,
        key: str,
        source: ByteSource,
        *,
        expect_pdf: bool,
        max_bytes: int,
        content_type: str = ...,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredFile: ...

    def store_bytes(
        self,
        key: str,
        data: bytes,
        *,
        expect_pdf: bool,
        max_bytes: int,
        content_type: str = ...,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredFile: ...

    def delete(self, key: str) -> None: ...

    def list_objects(
        self, prefix: str, *, modified_before: datetime | None = None, page_size: int = 1000
    ) -> Iterator[ObjectSummary]: ...

    def head(self, key: str) -> FileInfo: ...

    def open_stream(self, key: str) -> ObjectStream: ...

    def presigned_post(
        self,
        key: str,
        *,
        max_bytes: int,
        exact_size: int | None = None,
        expires_in: int | None = None,
        content_type: str = ...,
    ) -> PresignedPost: ...

    def presigned_get(self, key: str, *, expires_in: int | None = None, download_name: str | None = None) -> str: ...


class QueueSender(Protocol):
    """What the workflow uses of `signbridge.storage.queues.QueueSender`."""

    def send(
        self,
        queue: Queue,
        message: OperationMessage,
        *,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> str: ...

    def send_batch(self, queue: Queue, messages: Sequence[OperationMessage]) -> None: ...


class DeadLetter(Protocol):
    """A message of a dead-letter queue (`signbridge.storage.queues.DeadLetter`)."""

    @property
    def queue(self) -> Queue: ...

    @property
    def message_id(self) -> str: ...

    @property
    def message(self) -> OperationMessage | None: ...


class DeadLetterQueues(Protocol):
    """What the housekeeper uses of `signbridge.storage.queues.DeadLetterQueues`."""

    def read(self, queue: Queue, *, limit: int) -> Iterator[DeadLetter]: ...

    def drop(self, letter: Any) -> None:
        """Delete `letter`, one that `read` answered."""


class SecretStore(Protocol):
    """What the workflow uses of `signbridge.storage.secrets.SecretStore`."""

    def webhooks(self) -> WebhookSecrets: ...

    def signer_page(self) -> SignerPageKey: ...


class IdempotencyStore(Protocol):
    """What the workflow uses of `signbridge.storage.idempotency.IdempotencyStore`."""

    def claim(
        self, scope: str, key: str, payload: object, *, lease: timedelta | None = None
    ) -> IdempotencyClaim | CompletedResult: ...

    def complete(self, claim: IdempotencyClaim, result: Mapping[str, Any]) -> None: ...

    def release(self, claim: IdempotencyClaim) -> None: ...


class ZapSignClient(Protocol):
    """What the workflow uses of `signbridge.providers.zapsign.ZapSignClient`."""

    def create_document(self, document: NewDocument) -> ZapSignDocument: ...

    def add_extra_document(
        self, doc_token: str, *, name: str, pdf: bytes | None = None, url_pdf: str | None = None
    ) -> ZapSignExtraDocument: ...

    def get_document(self, token: str) -> ZapSignDocument | ZapSignExtraDocument: ...

    def list_documents(
        self,
        *,
        page: int = 1,
        folder_path: str | None = None,
        status: Literal["pending", "signed", "refused"] | None = None,
        deleted: bool | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
    ) -> ZapSignDocumentPage: ...

    def cancel_document(
        self, doc_token: str, rejected_reason: str, *, notify_signer: bool = False
    ) -> CancelOutcome: ...


class OneShotClient(Protocol):
    """What the workflow uses of `signbridge.providers.oneshot.OneShotClient`."""

    def create_request(
        self,
        identity: SignerIdentity,
        evidence: IdEvidence,
        *,
        callback_url: str | None = None,
        use_async: bool = False,
        registration_authority: str | None = None,
        profile: str | None = None,
    ) -> CreatedRequest: ...

    def open_contract(self, pk: int) -> AbstractContextManager[FileStream]: ...

    def send_otp(self, pk: int) -> None: ...

    def sign(
        self,
        pk: int,
        otp: str,
        *,
        appearance: SignatureAppearance | None = None,
        external_unlock: tuple[str, str] | None = None,
    ) -> SignResult: ...

    def upload_document(self, pk: int, file: FilePart) -> UploadedDocument: ...

    def list_documents(self, pk: int) -> list[DocumentInfo]: ...

    def open_document(
        self, pk: int, uid: str, document_type: DocumentType = "original"
    ) -> AbstractContextManager[FileStream]: ...

    def delete_all_documents(self, pk: int) -> bool: ...

    def with_budget(self, *, max_attempts: int, connect_timeout: float, read_timeout: float) -> OneShotClient:
        """The same client (session, credentials) with another time budget: the synchronous sign call's."""
        ...


class FileDownloads(Protocol):
    """Opens provider file links (ZapSign's presigned links, evidence images) under the download policy."""

    def open(
        self,
        url: str,
        *,
        allowed_hosts: Collection[str],
        allow_loopback_http: bool = False,
        max_bytes: int,
        provider: str = "download",
        operation: str = "download",
    ) -> AbstractContextManager[FileStream]: ...


class SignatureVerifier(Protocol):
    """Validates every signature of a signed PDF (`signbridge.verification.PdfSignatureVerifier`, pyHanko).

    `pdf` is a seekable binary stream (a temporary file the S3 object was streamed into) or a file path, read without
    a second whole copy in memory. The report says, per signature, the ETSI EN 319 102-1 indication and how the
    certificate's identity meets `expected_signers`; `signbridge.domain.verification.decide` judges it."""

    def verify(
        self, pdf: str | os.PathLike[str] | IO[bytes], *, expected_signers: Sequence[ExpectedSigner] = ()
    ) -> FileReport: ...

    def embed_validation_material(self, pdf: str | os.PathLike[str] | IO[bytes], output: IO[bytes]) -> LongTermLevel:
        """Write to `output` `pdf` followed by incremental updates that embed each signature's validation material
        (PAdES B-LT), and a document timestamp when a TSA is configured (B-LTA); `pdf`'s bytes stay its prefix."""
        ...


class Sealer(Protocol):
    """Signs the evidence package's manifest (`signbridge.storage.seal.KmsSealer`: an AWS KMS ECC_NIST_P256 key)."""

    @property
    def key_id(self) -> str: ...

    def sign_digest(self, digest: bytes) -> tuple[str, bytes]:
        """(the key's ARN, the DER ECDSA_SHA_256 signature) of a SHA-256 digest."""
        ...

    def public_key_pem(self) -> str: ...
