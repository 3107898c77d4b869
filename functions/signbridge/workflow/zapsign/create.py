"""`create_zapsign_document`: `POST docs/` with the first document, `upload-extra-doc/` for each other one.

ZapSign's create is not idempotent (each call is a new document and a credit), so its intent is recorded first
(`Document.zapsign_create_started_at` on document 0) and each token as soon as it arrives; a retry resumes with what
is missing. An uncertain create is resolved by looking in the request's own ZapSign folder; when the folder stays empty
for `CREATE_RESOLUTION_WINDOW`, the create did not happen and is made again (never a failed request for a create
ZapSign never saw). A 429 or a connection never made is retried at once: nothing was created.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from aws_lambda_powertools import Logger

from signbridge.domain.changes import DocumentChange, Lookup, SignerChange
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    Cause,
    Document,
    DocumentStatus,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    Signer,
    Workflow,
)
from signbridge.domain.phone import InvalidPhoneError, split_e164
from signbridge.domain.provider_errors import PermanentError, RetryableError, UncertainOutcomeError
from signbridge.domain.zapsign import PROVIDER, MetadataItem, NewDocument, NewSigner, ZapSignDocument
from signbridge.workflow.ports import ZapSignClient
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step
from signbridge.workflow.zapsign.cancel import cancel_orphan
from signbridge.workflow.zapsign.common import get_main, language_of, refusal, request_id_of

logger = Logger(child=True)
R = RequestStatus
D = DocumentStatus


MIB: Final = 1024 * 1024
ZAPSIGN_MAX_PDF_BYTES: Final = 10 * MIB  # §3.1: "max 10 MB" per PDF


# How long a create's outcome is looked for in the request's folder before it counts as not done (and the document is
# created then). The list is cached "60 seconds" (§3.3; a warning box says "60 minutes"): 10 minutes gives the
# 60-second reading many retries, without holding a request for an hour. The residual risk (a list that lagged longer
# than the window: a second document, one more credit) is accepted over failing a request ZapSign never saw; a second
# document would show as "several ZapSign documents in the request's folder" in the log, and the unused one expires
# at its `date_limit_to_sign`.
CREATE_RESOLUTION_WINDOW: Final = timedelta(minutes=10)


LIST_RETRY_SECONDS: Final = 60.0  # §3.3: a new document may take up to about a minute to appear in the list


def list_retry_seconds(intent_age: timedelta) -> float:
    """When to look in the folder again, `intent_age` after the create's intent: after a minute (a new document shows
    within about a minute), then once more when `CREATE_RESOLUTION_WINDOW` has passed. Three deliveries of the message
    (the uncertain answer, a minute, the window's end), leaving two of the queues' `maxReceiveCount` of 5 for other
    failures: a message retried once a minute through the whole window would end in the dead-letter queue halfway."""
    if intent_age < timedelta(seconds=LIST_RETRY_SECONDS):
        return LIST_RETRY_SECONDS
    return max(LIST_RETRY_SECONDS, (CREATE_RESOLUTION_WINDOW - intent_age).total_seconds())


MAX_FOLDER_CANDIDATES: Final = 5  # Detail calls spent checking list items; our folder normally holds one document


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


def create_zapsign_document(services: Services, message: OperationMessage) -> None:
    request_id = request_id_of(message)
    step = Step.read(services, request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)
    aggregate = step.aggregate
    request = aggregate.request
    if request.status is not R.SUBMITTED or not request.workflow.uses_zapsign:
        cancel_orphan(step)
        logger.info("nothing to create", extra={"request_id": request_id, "status": request.status.value})
        return
    try:
        _check_sizes(services, aggregate)
        pending = _create_or_resume(step, services.zapsign())
    except (_StepFailedError, PermanentError) as error:
        reason = error.reason if isinstance(error, _StepFailedError) else refusal(error)
        step.fail(reason)
        # The main document may exist (an extra document was refused, say): withdraw it, so signers are not left
        # with a document that will never complete.
        cancel_orphan(Step.read(services, request_id, cause=Cause.WORKER, correlation_id=message.correlation_id))
        return
    step.move_request(
        R.ZAPSIGN_PENDING,
        detail=f"ZapSign document created ({len(aggregate.documents)} PDF(s), {len(aggregate.signers)} signer(s))",
        updates={"zapsign_doc_token": pending.main_token},
        lookups=[
            Lookup.zapsign_doc(pending.main_token),
            *(Lookup.zapsign_doc(token, document=index) for index, token in pending.extra_tokens.items()),
        ],
        documents=[
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
        signers=pending.signer_changes,
    )
    logger.info("ZapSign document created", extra={"request_id": request_id, "documents": len(aggregate.documents)})
    step.advance()


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


def _create_or_resume(step: Step, client: ZapSignClient) -> _Created:
    services, aggregate = step.services, step.aggregate
    main = aggregate.document(0)
    main_token = main.zapsign_doc_token
    if main_token is None:
        detail = _create_main_document(step, client)
        main_token = detail.token
        _record_token(step, main, main_token)
    else:
        # Resuming: one Detail gives the signers' links and the extra documents ZapSign already holds (a crash
        # after an upload-extra-doc call, before its token was recorded).
        detail = get_main(client, main_token)
    extra_tokens = {doc.index: doc.zapsign_doc_token for doc in aggregate.documents[1:] if doc.zapsign_doc_token}
    missing = [doc for doc in aggregate.documents[1:] if doc.zapsign_doc_token is None]
    missing = _adopt_extra_documents(step, detail, missing, extra_tokens)
    for document in missing:
        token = _add_extra_document(services, client, main_token, document)
        _record_token(step, document, token)
        extra_tokens[document.index] = token
    # Adding extra documents does not change the signers: the links read with the main document stay right.
    return _Created(main_token, extra_tokens, _signer_links(aggregate, detail))


def _create_main_document(step: Step, client: ZapSignClient) -> ZapSignDocument:
    """`POST docs/` once: intent recorded before, an uncertain outcome resolved from the request's folder."""
    services, aggregate = step.services, step.aggregate
    request = aggregate.request
    main = aggregate.document(0)
    if main.zapsign_create_started_at is not None:
        # An earlier attempt may have created it: look before creating again.
        found = _find_created_document(client, request.id)
        if found is not None:
            logger.info("adopted the document an earlier create made", extra={"request_id": request.id})
            return found
        intent_age = services.clock() - main.zapsign_create_started_at
        if intent_age < CREATE_RESOLUTION_WINDOW:
            raise RetryableError(
                PROVIDER,
                "create_document",
                "an earlier create's outcome is unknown and the list does not show its document yet",
                retry_after=list_retry_seconds(intent_age),
            )
        # The folder stayed empty through a window of list reads that each show a new document within a minute:
        # the earlier attempt created nothing (a 5xx or a timeout before ZapSign acted), so create now.
        logger.warning(
            "no document of an uncertain create in the request's folder after the resolution window; creating",
            extra={"request_id": request.id, "window_minutes": int(CREATE_RESOLUTION_WINDOW.total_seconds() // 60)},
        )
    new_document = _new_document(services, aggregate)
    step.update_document(
        main.index, {"zapsign_create_started_at": services.clock()}, expected=D.RECEIVED, while_request=R.SUBMITTED
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
        step.update_document(
            main.index, {"zapsign_create_started_at": None}, expected=D.RECEIVED, while_request=R.SUBMITTED
        )
        raise


def _find_created_document(client: ZapSignClient, request_id: str) -> ZapSignDocument | None:
    """The document an uncertain create made, if ZapSign's list already shows it.

    GUESS (docs/providers/zapsign.md §3.3): `folder_path` filters the list on that folder. Each candidate is confirmed
    by its Detail (`external_id` is our request id), so a filter ZapSign ignored can never make us adopt another
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
        lang=language_of(aggregate),
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
        # zapsign_oneshot: ZapSign collects the ID evidence One-Shot needs (docs/design.md, "What a user gets").
        require_document_photo=True if collects_evidence else None,
        require_selfie_photo=True if collects_evidence else None,
        external_id=zapsign_signer_external_id(request.id, signer.index),
    )


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


def _record_token(step: Step, document: Document, token: str) -> None:
    """The token as soon as it exists, so a retry resumes instead of creating again."""
    step.update_document(
        document.index,
        {"zapsign_doc_token": token, "zapsign_is_extra": document.index != 0},
        expected=D.RECEIVED,
        while_request=R.SUBMITTED,
    )


def _adopt_extra_documents(
    step: Step,
    detail: ZapSignDocument,
    missing: list[Document],
    extra_tokens: dict[int, str],
) -> list[Document]:
    """Record the extra documents ZapSign holds but we did not record; return those still missing.

    Extra documents are added one at a time in document order, each only after the previous token was recorded, so
    document n is ZapSign's (n-1)-th extra document (`extra_docs` lists them in the order they were added: GUESS,
    docs/providers/zapsign.md §3.2 shows a list without saying its order).
    """
    still_missing = []
    for document in missing:
        position = document.index - 1
        if position < len(detail.extra_docs):
            token = detail.extra_docs[position].token
            _record_token(step, document, token)
            extra_tokens[document.index] = token
            logger.info("adopted an extra document added earlier", extra={"request_id": step.request.id})
        else:
            still_missing.append(document)
    return still_missing


def _add_extra_document(services: Services, client: ZapSignClient, main_token: str, document: Document) -> str:
    pdf = _read_original(services, document)
    try:
        return client.add_extra_document(main_token, name=document.name, pdf=pdf).token
    except UncertainOutcomeError as error:
        detail = get_main(client, main_token)
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
