"""The ZapSign operations of the worker (docs/workflows.md, queue `zapsign-ops`).

Each operation reads the request (one Query), returns at once when the state says its work is done or no longer
wanted, calls ZapSign, records its result with one conditional write, then lets `progress.advance` plan what comes
next. Contract: `shared/contracts/zapsign.md` (sections cited as §n).

- `create_zapsign_document`: `POST docs/` with the first document, `upload-extra-doc/` for each other one. ZapSign's
  create is not idempotent (each call is a new document and a credit), so its intent is recorded first
  (`Document.zapsign_create_started_at` on document 0) and each token as soon as it arrives; a retry resumes with
  what is missing. An uncertain create is resolved by looking in the request's own ZapSign folder.
- `sync_zapsign_document`: `GET docs/{token}/` is the truth (a webhook is only a hint) → signer sub-statuses, and the
  request `zapsign_pending → zapsign_signed | refused | cancelled`.
- `archive_zapsign_document`: a fresh link (they last 60 minutes, §3.2), streamed to S3.
- `archive_zapsign_evidence`: `zapsign_oneshot` only, the signer's ID photos and selfie, streamed to S3.
- `cancel_zapsign_document`: `POST refuse/` for a request that ended before it was signed.

Nothing here logs personal data or provider tokens: log lines carry the request id, indexes and statuses.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from functools import partial
from typing import Any, Final

from aws_lambda_powertools import Logger

from signbridge import telemetry
from signbridge.domain import keys
from signbridge.domain.changes import DocumentChange, Lookup, SignerChange
from signbridge.domain.errors import FileTooLargeError, NotAPdfError
from signbridge.domain.files import FileStream, StoredFile
from signbridge.domain.lifecycle import is_terminal, may_transition_signer
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    ZAPSIGN_STAGE,
    Cause,
    Document,
    DocumentStatus,
    IdImageKind,
    Language,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    Signer,
    SignerStatus,
    Workflow,
)
from signbridge.domain.operations import Op
from signbridge.domain.phone import InvalidPhoneError, split_e164
from signbridge.domain.provider_errors import PermanentError, RetryableError, UncertainOutcomeError
from signbridge.domain.validation import MAX_ID_IMAGE_BYTES, PNG_MAGIC, id_image_media_type
from signbridge.domain.zapsign import (
    PROVIDER,
    MetadataItem,
    NewDocument,
    NewSigner,
    ZapSignDocument,
    ZapSignExtraDocument,
    ZapSignSigner,
)
from signbridge.workflow import progress
from signbridge.workflow.planner import final_key
from signbridge.workflow.ports import ZapSignClient
from signbridge.workflow.services import Operation, Services

logger = Logger(child=True)

R = RequestStatus
D = DocumentStatus
S = SignerStatus

MIB: Final = 1024 * 1024
ZAPSIGN_MAX_PDF_BYTES: Final = 10 * MIB  # §3.1: "max 10 MB" per PDF
# How long a create's outcome may stay unknown before the request fails instead of risking a second document. The
# list is cached "60 seconds" (§3.3; a warning box says "60 minutes"): 10 minutes gives the 60-second reading many
# retries, without holding a request for an hour.
CREATE_RESOLUTION_WINDOW: Final = timedelta(minutes=10)
LIST_RETRY_SECONDS: Final = 60.0  # §3.3: a new document may take up to about a minute to appear in the list
MAX_FOLDER_CANDIDATES: Final = 5  # Detail calls spent checking list items; our folder normally holds one document
# `rejected_reason` of a cancel (§3.6): ZapSign shows it with the document, so in the document's language.
CANCEL_REASONS: Final = {
    Language.PT_BR: "Cancelado pelo remetente",
    Language.ES: "Cancelado por el remitente",
    Language.EN: "Cancelled by the sender",
}
# Hints whose event can change what SignBridge records (signer opened/signed, document signed/refused/deleted). The
# others (read confirmation, notification sent, expiration alert, …) are acknowledged without a Detail call, which
# keeps ZapSign calls at one per relevant webhook (design.md "What a request should cost").
RELEVANT_HINTS: Final = frozenset({"doc_signed", "doc_refused", "doc_deleted", "doc_viewed"})


def zapsign_folder(request_id: str) -> str:
    """The request's own ZapSign folder: a document whose create had an uncertain outcome is found there again."""
    return f"/signbridge/{request_id}/"


def zapsign_signer_external_id(request_id: str, signer_index: int) -> str:
    return f"{request_id}:{signer_index}"


class _StepFailedError(Exception):
    """The request must fail with `reason` (for people; no personal data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ------------------------------------------------------------------------------------------------ create


def create_zapsign_document(services: Services, message: OperationMessage) -> None:
    request_id = _request_id(message)
    aggregate = services.records.get_request(request_id)
    request = aggregate.request
    if request.status is not R.SUBMITTED or not request.workflow.uses_zapsign:
        _cancel_orphan(services, aggregate, message.correlation_id)
        logger.info("nothing to create", extra={"request_id": request_id, "status": request.status.value})
        return
    try:
        _check_sizes(services, aggregate)
        pending = _create_or_resume(services, aggregate, services.zapsign())
    except (_StepFailedError, PermanentError) as error:
        reason = error.reason if isinstance(error, _StepFailedError) else _refusal(error)
        _fail(services, request_id, reason, message.correlation_id)
        # The main document may exist (an extra document was refused, say): withdraw it, so signers are not left
        # with a document that will never complete.
        _cancel_orphan(services, services.records.get_request(request_id), message.correlation_id)
        return
    services.records.transition(
        request_id,
        R.ZAPSIGN_PENDING,
        expected_version=request.version,
        expected_status=R.SUBMITTED,
        workflow=request.workflow,
        cause=Cause.WORKER,
        correlation_id=message.correlation_id,
        detail=f"ZapSign document created ({len(aggregate.documents)} PDF(s), {len(aggregate.signers)} signer(s))",
        extra_updates={"zapsign_doc_token": pending.main_token},
        lookups=[
            Lookup.zapsign_doc(pending.main_token),
            *(Lookup.zapsign_doc(token, document=index) for index, token in pending.extra_tokens.items()),
        ],
        document_changes=[
            DocumentChange(
                document.index,
                D.RECEIVED,
                D.ZAPSIGN_PENDING,
                {
                    "zapsign_doc_token": pending.token_of(document.index),
                    "zapsign_is_extra": document.index != 0,
                },
            )
            for document in aggregate.documents
        ],
        signer_changes=pending.signer_changes,
    )
    logger.info("ZapSign document created", extra={"request_id": request_id, "documents": len(aggregate.documents)})
    progress.advance(services, request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)


class _Created:
    """What the create step learned: the main token, the extra tokens by document index, the signers' links."""

    def __init__(self, main_token: str, extra_tokens: dict[int, str], signer_changes: list[SignerChange]) -> None:
        self.main_token = main_token
        self.extra_tokens = extra_tokens
        self.signer_changes = signer_changes

    def token_of(self, index: int) -> str:
        return self.main_token if index == 0 else self.extra_tokens[index]


def _check_sizes(services: Services, aggregate: RequestAggregate) -> None:
    for document in aggregate.documents:
        size = document.size
        if size is None and document.original_key is not None:
            size = services.files.head(document.original_key).size
        if size is not None and size > ZAPSIGN_MAX_PDF_BYTES:
            raise _StepFailedError(
                f"document {document.index} '{document.name}' has {size} bytes: ZapSign accepts PDFs of at most "
                f"{ZAPSIGN_MAX_PDF_BYTES} bytes (10 MB)"
            )


def _create_or_resume(services: Services, aggregate: RequestAggregate, client: ZapSignClient) -> _Created:
    request = aggregate.request
    main = aggregate.document(0)
    main_token = main.zapsign_doc_token
    if main_token is None:
        detail = _create_main_document(services, aggregate, client)
        main_token = detail.token
        _record_token(services, request.id, main, main_token)
    else:
        # Resuming: one Detail gives the signers' links and the extra documents ZapSign already holds (a crash
        # after an upload-extra-doc call, before its token was recorded).
        detail = _get_main(client, main_token)
    extra_tokens = {doc.index: doc.zapsign_doc_token for doc in aggregate.documents[1:] if doc.zapsign_doc_token}
    missing = [doc for doc in aggregate.documents[1:] if doc.zapsign_doc_token is None]
    missing = _adopt_extra_documents(services, request.id, detail, missing, extra_tokens)
    for document in missing:
        token = _add_extra_document(services, client, main_token, document)
        _record_token(services, request.id, document, token)
        extra_tokens[document.index] = token
    # Adding extra documents does not change the signers: the links read with the main document stay right.
    return _Created(main_token, extra_tokens, _signer_links(aggregate, detail))


def _create_main_document(services: Services, aggregate: RequestAggregate, client: ZapSignClient) -> ZapSignDocument:
    """`POST docs/` once: intent recorded before, an uncertain outcome resolved from the request's folder."""
    request = aggregate.request
    main = aggregate.document(0)
    if main.zapsign_create_started_at is not None:
        # An earlier attempt may have created it: look before creating again.
        found = _find_created_document(client, request.id)
        if found is not None:
            logger.info("adopted the document an earlier create made", extra={"request_id": request.id})
            return found
        if services.clock() - main.zapsign_create_started_at < CREATE_RESOLUTION_WINDOW:
            raise RetryableError(
                PROVIDER,
                "create_document",
                "an earlier create's outcome is unknown and the list does not show its document yet",
                retry_after=LIST_RETRY_SECONDS,
            )
        raise _StepFailedError(
            f"ZapSign create outcome unknown: no document in ZapSign folder {zapsign_folder(request.id)} "
            f"{int(CREATE_RESOLUTION_WINDOW.total_seconds() // 60)} minutes after the attempt; check ZapSign before "
            "creating this request again"
        )
    new_document = _new_document(services, aggregate)
    services.records.update_document(
        request.id,
        main.index,
        expected_status=D.RECEIVED,
        updates={"zapsign_create_started_at": services.clock()},
        request_status=R.SUBMITTED,
    )
    try:
        return client.create_document(new_document)
    except UncertainOutcomeError as error:
        logger.warning(
            "ZapSign create outcome uncertain; looking in the request's folder",
            extra={"request_id": request.id, "provider_message": error.message, "status": error.status},
        )
        found = _find_created_document(client, request.id)
        if found is not None:
            return found
        raise RetryableError(
            PROVIDER, "create_document", f"outcome uncertain ({error.message})", retry_after=LIST_RETRY_SECONDS
        ) from error
    except RetryableError:
        # Never reached ZapSign (no connection) or refused before acting (429): nothing was created, so the next
        # attempt may create without looking first.
        services.records.update_document(
            request.id,
            main.index,
            expected_status=D.RECEIVED,
            updates={"zapsign_create_started_at": None},
            request_status=R.SUBMITTED,
        )
        raise


def _find_created_document(client: ZapSignClient, request_id: str) -> ZapSignDocument | None:
    """The document an uncertain create made, if ZapSign's list already shows it.

    GUESS (contracts/zapsign.md §3.3): `folder_path` filters the list on that folder. Each candidate is confirmed by
    its Detail (`external_id` is our request id), so a filter ZapSign ignored can never make us adopt another
    request's document.
    """
    folder = zapsign_folder(request_id)
    listing = client.list_documents(folder_path=folder, sort_order="desc")
    candidates = [
        item
        for item in listing.results
        if item.external_id in (None, request_id)
        and (item.folder_path is None or _same_folder(item.folder_path, folder))
    ]
    if len(candidates) > 1:
        logger.warning("several ZapSign documents in the request's folder", extra={"request_id": request_id})
    for item in candidates[:MAX_FOLDER_CANDIDATES]:
        detail = client.get_document(item.token)
        if isinstance(detail, ZapSignDocument) and detail.external_id == request_id:
            return detail
    return None


def _same_folder(left: str, right: str) -> bool:
    return [part for part in left.split("/") if part] == [part for part in right.split("/") if part]


def _new_document(services: Services, aggregate: RequestAggregate) -> NewDocument:
    request = aggregate.request
    main = aggregate.document(0)
    signers = [_new_signer(request, signer) for signer in aggregate.signers]
    metadata = [MetadataItem(key=key, value=value) for key, value in request.metadata.items()]
    return NewDocument.from_pdf(
        main.name,
        _read_original(services, main),
        signers,
        external_id=request.id,
        lang=_language(aggregate),
        date_limit_to_sign=request.deadline,
        metadata=metadata or None,
        folder_path=zapsign_folder(request.id),
    )


def _new_signer(request: SignatureRequest, signer: Signer) -> NewSigner:
    try:
        phone = split_e164(signer.phone) if signer.phone else None
    except InvalidPhoneError as error:
        raise _StepFailedError(f"signer {signer.index}: {error}") from None
    collects_evidence = request.workflow is Workflow.ZAPSIGN_ONESHOT
    return NewSigner(
        name=signer.name,
        email=signer.email,
        phone_country=phone.country_code if phone else None,
        phone_number=phone.national_number if phone else None,
        send_automatic_email=True if signer.email else None,
        # zapsign_oneshot: ZapSign collects the ID evidence One-Shot needs (design.md, "What a user gets").
        require_document_photo=True if collects_evidence else None,
        require_selfie_photo=True if collects_evidence else None,
        external_id=zapsign_signer_external_id(request.id, signer.index),
    )


def _language(aggregate: RequestAggregate) -> str:
    """ZapSign speaks one language per document (§3.1 `lang`): the signers' own when they all chose the same one,
    else the request's."""
    chosen = {signer.language for signer in aggregate.signers}
    if len(chosen) == 1 and None not in chosen:
        language = chosen.pop()
        assert language is not None
        return language.value
    return aggregate.request.language.value


def _read_original(services: Services, document: Document) -> bytes:
    if document.original_key is None:
        raise _StepFailedError(f"document {document.index} '{document.name}' has no stored original")
    # base64_pdf needs the whole file in one JSON body; _check_sizes capped it at 10 MB first (checked again here:
    # the count is what was read, not what was recorded).
    chunks: list[bytes] = []
    size = 0
    with services.files.open_stream(document.original_key) as stream:
        for chunk in stream.iter_chunks():
            size += len(chunk)
            if size > ZAPSIGN_MAX_PDF_BYTES:
                raise _StepFailedError(f"document {document.index} '{document.name}' is larger than ZapSign's 10 MB")
            chunks.append(chunk)
    return b"".join(chunks)


def _record_token(services: Services, request_id: str, document: Document, token: str) -> None:
    """The token as soon as it exists, so a retry resumes instead of creating again."""
    services.records.update_document(
        request_id,
        document.index,
        expected_status=D.RECEIVED,
        updates={"zapsign_doc_token": token, "zapsign_is_extra": document.index != 0},
        request_status=R.SUBMITTED,
    )


def _get_main(client: ZapSignClient, token: str) -> ZapSignDocument:
    detail = client.get_document(token)
    if isinstance(detail, ZapSignExtraDocument):
        raise PermanentError(PROVIDER, "get_document", "the recorded main token names an extra document")
    return detail


def _adopt_extra_documents(
    services: Services,
    request_id: str,
    detail: ZapSignDocument,
    missing: list[Document],
    extra_tokens: dict[int, str],
) -> list[Document]:
    """Record the extra documents ZapSign holds but we did not record; return those still missing.

    Extra documents are added one at a time in document order, each only after the previous token was recorded, so
    document n is ZapSign's (n-1)-th extra document (`extra_docs` lists them in the order they were added: GUESS,
    contracts/zapsign.md §3.2 shows a list without saying its order).
    """
    still_missing = []
    for document in missing:
        position = document.index - 1
        if position < len(detail.extra_docs):
            token = detail.extra_docs[position].token
            _record_token(services, request_id, document, token)
            extra_tokens[document.index] = token
            logger.info("adopted an extra document added earlier", extra={"request_id": request_id})
        else:
            still_missing.append(document)
    return still_missing


def _add_extra_document(services: Services, client: ZapSignClient, main_token: str, document: Document) -> str:
    pdf = _read_original(services, document)
    try:
        return client.add_extra_document(main_token, name=document.name, pdf=pdf).token
    except UncertainOutcomeError as error:
        detail = _get_main(client, main_token)
        position = document.index - 1
        if position < len(detail.extra_docs):
            return detail.extra_docs[position].token
        raise RetryableError(
            PROVIDER, "add_extra_document", f"outcome uncertain ({error.message}); not listed yet"
        ) from error


def _signer_links(aggregate: RequestAggregate, detail: ZapSignDocument) -> list[SignerChange]:
    """Each of our signers with their ZapSign signer token and `sign_url`, matched by the external id we sent."""
    by_external_id = {signer.external_id: signer for signer in detail.signers if signer.external_id}
    if len(detail.signers) != len(aggregate.signers):
        raise _StepFailedError(
            f"the ZapSign document has {len(detail.signers)} signer(s) where the request has {len(aggregate.signers)}"
        )
    changes = []
    for position, signer in enumerate(aggregate.signers):
        external_id = zapsign_signer_external_id(aggregate.request.id, signer.index)
        match = by_external_id.get(external_id) or detail.signers[position]  # ZapSign keeps the order we sent
        changes.append(
            SignerChange(
                signer.index,
                signer.status,
                None,
                {"zapsign_signer_token": match.token, "sign_url": match.sign_url},
            )
        )
    return changes


# ------------------------------------------------------------------------------------------------ sync


def sync_zapsign_document(services: Services, message: OperationMessage) -> None:
    hint = message.payload
    event_type = hint.get("event_type") if isinstance(hint.get("event_type"), str) else None
    cause = Cause.WEBHOOK if event_type is not None else Cause.WORKER
    request_id = message.request_id
    if request_id is None:
        doc_token = hint.get("doc_token")
        if not isinstance(doc_token, str) or not doc_token:
            logger.warning("hint without a document token: ignored", extra={"event_type": event_type})
            return
        target = services.records.find_by_zapsign_doc_token(doc_token)
        if target is None:
            # Not ours (another system on the same ZapSign account), or created a moment ago and not yet recorded:
            # the reconciler reads ZapSign for requests that wait too long.
            logger.info("hint for an unknown ZapSign document: ignored", extra={"event_type": event_type})
            return
        request_id = target.request_id
    if event_type is not None and event_type not in RELEVANT_HINTS:
        logger.info("hint needs no action", extra={"request_id": request_id, "event_type": event_type})
        return
    aggregate = services.records.get_request(request_id)
    request = aggregate.request
    if request.status is not R.ZAPSIGN_PENDING:
        # A late or duplicate hint (an old doc_signed after completed): nothing changes, ZapSign is not called.
        logger.info("not waiting on ZapSign: nothing to sync", extra={"request_id": request_id})
        return
    main_token = request.zapsign_doc_token or aggregate.document(0).zapsign_doc_token
    if main_token is None:
        logger.warning("no ZapSign token recorded: nothing to sync", extra={"request_id": request_id})
        return
    detail = _get_main(services.zapsign(), main_token)
    _apply_detail(services, aggregate, detail, cause=cause, correlation_id=message.correlation_id)
    progress.advance(
        services,
        request_id,
        cause=cause,
        correlation_id=message.correlation_id,
        payloads=_link_payloads(aggregate, detail) if detail.is_signed else None,
    )


def _link_payloads(aggregate: RequestAggregate, detail: ZapSignDocument) -> dict[progress.StepKey, dict[str, Any]]:
    """The file and photo links of the read that found the document signed, for the archive steps it causes: they
    last an hour (§3.2), so the archive steps need not read the document again (design.md, "What a request should
    cost": one detail per doc_signed). A step whose link has expired reads a fresh one."""
    extra_links = {extra.token: extra.signed_file for extra in detail.extra_docs}
    payloads: dict[progress.StepKey, dict[str, Any]] = {}
    for document in aggregate.documents:
        token = document.zapsign_doc_token
        link = detail.signed_file if token == detail.token else extra_links.get(token or "")
        if link:
            payloads[(Op.ARCHIVE_ZAPSIGN_DOCUMENT, None, document.index)] = {"file_url": link}
    if aggregate.request.workflow is Workflow.ZAPSIGN_ONESHOT:
        for signer in aggregate.signers:
            remote = detail.signer(signer.zapsign_signer_token or "")
            urls = {kind.value: url for kind in IdImageKind if (url := _evidence_url(remote, kind))}
            if urls:
                payloads[(Op.ARCHIVE_ZAPSIGN_EVIDENCE, signer.index, None)] = {"photo_urls": urls}
    return payloads


_SIGNER_RANK: Final = {
    S.PENDING: 0,
    S.LINK_OPENED: 1,
    S.SIGNED: 2,
    S.ZAPSIGN_SIGNED: 2,
    S.REFUSED: 2,
}


def _apply_detail(
    services: Services, aggregate: RequestAggregate, detail: ZapSignDocument, *, cause: Cause, correlation_id: str
) -> None:
    request = aggregate.request
    signed_status = S.SIGNED if request.workflow is Workflow.ZAPSIGN else S.ZAPSIGN_SIGNED
    moves = _signer_moves(aggregate, detail, signed_status)

    def move_request(to: RequestStatus, detail_text: str, changes: Sequence[SignerChange], **updates: object) -> None:
        services.records.transition(
            request.id,
            to,
            expected_version=request.version,
            expected_status=request.status,
            workflow=request.workflow,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail_text,
            extra_updates=updates,
            signer_changes=changes,
        )
        logger.info("request moved after reading ZapSign", extra={"request_id": request.id, "to_status": to.value})
        if is_terminal(to):
            telemetry.request_finished(to.value)

    if detail.deleted:
        # We did not cancel (the request would not be zapsign_pending): someone deleted it at ZapSign.
        move_request(R.CANCELLED, "the ZapSign document was deleted at ZapSign", ())
        return
    if detail.is_refused:
        refusers = [change for change in moves if change.to is S.REFUSED]
        who = ", ".join(str(change.index) for change in refusers)
        text = f"refused at ZapSign by signer {who}" if refusers else "refused at ZapSign"
        move_request(R.REFUSED, text, refusers, refusal_reason=detail.rejected_reason or None)
        return
    if detail.is_signed:
        changes = [
            SignerChange(signer.index, signer.status, signed_status)
            for signer in aggregate.signers
            if _SIGNER_RANK.get(signer.status, 3) < 2
        ]
        move_request(R.ZAPSIGN_SIGNED, "every signer signed at ZapSign", changes)
        return
    for change in moves:
        if change.to is S.REFUSED:
            continue  # the document is not refused (yet): wait for ZapSign to say so
        assert change.to is not None
        services.records.transition_signer(
            request.id,
            change.index,
            change.to,
            workflow=request.workflow,
            expected_status=change.expected_status,
            cause=cause,
            correlation_id=correlation_id,
            detail=f"ZapSign: signer {change.index} {change.to.value.replace('_', ' ')}",
            request_status=R.ZAPSIGN_PENDING,
        )


def _signer_moves(
    aggregate: RequestAggregate, detail: ZapSignDocument, signed_status: SignerStatus
) -> list[SignerChange]:
    """Forward moves of our signers that ZapSign's signer statuses show (a status never moves back)."""
    moves = []
    workflow = aggregate.request.workflow
    for signer in aggregate.signers:
        if signer.zapsign_signer_token is None:
            continue
        remote = detail.signer(signer.zapsign_signer_token)
        if remote is None:
            continue
        target = _remote_status(remote, signed_status)
        if target is None or _SIGNER_RANK[target] <= _SIGNER_RANK.get(signer.status, 3):
            continue
        if may_transition_signer(workflow, signer.status, target):
            moves.append(SignerChange(signer.index, signer.status, target))
    return moves


def _remote_status(remote: ZapSignSigner, signed_status: SignerStatus) -> SignerStatus | None:
    if remote.has_signed:
        return signed_status
    if remote.has_refused:
        return S.REFUSED
    if remote.has_opened_link:
        return S.LINK_OPENED
    return None


# ------------------------------------------------------------------------------------------------ archive


def archive_zapsign_document(services: Services, message: OperationMessage) -> None:
    request_id = _request_id(message)
    if message.document is None:
        raise ValueError("archive_zapsign_document needs a document index")
    aggregate = services.records.get_request(request_id)
    request = aggregate.request
    document = aggregate.document(message.document)
    if request.status is not R.ZAPSIGN_SIGNED or document.status is not D.ZAPSIGN_PENDING:
        logger.info("nothing to archive", extra={"request_id": request_id, "document_status": document.status.value})
        return
    token = document.zapsign_doc_token
    if token is None:
        _fail(services, request_id, f"document {document.index} has no ZapSign token", message.correlation_id)
        return
    client = services.zapsign()

    def fresh_signed_file_link() -> str | None:
        # ZapSign's links last 60 minutes (§3.2). An extra-doc token answers the short body.
        return client.get_document(token).signed_file

    given = message.payload.get("file_url")
    signed_file_link = _first_then_fresh(given if isinstance(given, str) else None, fresh_signed_file_link)

    key = keys.signed_key(request_id, document.index, ZAPSIGN_STAGE)
    try:
        stored = _download(
            services,
            signed_file_link,
            lambda stream: services.files.store_stream(
                key, stream.chunks, expect_pdf=True, max_bytes=services.settings.max_file_bytes
            ),
            operation="download_signed_file",
        )
    except NotAPdfError:
        _fail(
            services,
            request_id,
            f"ZapSign's signed file of document {document.index} is not a PDF",
            message.correlation_id,
        )
        return
    except FileTooLargeError:
        reason = f"ZapSign's signed file of document {document.index} exceeds {services.settings.max_file_bytes} bytes"
        _fail(services, request_id, reason, message.correlation_id)
        return
    signed_keys = {**document.signed_keys, ZAPSIGN_STAGE: key}
    updates: dict[str, object] = {
        "signed_keys": signed_keys,
        "signed_sha256": {**document.signed_sha256, ZAPSIGN_STAGE: stored.sha256},
    }
    if request.workflow is Workflow.ZAPSIGN:
        target = D.ARCHIVED
        updates["final_key"] = final_key(
            request.workflow, document.model_copy(update={"signed_keys": signed_keys}), len(aggregate.signers)
        )
    else:
        target = D.ZAPSIGN_SIGNED  # the input of the One-Shot part
    progress.move_document_and_advance(
        services,
        aggregate,
        DocumentChange(document.index, D.ZAPSIGN_PENDING, target, updates),
        cause=Cause.WORKER,
        correlation_id=message.correlation_id,
        detail=f"ZapSign-signed PDF stored ({stored.size} bytes)",
        request_status=R.ZAPSIGN_SIGNED,
    )


class _LinkNotReadyError(RetryableError):
    """ZapSign has no link for the file yet (e.g. `signed_file` still null right after the last signature)."""


def _download(
    services: Services,
    fresh_link: Callable[[], str | None],
    store: Callable[[FileStream], StoredFile],
    *,
    operation: str,
) -> StoredFile:
    """Stream a ZapSign file link into S3. An expired link (403) is fetched afresh once; a second 403 is retried
    later."""
    settings = services.settings
    for attempt in (1, 2):
        url = fresh_link()
        if not url:
            raise _LinkNotReadyError(PROVIDER, operation, "ZapSign gives no link for the file yet")
        try:
            with services.downloads().open(
                url,
                allowed_hosts=settings.zapsign_file_hosts,
                allow_loopback_http=settings.allow_loopback_http,
                max_bytes=settings.max_file_bytes,
                provider=PROVIDER,
                operation=operation,
            ) as stream:
                return store(stream)
        except PermanentError as error:
            if error.status != 403:
                raise
            if attempt == 2:
                raise RetryableError(PROVIDER, operation, "file link refused twice (403)", status=403) from error
            logger.info("file link expired; fetching a fresh one", extra={"operation": operation})
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------------------------------ evidence


def archive_zapsign_evidence(services: Services, message: OperationMessage) -> None:
    request_id = _request_id(message)
    if message.signer is None:
        raise ValueError("archive_zapsign_evidence needs a signer index")
    aggregate = services.records.get_request(request_id)
    request = aggregate.request
    signer = aggregate.signer(message.signer)
    wanted = [kind for kind in IdImageKind if kind not in signer.evidence_keys]
    if request.workflow is not Workflow.ZAPSIGN_ONESHOT or request.status is not R.ZAPSIGN_SIGNED or not wanted:
        logger.info("no evidence to archive", extra={"request_id": request_id, "signer": signer.index})
        return
    main_token = request.zapsign_doc_token
    if main_token is None or signer.zapsign_signer_token is None:
        _fail(services, request_id, f"signer {signer.index} has no ZapSign record", message.correlation_id)
        return
    client = services.zapsign()
    signer_token = signer.zapsign_signer_token

    def remote_signer() -> ZapSignSigner | None:
        return _get_main(client, main_token).signer(signer_token)

    given = message.payload.get("photo_urls")
    given_urls = {kind: given.get(kind.value) for kind in wanted} if isinstance(given, dict) else {}
    if all(isinstance(url, str) and url for url in given_urls.values()) and given_urls:
        urls: dict[IdImageKind, str | None] = dict(given_urls)  # from the sync step's read, less than an hour old
    else:
        first = remote_signer()
        urls = {kind: _evidence_url(first, kind) for kind in wanted}
    missing = [kind.value for kind in wanted if not urls[kind]]
    if missing:
        # Names the kind of evidence, never the person.
        reason = f"ZapSign holds no {', '.join(missing)} photo for signer {signer.index}"
        _fail(services, request_id, reason, message.correlation_id)
        return
    evidence = dict(signer.evidence_keys)
    for kind in wanted:
        try:
            stored = _download(
                services,
                _first_then_fresh(urls[kind], partial(_read_evidence_url, remote_signer, kind)),
                partial(_store_image, services, request_id, signer.index, kind),
                operation="download_evidence",
            )
        except (_NotAnImageError, FileTooLargeError) as error:
            problem = "is not a JPEG or PNG" if isinstance(error, _NotAnImageError) else "is too large"
            _fail(
                services,
                request_id,
                f"ZapSign's {kind.value} photo of signer {signer.index} {problem}",
                message.correlation_id,
            )
            return
        evidence[kind] = stored.key
    services.records.update_signer(
        request_id,
        signer.index,
        expected_status=signer.status,
        updates={"evidence_keys": evidence},
        request_status=R.ZAPSIGN_SIGNED,
    )
    logger.info("evidence stored", extra={"request_id": request_id, "signer": signer.index, "images": len(wanted)})
    progress.advance(services, request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)


class _NotAnImageError(Exception):
    """A downloaded evidence image does not start with JPEG or PNG magic bytes; nothing was stored."""


def _evidence_url(remote: ZapSignSigner | None, kind: IdImageKind) -> str | None:
    if remote is None:
        return None
    return {
        IdImageKind.DOCUMENT_FRONT: remote.document_photo_url,
        IdImageKind.DOCUMENT_REAR: remote.document_verse_photo_url,
        IdImageKind.DOCUMENT_OWNER: remote.selfie_photo_url,
    }[kind]


def _read_evidence_url(remote_signer: Callable[[], ZapSignSigner | None], kind: IdImageKind) -> str | None:
    return _evidence_url(remote_signer(), kind)


def _first_then_fresh(first: str | None, fresh: Callable[[], str | None]) -> Callable[[], str | None]:
    """A link source for `_download`: the link already read, then a freshly read one (after a 403)."""
    unused = [first]

    def link() -> str | None:
        return unused.pop() if unused else fresh()

    return link


def _store_image(
    services: Services, request_id: str, signer_index: int, kind: IdImageKind, stream: FileStream
) -> StoredFile:
    """Check the magic bytes on the first chunks, then stream the image to its key (extension from the format)."""
    chunks: Iterator[bytes] = iter(stream.chunks)
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size >= len(PNG_MAGIC):
            break
    media_type = id_image_media_type(b"".join(head))
    if media_type is None:
        raise _NotAnImageError(kind.value)
    extension = "png" if media_type == "image/png" else "jpg"
    key = keys.evidence_key(request_id, signer_index, kind.value, extension)
    return services.files.store_stream(
        key,
        itertools.chain(head, chunks),
        expect_pdf=False,
        max_bytes=min(MAX_ID_IMAGE_BYTES, services.settings.max_file_bytes),
        content_type=media_type,
    )


# ------------------------------------------------------------------------------------------------ cancel


def cancel_zapsign_document(services: Services, message: OperationMessage) -> None:
    request_id = _request_id(message)
    aggregate = services.records.get_request(request_id)
    request = aggregate.request
    if request.status not in (R.CANCELLED, R.EXPIRED, R.FAILED):
        logger.info("request not ended: nothing to cancel", extra={"request_id": request_id})
        return
    token = request.zapsign_doc_token or aggregate.document(0).zapsign_doc_token
    if token is None:
        logger.info("no ZapSign document to cancel", extra={"request_id": request_id})
        return
    reason = message.payload.get("reason")
    rejected_reason = reason if isinstance(reason, str) and reason else CANCEL_REASONS[Language(_language(aggregate))]
    try:
        outcome = services.zapsign().cancel_document(token, rejected_reason)
    except PermanentError as error:
        # Signed, deleted or unknown at ZapSign: there is nothing left to withdraw there.
        finished = ("document_already_signed", "refuse_not_allowed", "document_not_found")
        if error.status in (403, 404) and any(code in error.raw_body for code in finished):
            logger.info("ZapSign document already finished", extra={"request_id": request_id, "status": error.status})
            return
        raise
    logger.info("ZapSign document cancelled", extra={"request_id": request_id, "outcome": outcome})
    progress.advance(services, request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)


def _cancel_orphan(services: Services, aggregate: RequestAggregate, correlation_id: str) -> None:
    """A request that ended while its ZapSign document was being created (cancelled meanwhile, or failed): the API's
    cancel did not know the token yet, so withdraw the document here."""
    request = aggregate.request
    if request.status not in (R.CANCELLED, R.EXPIRED, R.FAILED) or request.zapsign_doc_token is not None:
        return
    if not aggregate.documents or aggregate.document(0).zapsign_doc_token is None:
        return
    cancel = OperationMessage(op=Op.CANCEL_ZAPSIGN_DOCUMENT.value, request_id=request.id, correlation_id=correlation_id)
    progress.enqueue(services, [cancel])


# ------------------------------------------------------------------------------------------------ helpers


def _request_id(message: OperationMessage) -> str:
    if message.request_id is None:
        raise ValueError(f"{message.op} needs a request id")
    return message.request_id


def _refusal(error: PermanentError) -> str:
    return f"{error.provider} {error.operation} refused: {error.message}"


def _fail(services: Services, request_id: str, reason: str, correlation_id: str) -> None:
    progress.fail_request(services, request_id, reason, cause=Cause.WORKER, correlation_id=correlation_id)


OPERATIONS: dict[Op, Operation] = {
    Op.CREATE_ZAPSIGN_DOCUMENT: create_zapsign_document,
    Op.SYNC_ZAPSIGN_DOCUMENT: sync_zapsign_document,
    Op.ARCHIVE_ZAPSIGN_DOCUMENT: archive_zapsign_document,
    Op.ARCHIVE_ZAPSIGN_EVIDENCE: archive_zapsign_evidence,
    Op.CANCEL_ZAPSIGN_DOCUMENT: cancel_zapsign_document,
}
"""The zapsign operations of the worker (see docs/workflows.md)."""
