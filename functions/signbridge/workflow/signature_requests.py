"""The client's use cases behind the HTTP API: create a request, read it, list requests, cancel one, upload a
declared document again.

The API handler parses and maps; these functions decide. Creating a request:

1. checks the limits that depend on the deployment (inline bytes, file size), before anything is stored;
2. with an `Idempotency-Key`, claims the key (scope `create_request`, payload = the parsed body); a completed claim
   answers with the request it created; the request id is derived from the key and the body, so an attempt that
   crashed after writing the request is finished by the next attempt instead of creating a second request;
3. stores the inline documents (`originals/`) and, for `oneshot`, the ID images (`evidence/`), then writes the request,
   its documents and signers and the first timeline entry in one transaction;
4. asks a `Step` to `advance` to the first step. A failure there is logged and left to the reconciler, which plans
   every request that has not moved for too long: the request exists, so the client gets its 201;
5. presigns one S3 POST per declared upload (`incoming/`); the intake function takes it from there.

An upload that fails the intake's checks leaves its document `rejected` and the request a `draft` (the client fixes
the file; the draft expires at its deadline or after a day, as any draft): `reopen_upload` gives a fresh link for it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from aws_lambda_powertools import Logger

from signbridge import telemetry
from signbridge.domain import keys
from signbridge.domain.errors import (
    ConcurrentUpdateError,
    DocumentNotFoundError,
    FileTooLargeError,
    IdempotencyClaimLostError,
    NotAPdfError,
    RequestAlreadyExistsError,
)
from signbridge.domain.files import PresignedPost
from signbridge.domain.idempotency import CompletedResult
from signbridge.domain.lifecycle import (
    INITIAL_SIGNER_STATUS,
    initial_document_status,
    initial_request_status,
    may_transition,
)
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    Cause,
    Document,
    DocumentStatus,
    IdImageKind,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    Signer,
)
from signbridge.domain.operations import Op
from signbridge.domain.pages import Page
from signbridge.domain.validation import MAX_ID_IMAGE_BYTES, id_image_media_type
from signbridge.workflow import signer_page
from signbridge.workflow.errors import (
    InvalidFieldError,
    InvalidQueryError,
    PayloadTooLargeError,
    RequestNotCancellableError,
    UploadClosedError,
)
from signbridge.workflow.inputs import NewRequest
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

logger = Logger(child=True)

CREATE_SCOPE: Final = "create_request"
# Request ids derived from an idempotency key: a fixed namespace, so the same key and body give the same id.
_REQUEST_ID_NAMESPACE: Final = uuid.UUID("1b4e28ba-2fa1-41d2-883f-0016d3cca427")
_IMAGE_EXTENSIONS: Final = {"image/jpeg": "jpg", "image/png": "png"}
CANCEL_ATTEMPTS: Final = 2  # the first attempt, and one more after losing a race


@dataclass(frozen=True)
class Cancellation:
    """The request after a cancel; `cancelled_now` is False when it was already cancelled."""

    aggregate: RequestAggregate
    cancelled_now: bool


@dataclass(frozen=True)
class Created:
    """The request as it stands after creation, the presigned uploads it waits for, and whether this answer repeats
    an earlier one (same `Idempotency-Key` and body)."""

    aggregate: RequestAggregate
    uploads: list[tuple[int, PresignedPost]]
    replayed: bool


# ------------------------------------------------------------------------------------------------ create


def create_request(
    services: Services, body: NewRequest, *, idempotency_key: str | None, correlation_id: str
) -> Created:
    """Create a signature request from a validated body (see the module docstring for the steps)."""
    _check_limits(services, body)
    if idempotency_key is None:
        return _create(services, body, uuid.uuid4().hex, correlation_id=correlation_id)
    claim = services.idempotency.claim(CREATE_SCOPE, idempotency_key, body)
    if isinstance(claim, CompletedResult):
        aggregate = services.records.get_request(str(claim.result["request_id"]))
        return Created(aggregate, upload_links(services, aggregate), replayed=True)
    request_id = uuid.uuid5(_REQUEST_ID_NAMESPACE, f"{idempotency_key}\n{claim.payload_hash}").hex
    try:
        created = _create(services, body, request_id, correlation_id=correlation_id)
    except BaseException:
        services.idempotency.release(claim)
        raise
    try:
        services.idempotency.complete(claim, {"request_id": request_id})
    except IdempotencyClaimLostError:
        # Our lease ran out and a retry took over; it derives the same id, so it answers with this same request.
        logger.warning("idempotency claim lost after creating the request", extra={"request_id": request_id})
    return created


def upload_links(
    services: Services, aggregate: RequestAggregate, *, only: int | None = None
) -> list[tuple[int, PresignedPost]]:
    """A fresh presigned POST for every document still awaiting its upload (or for document `only`, if it is)."""
    settings = services.settings
    return [
        (
            document.index,
            services.files.presigned_post(
                document.incoming_key or keys.incoming_key(aggregate.request.id, document.index),
                max_bytes=settings.max_file_bytes,
                exact_size=document.declared_size,
                expires_in=settings.presign_ttl_seconds,
            ),
        )
        for document in aggregate.documents
        if document.status is DocumentStatus.AWAITING_UPLOAD and only in (None, document.index)
    ]


def _check_limits(services: Services, body: NewRequest) -> None:
    settings = services.settings
    inline = body.inline_bytes()
    if inline > settings.max_inline_bytes:
        raise PayloadTooLargeError(
            f"the inline documents and images add up to {inline} bytes; at most {settings.max_inline_bytes} may be "
            "sent in the body: declare larger documents for upload instead (omit content_base64)"
        )
    for position, document in enumerate(body.documents):
        content = document.content()
        if content is not None and len(content) > settings.max_file_bytes:
            raise PayloadTooLargeError(
                f"documents.{position}: {len(content)} bytes; a document may have at most {settings.max_file_bytes}"
            )
        if document.size is not None and document.size > settings.max_file_bytes:
            raise InvalidFieldError(
                f"documents.{position}.size", f"a document may have at most {settings.max_file_bytes} bytes"
            )


def _create(services: Services, body: NewRequest, request_id: str, *, correlation_id: str) -> Created:
    now = services.clock()
    documents = [
        _store_document(services, request_id, position, body, now=now) for position in range(len(body.documents))
    ]
    signers = [_signer(services, request_id, position, body, now=now) for position in range(len(body.signers))]
    if body.workflow.uses_oneshot:
        signers = signer_page.mint_links(services, request_id, signers)
    every_inline = all(document.is_inline for document in body.documents)
    request = SignatureRequest(
        id=request_id,
        workflow=body.workflow,
        status=initial_request_status(every_document_inline=every_inline),
        version=1,
        external_id=body.external_id,
        metadata=body.metadata,
        language=body.language,
        deadline=body.deadline,
        created_at=now,
        updated_at=now,
        status_since=now,
        document_count=len(documents),
        signer_count=len(signers),
        signature_appearance=(
            body.signature_appearance.model_dump(mode="json", exclude_none=True) if body.signature_appearance else None
        ),
        evidence_include_id_images=body.include_id_images,
    )
    try:
        services.records.create_request(
            request, documents, signers, cause=Cause.API, correlation_id=correlation_id, detail="created by the client"
        )
    except RequestAlreadyExistsError:
        # Only a derived id can exist already: an earlier attempt with this idempotency key and body wrote it and
        # stopped before recording its answer. Finish its work instead of writing a second request.
        logger.info("request already written by an earlier attempt", extra={"request_id": request_id})
    else:
        logger.info(
            "request created",
            extra={
                "request_id": request_id,
                "workflow": body.workflow.value,
                "status": request.status.value,
                "documents": len(documents),
                "signers": len(signers),
            },
        )
    aggregate = _first_step(services, request_id, correlation_id=correlation_id)
    return Created(aggregate, upload_links(services, aggregate), replayed=False)


def _first_step(services: Services, request_id: str, *, correlation_id: str) -> RequestAggregate:
    try:
        return Step.read(services, request_id, cause=Cause.API, correlation_id=correlation_id).advance()
    except Exception as error:
        # The request is stored: the reconciler plans it again once it has waited past its threshold (a crash
        # between the two writes heals the same way), so the client gets its request rather than an error that
        # would tempt it to create a second one. The error's type only: its message may quote provider data.
        logger.warning(
            "first step not enqueued; the reconciler will plan it",
            extra={"request_id": request_id, "error": type(error).__name__},
        )
        return services.records.get_request(request_id)


def _store_document(services: Services, request_id: str, position: int, body: NewRequest, *, now: datetime) -> Document:
    document = body.documents[position]
    content = document.content()
    base = {
        "index": position,
        "name": document.name,
        "status": initial_document_status(inline=content is not None),
        "status_since": now,
        "declared_sha256": document.sha256,
    }
    if content is None:
        return Document.model_validate(
            {**base, "declared_size": document.size, "incoming_key": keys.incoming_key(request_id, position)}
        )
    key = keys.original_key(request_id, position)
    try:
        stored = services.files.store_bytes(key, content, expect_pdf=True, max_bytes=services.settings.max_file_bytes)
    except NotAPdfError:
        # The input model checks the magic bytes already; this is the store's own guard agreeing with it.
        raise InvalidFieldError(
            f"documents.{position}.content_base64", "a PDF document (base64 of bytes starting with %PDF-)"
        ) from None
    except FileTooLargeError:
        raise PayloadTooLargeError(
            f"documents.{position}: a document may have at most {services.settings.max_file_bytes} bytes"
        ) from None
    return Document.model_validate({**base, "original_key": key, "size": stored.size, "sha256": stored.sha256})


def _signer(services: Services, request_id: str, position: int, body: NewRequest, *, now: datetime) -> Signer:
    signer = body.signers[position]
    evidence_keys: dict[IdImageKind, str] = {}
    if body.workflow.client_sends_id_images:
        for kind in IdImageKind:
            image = signer.id_image(kind)
            if image is None:
                continue
            media_type = id_image_media_type(image) or "image/jpeg"  # the input model accepts only JPEG and PNG
            key = keys.evidence_key(request_id, position, kind.value, _IMAGE_EXTENSIONS[media_type])
            services.files.store_bytes(
                key, image, expect_pdf=False, max_bytes=MAX_ID_IMAGE_BYTES, content_type=media_type
            )
            evidence_keys[kind] = key
    return Signer.model_validate(
        {
            "index": position,
            "name": signer.display_name,
            "email": signer.email,
            "phone": signer.phone,
            "given_name": signer.given_name,
            "first_surname": signer.first_surname,
            "second_surname": signer.second_surname,
            "id_number": signer.id_number,
            "id_document_type": signer.id_document_type,
            "id_document_country": signer.id_document_country,
            "language": signer.language,
            "status": INITIAL_SIGNER_STATUS,
            "status_since": now,
            "evidence_keys": evidence_keys,
        }
    )


# ------------------------------------------------------------------------------------------------ upload again


REOPEN_ATTEMPTS: Final = 2  # the first attempt, and one more after losing a race (an intake or a second call)


def reopen_upload(services: Services, request_id: str, index: int, *, correlation_id: str) -> Created:
    """A fresh presigned POST for document `index` of a draft, and the request as it stands.

    A `rejected` document moves back to `awaiting_upload` (its rejection reason cleared; the timeline keeps it and
    records the reopening); one still `awaiting_upload` (never arrived, or reopened already) just gets a new link, so
    calling again is harmless. Refused (`UploadClosedError`, 409) once the request has left `draft` or when the
    document's upload was accepted; `DocumentNotFoundError` (404) for an index the request does not have.
    """
    for attempt in range(1, REOPEN_ATTEMPTS + 1):
        step = Step.read(services, request_id, cause=Cause.API, correlation_id=correlation_id)
        aggregate = step.aggregate
        document = next((item for item in aggregate.documents if item.index == index), None)
        if document is None:
            raise DocumentNotFoundError(request_id, index)
        if aggregate.request.status is not RequestStatus.DRAFT:
            raise UploadClosedError(
                f"request {request_id} is {aggregate.request.status.value}: uploads are taken while it is a draft"
            )
        if document.status is DocumentStatus.REJECTED:
            try:
                aggregate = step.move_document(
                    index,
                    DocumentStatus.AWAITING_UPLOAD,
                    expected=DocumentStatus.REJECTED,
                    detail=f"document {index} may be uploaded again",
                    updates={"rejection_reason": None},
                    while_request=RequestStatus.DRAFT,
                )
            except ConcurrentUpdateError:
                if attempt == REOPEN_ATTEMPTS:
                    raise
                continue
            logger.info("upload reopened", extra={"request_id": request_id, "document": index})
        elif document.status is not DocumentStatus.AWAITING_UPLOAD:
            raise UploadClosedError(
                f"document {index} of request {request_id} is {document.status.value}: its upload was accepted"
            )
        return Created(aggregate, upload_links(services, aggregate, only=index), replayed=False)
    raise AssertionError("unreachable")  # the loop returns or raises


# ------------------------------------------------------------------------------------------------ read


def get_request(services: Services, request_id: str) -> RequestAggregate:
    return services.records.get_request(request_id)


def list_requests(
    services: Services,
    *,
    external_id: str | None,
    status: RequestStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[SignatureRequest]:
    """Requests with this `external_id` (newest first) or in this `status` (longest waiting first): exactly one."""
    if (external_id is None) == (status is None):
        raise InvalidQueryError("give exactly one filter: external_id or status")
    if external_id is not None:
        return services.records.list_by_external_id(external_id, limit=limit, cursor=cursor)
    assert status is not None
    return services.records.list_by_status(status, limit=limit, cursor=cursor)


# ------------------------------------------------------------------------------------------------ cancel


def cancel_request(services: Services, request_id: str, *, reason: str | None, correlation_id: str) -> Cancellation:
    """Move the request to `cancelled` and queue the removal of what the providers hold.

    Cancelling a cancelled request answers it as it is (and queues the removals again, which are no-ops when done,
    so a crash between the transition and the enqueue heals on the client's retry). A finished request, or one being
    signed, cannot be cancelled (`RequestNotCancellableError`).
    """
    for attempt in range(1, CANCEL_ATTEMPTS + 1):
        step = Step.read(services, request_id, cause=Cause.API, correlation_id=correlation_id)
        aggregate = step.aggregate
        request = aggregate.request
        if request.status is RequestStatus.CANCELLED:
            step.enqueue(_cancel_steps(aggregate, correlation_id))
            return Cancellation(aggregate, cancelled_now=False)
        if not may_transition(request.workflow, request.status, RequestStatus.CANCELLED):
            raise RequestNotCancellableError(request_id, request.status)
        try:
            cancelled = step.move_request(
                RequestStatus.CANCELLED,
                detail=f"cancelled by the client: {reason}" if reason else "cancelled by the client",
            )
        except ConcurrentUpdateError:
            if attempt == CANCEL_ATTEMPTS:
                raise
            logger.info("request moved while cancelling; reading it again", extra={"request_id": request_id})
            continue
        logger.info("request cancelled", extra={"request_id": request_id, "from_status": request.status.value})
        telemetry.request_finished(RequestStatus.CANCELLED.value)
        step.enqueue(_cancel_steps(aggregate, correlation_id))
        return Cancellation(cancelled, cancelled_now=True)
    raise AssertionError("unreachable")  # the loop returns or raises


def _cancel_steps(aggregate: RequestAggregate, correlation_id: str) -> list[OperationMessage]:
    """Removing the request's copies at the providers: the ZapSign document, and whatever the Optimizer holds."""
    request = aggregate.request
    steps = []
    if request.zapsign_doc_token is not None:
        steps.append(
            OperationMessage(op=Op.CANCEL_ZAPSIGN_DOCUMENT.value, request_id=request.id, correlation_id=correlation_id)
        )
    if any(signer.oneshot_request_pk is not None for signer in aggregate.signers):
        steps.append(
            OperationMessage(op=Op.CANCEL_ONESHOT_REQUEST.value, request_id=request.id, correlation_id=correlation_id)
        )
    return steps
