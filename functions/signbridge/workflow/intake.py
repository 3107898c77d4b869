"""The intake: a client's upload to `incoming/{request}/{index:03d}.pdf` becomes a checked original, or a refusal.

S3 invokes the `intake` function asynchronously for every object created under `incoming/` (Lambda retries an
erroring invocation twice), so each step is safe to run again:

1. Only a document that is `awaiting_upload` is taken. Any other state means a duplicate or late event: the stray
   incoming object is deleted when the document already holds its original (or was rejected), and left alone
   otherwise; nothing else changes.
2. The incoming object is streamed into `originals/…` with the PDF check and the size cap (`FileStore.store_stream`
   never keeps a partial object), then compared with the size and sha256 the client declared, if it declared them.
3. Accepted: document `awaiting_upload → received` (original key, sha256, size), conditional on the request still
   being `draft`; the incoming object is deleted; the planner moves the request to `submitted` once every document
   is in.
4. Refused (not a PDF, empty, too large, size or sha256 mismatch): document `→ rejected` with a reason naming the
   document by index and name, the incoming object (and any original written) deleted. The request stays a `draft`:
   the client reads the reason, asks for a new link (`POST /v1/requests/{id}/documents/{n}/upload`, which moves the
   document back to `awaiting_upload`) and uploads a good file; a draft nobody fixes expires at its deadline or
   after a day (the housekeeper), as any draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from aws_lambda_powertools import Logger

from signbridge.domain import keys
from signbridge.domain.errors import (
    ConcurrentUpdateError,
    FileTooLargeError,
    NotAPdfError,
    RequestNotFoundError,
    StoredFileNotFoundError,
)
from signbridge.domain.files import StoredFile
from signbridge.domain.models import Cause, Document, DocumentStatus, RequestAggregate, RequestStatus
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

logger = Logger(child=True)

_INCOMING: Final = re.compile(
    rf"^{re.escape(keys.INCOMING_PREFIX)}(?P<request_id>[A-Za-z0-9_-]{{1,128}})/(?P<index>[0-9]{{3}})\.pdf$"
)


class IntakeResult(StrEnum):
    RECEIVED = "received"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


@dataclass(frozen=True)
class IncomingUpload:
    request_id: str
    index: int
    key: str


def parse_incoming_key(key: str) -> IncomingUpload | None:
    """`incoming/{request_id}/{index:03d}.pdf` (as `keys.incoming_key` builds it), or None for any other key."""
    match = _INCOMING.match(key)
    if match is None:
        return None
    return IncomingUpload(match["request_id"], int(match["index"]), key)


def accept_upload(services: Services, key: str, *, correlation_id: str) -> IntakeResult:
    """Take one uploaded object (its key already URL-decoded). See the module docstring for the steps."""
    located = _locate(services, key)
    if located is None:
        return IntakeResult.IGNORED
    upload, aggregate, document = located
    if document.status is not DocumentStatus.AWAITING_UPLOAD or aggregate.request.status is not RequestStatus.DRAFT:
        return _duplicate(services, aggregate, document, upload, correlation_id=correlation_id)

    original_key = keys.original_key(upload.request_id, upload.index)
    try:
        stored, refusal = _store_original(services, document, upload, original_key)
    except StoredFileNotFoundError:
        # Another invocation took it meanwhile (and deleted it): that one records the outcome.
        logger.info("incoming object already taken", extra={"request_id": upload.request_id})
        return IntakeResult.DUPLICATE
    if refusal is not None:
        return _reject(services, aggregate, document, upload, refusal, correlation_id=correlation_id)
    assert stored is not None
    step = Step(services, aggregate, cause=Cause.INTAKE, correlation_id=correlation_id)
    try:
        step.move_document(
            upload.index,
            DocumentStatus.RECEIVED,
            expected=DocumentStatus.AWAITING_UPLOAD,
            detail=f"document {upload.index} uploaded and checked ({stored.size} bytes)",
            updates={"original_key": stored.key, "sha256": stored.sha256, "size": stored.size},
            while_request=RequestStatus.DRAFT,
        )
    except ConcurrentUpdateError:
        # A duplicate event got there first (same content, same key), or the request left `draft` meanwhile.
        return _duplicate(
            services,
            services.records.get_request(upload.request_id),
            document,
            upload,
            correlation_id=correlation_id,
        )
    services.files.delete(upload.key)
    logger.info("document received", extra={"request_id": upload.request_id, "document": upload.index})
    # The documents of a request arrive in parallel (one intake per upload) and a document's move leaves the
    # request's version as it was: only a fresh read shows the uploads that landed meanwhile, so the last one moves
    # the request on.
    step.advance(read_again=True)
    return IntakeResult.RECEIVED


def _locate(services: Services, key: str) -> tuple[IncomingUpload, RequestAggregate, Document] | None:
    """The upload, its request and its document; None (logged, the object left alone) when the key names none."""
    upload = parse_incoming_key(key)
    if upload is None:
        logger.warning("object is not an upload of a declared document: left alone", extra={"key": key})
        return None
    try:
        aggregate = services.records.get_request(upload.request_id)
    except RequestNotFoundError:
        logger.warning("upload for an unknown request: left alone", extra={"request_id": upload.request_id})
        return None
    document = next((item for item in aggregate.documents if item.index == upload.index), None)
    if document is None:
        logger.warning("upload for an undeclared document: left alone", extra={"request_id": upload.request_id})
        return None
    return upload, aggregate, document


def _store_original(
    services: Services, document: Document, upload: IncomingUpload, original_key: str
) -> tuple[StoredFile | None, str | None]:
    """Stream the upload to its original key; returns what was stored, or why it was refused (nothing kept then)."""
    max_bytes = services.settings.max_file_bytes
    try:
        with services.files.open_stream(upload.key) as source:
            if source.size == 0:
                return None, "the file is empty"
            stored = services.files.store_stream(original_key, source, expect_pdf=True, max_bytes=max_bytes)
    except NotAPdfError:
        return None, "not a PDF"
    except FileTooLargeError:
        return None, f"larger than {max_bytes} bytes"
    declared_size = document.declared_size
    if declared_size is not None and stored.size != declared_size:
        services.files.delete(original_key)
        return None, f"{stored.size} bytes where {declared_size} were declared"
    if document.declared_sha256 is not None and stored.sha256 != document.declared_sha256.lower():
        services.files.delete(original_key)
        return None, "its sha256 differs from the declared one"
    return stored, None


def _reject(
    services: Services,
    aggregate: RequestAggregate,
    document: Document,
    upload: IncomingUpload,
    problem: str,
    *,
    correlation_id: str,
) -> IntakeResult:
    reason = f"document {upload.index} '{document.name}' rejected: {problem}"
    step = Step(services, aggregate, cause=Cause.INTAKE, correlation_id=correlation_id)
    try:
        step.move_document(
            upload.index,
            DocumentStatus.REJECTED,
            expected=DocumentStatus.AWAITING_UPLOAD,
            detail=reason,
            updates={"rejection_reason": reason},
            while_request=RequestStatus.DRAFT,
        )
    except ConcurrentUpdateError:
        return _duplicate(
            services,
            services.records.get_request(upload.request_id),
            document,
            upload,
            correlation_id=correlation_id,
        )
    services.files.delete(upload.key)
    logger.warning("upload rejected", extra={"request_id": upload.request_id, "document": upload.index})
    return IntakeResult.REJECTED


def _duplicate(
    services: Services,
    aggregate: RequestAggregate,
    document: Document,
    upload: IncomingUpload,
    *,
    correlation_id: str,
) -> IntakeResult:
    """An event for a document no longer awaiting its upload (or a request that left `draft`). Finishes what a crashed
    earlier run may have left undone, and nothing more."""
    step = Step(services, aggregate, cause=Cause.INTAKE, correlation_id=correlation_id)
    current = next((item for item in aggregate.documents if item.index == document.index), document)
    if current.status is DocumentStatus.REJECTED:
        services.files.delete(upload.key)  # the refused file (a crashed run rejected it but did not delete it)
    elif current.original_key is not None and current.status is not DocumentStatus.AWAITING_UPLOAD:
        services.files.delete(upload.key)  # the document holds its checked original: the upload is a stray copy
        if aggregate.request.status is RequestStatus.DRAFT:
            step.advance(read_again=True)  # as after a move: uploads of other documents may have landed meanwhile
    logger.info(
        "upload event for a document not awaiting it: nothing to do",
        extra={"request_id": upload.request_id, "document": upload.index, "document_status": current.status.value},
    )
    return IntakeResult.DUPLICATE
