"""The One-Shot operations of the worker (docs/workflows.md, "Operations", queue `oneshot-ops`).

Each operation follows the rule of docs/workflows.md: read the aggregate and return at once when the step is done or
no longer wanted (a duplicate, a late message, a request that moved on); record the intent of a call that is not
idempotent upstream (`create`, `otp`, `upload`) before making it; record the result with one conditional write; then
ask the planner (`progress.advance`) what comes next.

The Optimizer cannot be asked about a request (the new API removed `GET requests` and `GET async/status`,
contracts/oneshot.md §6.3), so an uncertain outcome is resolved only where the provider allows it:

| call     | how an uncertain outcome is resolved                                                                 |
|----------|------------------------------------------------------------------------------------------------------|
| create   | it cannot be: the request fails with a reason an operator can act on (never a second One-Shot request) |
| upload   | `GET documents/{pk}`: the one uid no document of ours holds is adopted; otherwise the request fails   |
| otp      | recorded as sent (never a second SMS); the signer can ask for another code after a minute             |
| sign     | `confirm_oneshot_signature`: the first document's signed version exists, or the sign did not happen   |

Identifiers, statuses and counts go to the logs and to failure reasons; personal data never does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Final, cast
from urllib.parse import quote

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from signbridge import api_routes
from signbridge.domain import keys
from signbridge.domain.changes import DocumentChange, Lookup, SignerChange
from signbridge.domain.errors import FileTooLargeError, NotAPdfError, StoredFileNotFoundError
from signbridge.domain.files import FileStream, StoredFile
from signbridge.domain.lifecycle import is_terminal
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    Cause,
    Document,
    DocumentStatus,
    IdDocumentType,
    IdImageKind,
    Language,
    RequestAggregate,
    RequestStatus,
    Signer,
    SignerStatus,
    oneshot_stage,
)
from signbridge.domain.oneshot import FilePart, IdEvidence, NotFoundError, OtpTooSoonError, SignerIdentity
from signbridge.domain.operations import Op
from signbridge.domain.provider_errors import RetryableError, UncertainOutcomeError
from signbridge.workflow.planner import oneshot_input_key
from signbridge.workflow.ports import OneShotClient
from signbridge.workflow.progress import advance, fail_request, move_document_and_advance
from signbridge.workflow.services import Operation, Services

logger = Logger(child=True)

R = RequestStatus
D = DocumentStatus
S = SignerStatus

# LEGACY (contracts/oneshot.md §5.3): the old Optimizer defaulted `id_document_country` to ES; the client model needs
# a value, so a signer without one gets the Optimizer's own default.
DEFAULT_ID_DOCUMENT_COUNTRY: Final = "ES"
# LEGACY (contracts/oneshot.md §5.3): `communication_language` took ES, PL, EN. Portuguese is not in that list, so a
# pt-br signer gets the Optimizer's default rather than a value it may refuse.
COMMUNICATION_LANGUAGES: Final = {Language.ES: "ES", Language.EN: "EN"}
# A sign that the API started may still be running at the Optimizer for this long: API Gateway gives up after 30 s
# (the API's own read timeout is shorter), plus a margin. Before that, "no signed document yet" proves nothing.
SIGN_SETTLE_SECONDS: Final = 60
# The documents an upload may start from, per workflow stage: the original, ZapSign's output, the previous signer's.
_UPLOAD_FROM: Final = frozenset({D.RECEIVED, D.ZAPSIGN_SIGNED, D.ONESHOT_SIGNED})


class _CannotProceedError(Exception):
    """The request cannot go on for a reason an operator must see (it becomes the failure reason)."""


# ------------------------------------------------------------------------------------------------ create


def create_oneshot_request(services: Services, message: OperationMessage) -> None:
    """`POST create` for the current signer: identity from the signer, the three ID images streamed from S3."""
    turn = _current_turn(services, message, (R.ONESHOT_PENDING,))
    if turn is None:
        return
    aggregate, signer = turn
    request = aggregate.request
    if signer.status not in (S.PENDING, S.ZAPSIGN_SIGNED):
        _skip("the One-Shot request already exists", signer=signer.index)
        return
    if signer.oneshot_create_started_at is not None:
        # A previous attempt sent the create and its answer was lost (a crash, a timeout). Another create could
        # issue a second request (and a second certificate) for the same person; the Optimizer offers no way to find
        # the first one (contracts/oneshot.md §6.3).
        _fail(
            services,
            message,
            f"signer {signer.index}: a One-Shot create was sent at {_time(signer.oneshot_create_started_at)} but its "
            "answer was never recorded, and the Optimizer cannot be asked for it; not creating a second one. Look for "
            "that signer's request on the Optimizer (delete its documents if any), then create a new SignBridge "
            "request",
        )
        return
    try:
        identity = _identity(aggregate, signer)
        # Everything that can fail without calling the Optimizer happens before the intent is recorded.
        client, callback_url = services.oneshot(), _callback_url(services)
        with _evidence(services, signer) as evidence:
            services.records.update_signer(
                request.id,
                signer.index,
                expected_status=signer.status,
                updates={"oneshot_create_started_at": services.clock()},
                request_status=R.ONESHOT_PENDING,
            )
            try:
                created = client.create_request(identity, evidence, callback_url=callback_url)
            except RetryableError:
                # Never reached the Optimizer, or refused before doing anything (429): nothing was created, so the
                # retry must not be mistaken for a lost answer.
                services.records.update_signer(
                    request.id,
                    signer.index,
                    expected_status=signer.status,
                    updates={"oneshot_create_started_at": None},
                )
                raise
    except _CannotProceedError as error:
        _fail(services, message, str(error))
        return
    except UncertainOutcomeError as error:
        _fail(
            services,
            message,
            f"signer {signer.index}: the One-Shot create may or may not have happened ({error.message}); the "
            "Optimizer cannot be asked, so no second request is made. Look for that signer's request on the "
            "Optimizer (delete its documents if any), then create a new SignBridge request",
        )
        return
    # The result is a fact: recorded whatever the request did meanwhile, so a cancel still finds the pk to clean up.
    services.records.transition_signer(
        request.id,
        signer.index,
        S.ONESHOT_REQUESTED,
        workflow=request.workflow,
        expected_status=signer.status,
        cause=Cause.WORKER,
        correlation_id=message.correlation_id,
        detail=f"One-Shot request {created.pk} created",
        updates={"oneshot_request_pk": str(created.pk)},
        lookups=[Lookup.oneshot_request(created.pk, signer=signer.index)],
    )
    logger.info("One-Shot request created", extra={"oneshot_pk": created.pk, "signer": signer.index})
    advance(services, request.id, cause=Cause.WORKER, correlation_id=message.correlation_id)


def _identity(aggregate: RequestAggregate, signer: Signer) -> SignerIdentity:
    """The signer's `create` fields (contracts/oneshot.md §5.3). Errors name fields, never values."""
    required = {
        "given_name": signer.given_name,
        "first_surname": signer.first_surname,
        "id_number": signer.id_number,
        "email": signer.email,
        "phone": signer.phone,
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise _CannotProceedError(f"signer {signer.index}: no {', '.join(missing)} for the One-Shot request")
    language = signer.language or aggregate.request.language
    try:
        return SignerIdentity(
            given_name=cast("str", signer.given_name),
            surname_1=cast("str", signer.first_surname),
            surname_2=signer.second_surname,
            id_document_type=(signer.id_document_type or IdDocumentType.IDC).value,
            id_document_country=signer.id_document_country or DEFAULT_ID_DOCUMENT_COUNTRY,
            serial_number=cast("str", signer.id_number),
            email=cast("str", signer.email),
            mobile_phone_number=cast("str", signer.phone),
            communication_language=COMMUNICATION_LANGUAGES.get(language),
        )
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in item["loc"]) for item in error.errors(include_input=False)})
        raise _CannotProceedError(f"signer {signer.index}: invalid {', '.join(fields)} for One-Shot") from None


@contextmanager
def _evidence(services: Services, signer: Signer) -> Iterator[IdEvidence]:
    """The three ID images, open as S3 streams (sent in chunks with their size, never read whole)."""
    missing = [kind.value for kind in IdImageKind if kind not in signer.evidence_keys]
    if missing:
        raise _CannotProceedError(f"signer {signer.index}: no identity evidence ({', '.join(missing)}) in S3")
    with ExitStack() as streams:
        parts: dict[IdImageKind, FilePart] = {}
        for kind in IdImageKind:
            key = signer.evidence_keys[kind]
            try:
                stream = streams.enter_context(services.files.open_stream(key))
            except StoredFileNotFoundError:
                raise _CannotProceedError(
                    f"signer {signer.index}: the {kind.value} image is missing from S3 ({key})"
                ) from None
            extension = key.rsplit(".", 1)[-1].lower()
            parts[kind] = FilePart(
                cast("IO[bytes]", stream),  # an ObjectStream reads like a binary file; only read() is used
                filename=f"{kind.value}.{extension}",
                content_type=_image_type(extension, stream.content_type),
                size=stream.size,
            )
        yield IdEvidence(
            document_front=parts[IdImageKind.DOCUMENT_FRONT],
            document_rear=parts[IdImageKind.DOCUMENT_REAR],
            document_owner=parts[IdImageKind.DOCUMENT_OWNER],
        )


def _image_type(extension: str, stored: str | None) -> str:
    if stored and stored.startswith("image/"):
        return stored
    return "image/png" if extension == "png" else "image/jpeg"


def _callback_url(services: Services) -> str | None:
    """Where the Optimizer should POST status changes: `POST /webhooks/oneshot/{secret}` on our API.

    INFERENCE (contracts/oneshot.md §6.2): `callback` is documented with `useasync`; sent with a synchronous sign it
    still reports `REQUEST_ENROLLED`, which lets `confirm_oneshot_signature` heal a crash between a sign and its
    recording sooner than the reconciler. Without an API base URL (tests, a bare worker) no callback is asked for.
    """
    base = services.settings.api_base_url
    if not base:
        return None
    secret = services.secrets.webhooks().accepted_oneshot()[0]
    path = next(route.path for route in api_routes.ROUTES if route.function == api_routes.ONESHOT_WEBHOOK)
    return base.rstrip("/") + path.format(secret=quote(secret, safe=""))


# ------------------------------------------------------------------------------------------------ upload


def upload_oneshot_document(services: Services, message: OperationMessage) -> None:
    """`POST document/{pk}` with the document's current input (original, ZapSign-signed, or the previous signer's
    output), streamed from S3 under a stable name."""
    turn = _current_turn(services, message, (R.ONESHOT_PENDING,))
    if turn is None:
        return
    aggregate, signer = turn
    request = aggregate.request
    document = _document(aggregate, message)
    if document is None or signer.status is not S.ONESHOT_REQUESTED or signer.oneshot_request_pk is None:
        _skip("not uploading now", signer=signer.index, status=signer.status)
        return
    if signer.index in document.oneshot_document_uids:
        _skip("already uploaded", signer=signer.index, document=document.index)
        return
    if document.status not in _UPLOAD_FROM:
        _skip("the document is not ready for this signer", document=document.index, status=document.status)
        return
    target = _Upload(
        aggregate=aggregate,
        signer=signer,
        document=document,
        pk=int(signer.oneshot_request_pk),
        filename=f"{request.id}-{document.index:03d}-{signer.index}.pdf",  # stable: recognisable in a listing
    )
    client = services.oneshot()
    try:
        uid: str | None = None
        if signer.index in document.oneshot_upload_started:
            # A previous attempt sent this upload and its answer was lost: adopt what it left, if anything.
            uid = _previous_upload(client, target)
        if uid is None:
            uid = _upload(services, client, target)
    except _CannotProceedError as error:
        _fail(services, message, str(error))
        return
    change = DocumentChange(
        document.index,
        document.status,
        D.ONESHOT_UPLOADED,
        {"oneshot_document_uids": {**document.oneshot_document_uids, signer.index: uid}},
    )
    move_document_and_advance(
        services,
        aggregate,
        change,
        cause=Cause.WORKER,
        correlation_id=message.correlation_id,
        detail=f"uploaded to One-Shot request {target.pk} for signer {signer.index}",
    )


@dataclass(frozen=True)
class _Upload:
    """One document uploaded for one signer: where it goes, and under which name."""

    aggregate: RequestAggregate
    signer: Signer
    document: Document
    pk: int
    filename: str


def _upload(services: Services, client: OneShotClient, target: _Upload) -> str:
    request, signer, document = target.aggregate.request, target.signer, target.document
    input_key = oneshot_input_key(request.workflow, document, signer.index)
    if input_key is None:
        raise _CannotProceedError(f"document {document.index}: no signed input in S3 for signer {signer.index}")
    try:
        stream = services.files.open_stream(input_key)
    except StoredFileNotFoundError:
        raise _CannotProceedError(f"document {document.index}: {input_key} is missing from S3") from None
    with stream:
        part = FilePart(cast("IO[bytes]", stream), target.filename, "application/pdf", size=stream.size)
        if signer.index not in document.oneshot_upload_started:
            started = {**document.oneshot_upload_started, signer.index: services.clock()}
            services.records.update_document(
                request.id,
                document.index,
                expected_status=document.status,
                updates={"oneshot_upload_started": started},
                request_status=R.ONESHOT_PENDING,
            )
        try:
            return client.upload_document(target.pk, part).uid
        except UncertainOutcomeError:
            found = _previous_upload(client, target)
            if found is not None:
                return found
            # Nothing arrived: send it again on the next delivery (the intent stays, so it looks again first).
            raise RetryableError(
                "oneshot", "upload_documents", "upload outcome unknown and nothing arrived; uploading again"
            ) from None


def _previous_upload(client: OneShotClient, target: _Upload) -> str | None:
    """The uid an earlier upload of the document left at the Optimizer, None if it left nothing.

    The Optimizer's documents that no document of ours is recorded with are the candidates. The listing names them
    only in the legacy shape (the new one has an empty object per uid, contracts/oneshot.md §5.7); without names,
    several candidates, or another document's upload also unresolved, leave no telling which is which.
    """
    aggregate, signer, document = target.aggregate, target.signer, target.document
    ours = {
        other.oneshot_document_uids[signer.index]
        for other in aggregate.documents
        if signer.index in other.oneshot_document_uids
    }
    unclaimed = [info for info in client.list_documents(target.pk) if info.uid not in ours]
    named = any(info.filename for info in unclaimed)
    if named:
        unclaimed = [info for info in unclaimed if info.filename == target.filename]
    if not unclaimed:
        return None
    pending_elsewhere = [
        other.index
        for other in aggregate.documents
        if other.index != document.index
        and signer.index in other.oneshot_upload_started
        and signer.index not in other.oneshot_document_uids
    ]
    if len(unclaimed) == 1 and (named or not pending_elsewhere):
        logger.info("adopted a document uploaded by an earlier attempt", extra={"document": document.index})
        return unclaimed[0].uid
    also = f" while the uploads of documents {pending_elsewhere} are also unresolved" if pending_elsewhere else ""
    raise _CannotProceedError(
        f"document {document.index}, signer {signer.index}: One-Shot request {target.pk} holds {len(unclaimed)} "
        f"document(s) that no document of this request is recorded with{also}; cannot tell which one is this "
        "document. Delete the request's documents on the Optimizer and create a new SignBridge request"
    )


# ------------------------------------------------------------------------------------------------ contract


def store_oneshot_contract(services: Services, message: OperationMessage) -> None:
    """`GET contract/{pk}` to `contracts/{request}/{signer}.pdf`, once every document is uploaded."""
    turn = _current_turn(services, message, (R.ONESHOT_PENDING,))
    if turn is None:
        return
    aggregate, signer = turn
    request = aggregate.request
    if signer.status is not S.ONESHOT_REQUESTED or signer.oneshot_request_pk is None:
        _skip("contract not wanted now", signer=signer.index, status=signer.status)
        return
    if any(signer.index not in document.oneshot_document_uids for document in aggregate.documents):
        _skip("documents still uploading", signer=signer.index)  # the planner asks again after the last upload
        return
    pk = int(signer.oneshot_request_pk)
    key = keys.contract_key(request.id, signer.index)
    stored = _store_pdf(services, message, key, lambda: services.oneshot().open_contract(pk), what="contract")
    if stored is None:
        return
    services.records.transition_signer(
        request.id,
        signer.index,
        S.CONTRACT_STORED,
        workflow=request.workflow,
        expected_status=S.ONESHOT_REQUESTED,
        cause=Cause.WORKER,
        correlation_id=message.correlation_id,
        detail=f"One-Shot service contract stored ({stored.size} bytes)",
        updates={"contract_key": key},
        request_status=R.ONESHOT_PENDING,
    )
    advance(services, request.id, cause=Cause.WORKER, correlation_id=message.correlation_id)


# ------------------------------------------------------------------------------------------------ OTP


def send_oneshot_otp(services: Services, message: OperationMessage) -> None:
    """`POST otp/{pk}`: the Optimizer texts the code. `message.generation` is the resend count (0: the first SMS),
    so a resend is a new message for SQS while a duplicate of either is not."""
    turn = _current_turn(services, message, (R.ONESHOT_PENDING, R.AWAITING_OTP))
    if turn is None:
        return
    aggregate, signer = turn
    request = aggregate.request
    first = request.status is R.ONESHOT_PENDING and signer.status is S.CONTRACT_STORED
    resend = request.status is R.AWAITING_OTP and signer.status is S.OTP_SENT
    if not (first or resend) or signer.oneshot_request_pk is None:
        _skip("no SMS wanted now", signer=signer.index, status=signer.status)
        return
    generation = message.generation
    if signer.otp_generation is not None and generation <= signer.otp_generation:
        _skip("this SMS was already sent", signer=signer.index, generation=generation)
        return
    if signer.otp_intent_generation == generation:
        # A previous attempt made this call and its answer was lost. Sending again could text a second code;
        # recording it as sent costs at most a resend the signer asks for.
        _record_otp_sent(services, message, aggregate, signer, detail="outcome of an earlier attempt unknown")
        return
    client = services.oneshot()  # before the intent: a failure here must not look like a lost answer
    services.records.update_signer(
        request.id,
        signer.index,
        expected_status=signer.status,
        updates={"otp_intent_generation": generation},
        request_status=request.status,
    )
    detail = None
    try:
        client.send_otp(int(signer.oneshot_request_pk))
    except OtpTooSoonError:
        # The Optimizer sent one less than a minute ago and this generation is not recorded: an earlier attempt's SMS
        # went out. Record it rather than loop on the 412.
        detail = "the Optimizer says a code went out less than a minute ago"
    except UncertainOutcomeError as error:
        detail = f"outcome unknown ({error.message}); the signer can ask for another code"
    except RetryableError:
        # Not sent (never reached the Optimizer, or refused before acting): forget the intent, try again later.
        services.records.update_signer(
            request.id, signer.index, expected_status=signer.status, updates={"otp_intent_generation": None}
        )
        raise
    _record_otp_sent(services, message, aggregate, signer, detail=detail)


def _record_otp_sent(
    services: Services,
    message: OperationMessage,
    aggregate: RequestAggregate,
    signer: Signer,
    *,
    detail: str | None,
) -> None:
    request = aggregate.request
    updates = {"otp_sent_at": services.clock(), "otp_generation": message.generation, "otp_intent_generation": None}
    if signer.status is S.CONTRACT_STORED:
        # The first SMS: the signer and the request move together, one write.
        services.records.transition(
            request.id,
            R.AWAITING_OTP,
            expected_version=request.version,
            expected_status=R.ONESHOT_PENDING,
            workflow=request.workflow,
            cause=Cause.WORKER,
            correlation_id=message.correlation_id,
            detail=f"SMS code sent to signer {signer.index}" + (f" ({detail})" if detail else ""),
            signer_changes=[SignerChange(signer.index, S.CONTRACT_STORED, S.OTP_SENT, updates)],
        )
    else:
        # A resend is not a move (lifecycle.py): the signer stays `otp_sent` with a new time and generation.
        services.records.update_signer(
            request.id, signer.index, expected_status=S.OTP_SENT, updates=updates, request_status=R.AWAITING_OTP
        )
    logger.info(
        "SMS code recorded as sent",
        extra={"signer": signer.index, "generation": message.generation, "uncertain": detail is not None},
    )
    advance(services, request.id, cause=Cause.WORKER, correlation_id=message.correlation_id)


# ------------------------------------------------------------------------------------------------ sign


def confirm_oneshot_signature(services: Services, message: OperationMessage) -> None:
    """Resolve a sign whose intent is recorded (request `signing`, signer `otp_sent`) but whose result is not.

    Asked by the planner for a stale request, and by a One-Shot callback (a hint: `request_id` None, payload
    `{"oneshot_pk"}`). The callback's body is not trusted: the Optimizer is asked whether the first document's signed
    version exists (contracts/oneshot.md §6.3, the documented fallback for a lost callback).
    """
    located = _locate(services, message)
    if located is None:
        return
    request_id, signer_index = located
    aggregate = services.records.get_request(request_id)
    request = aggregate.request
    if request.status is not R.SIGNING or _current(aggregate) != signer_index:
        _skip("no sign to confirm", status=request.status)
        return
    signer = aggregate.signer(signer_index)
    first = aggregate.documents[0] if aggregate.documents else None
    uid = first.oneshot_document_uids.get(signer.index) if first is not None else None
    if signer.status is not S.OTP_SENT or signer.oneshot_request_pk is None or uid is None:
        _skip("no sign to confirm", signer=signer.index, status=signer.status)
        return
    pk = int(signer.oneshot_request_pk)
    try:
        with services.oneshot().open_document(pk, uid, "signed"):
            pass  # it exists: that is all this asks (the retrieval streams it later)
    except NotFoundError:
        waited = services.clock() - request.status_since
        if waited < timedelta(seconds=SIGN_SETTLE_SECONDS):
            _skip("no signed document yet, but the sign may still be running", waited_seconds=waited.total_seconds())
            return
        services.records.transition(
            request.id,
            R.AWAITING_OTP,
            expected_version=request.version,
            expected_status=R.SIGNING,
            workflow=request.workflow,
            cause=_cause(message),
            correlation_id=message.correlation_id,
            detail=f"no signed document at the Optimizer: signer {signer.index}'s sign did not happen; the code "
            "may be submitted again",
        )
        advance(services, request.id, cause=_cause(message), correlation_id=message.correlation_id)
        return
    services.records.transition_signer(
        request.id,
        signer.index,
        S.SIGNED,
        workflow=request.workflow,
        expected_status=S.OTP_SENT,
        cause=_cause(message),
        correlation_id=message.correlation_id,
        detail="signature confirmed at the Optimizer",
        updates={"oneshot_signed_at": services.clock()},
        request_status=R.SIGNING,
    )
    advance(services, request.id, cause=_cause(message), correlation_id=message.correlation_id)


def _locate(services: Services, message: OperationMessage) -> tuple[str, int] | None:
    """The request and signer a message is about; a callback hint names only the One-Shot pk."""
    if message.request_id is not None:
        if message.signer is None:
            _skip("no signer named")
            return None
        return message.request_id, message.signer
    pk = str(message.payload.get("oneshot_pk", ""))
    if not pk.isdigit():
        _skip("a hint without a One-Shot pk")
        return None
    target = services.records.find_by_oneshot_request(pk)
    if target is None or target.signer is None:
        _skip("a One-Shot request that is not ours (or not recorded yet)", oneshot_pk=pk)
        return None
    logger.append_keys(request_id=target.request_id)
    return target.request_id, target.signer


# ------------------------------------------------------------------------------------------------ retrieve


def retrieve_oneshot_document(services: Services, message: OperationMessage) -> None:
    """`GET document/{pk}/{uid}?document_type=signed` to `signed/{request}/{document}/oneshot-{signer}.pdf`."""
    turn = _current_turn(services, message, (R.SIGNING,))
    if turn is None:
        return
    aggregate, signer = turn
    request = aggregate.request
    document = _document(aggregate, message)
    stage = oneshot_stage(signer.index)
    if document is None or signer.status is not S.SIGNED or signer.oneshot_request_pk is None:
        _skip("nothing to retrieve now", signer=signer.index, status=signer.status)
        return
    uid = document.oneshot_document_uids.get(signer.index)
    if stage in document.signed_keys or uid is None or document.status is not D.ONESHOT_UPLOADED:
        _skip("already retrieved", document=document.index, status=document.status)
        return
    pk = int(signer.oneshot_request_pk)
    key = keys.signed_key(request.id, document.index, stage)
    stored = _store_pdf(
        services, message, key, lambda: services.oneshot().open_document(pk, uid, "signed"), what="signed document"
    )
    if stored is None:
        return
    change = DocumentChange(
        document.index,
        D.ONESHOT_UPLOADED,
        D.ONESHOT_SIGNED,
        {
            "signed_keys": {**document.signed_keys, stage: key},
            "signed_sha256": {**document.signed_sha256, stage: stored.sha256},
        },
    )
    move_document_and_advance(
        services,
        aggregate,
        change,
        cause=Cause.WORKER,
        correlation_id=message.correlation_id,
        detail=f"signed by signer {signer.index} at One-Shot; stored ({stored.size} bytes)",
        request_status=R.SIGNING,
    )


# ------------------------------------------------------------------------------------------------ clean up


def delete_oneshot_documents(services: Services, message: OperationMessage) -> None:
    """`DELETE document/{pk}` once the signer's outputs are in S3: the Optimizer never deletes anything itself."""
    if message.request_id is None or message.signer is None:
        _skip("no request or signer named")
        return
    aggregate = services.records.get_request(message.request_id)
    signer = _signer(aggregate, message.signer)
    if signer is None or signer.oneshot_request_pk is None or signer.oneshot_deleted_at is not None:
        _skip("nothing to delete", signer=message.signer)
        return
    stage = oneshot_stage(signer.index)
    if signer.status is not S.SIGNED or any(stage not in document.signed_keys for document in aggregate.documents):
        _skip("outputs not all stored yet", signer=signer.index)  # deleting now would lose a signature
        return
    _delete_at_optimizer(services, aggregate, signer)
    if not is_terminal(aggregate.request.status):
        advance(services, aggregate.request.id, cause=Cause.WORKER, correlation_id=message.correlation_id)


def cancel_oneshot_request(services: Services, message: OperationMessage) -> None:
    """Delete whatever the Optimizer still holds for a request that ended (cancelled, expired, failed): every
    signer with a One-Shot request whose documents were not deleted yet."""
    if message.request_id is None:
        _skip("no request named")
        return
    aggregate = services.records.get_request(message.request_id)
    if not is_terminal(aggregate.request.status):
        _skip("the request has not ended", status=aggregate.request.status)
        return
    for signer in aggregate.signers:
        if signer.oneshot_request_pk is not None and signer.oneshot_deleted_at is None:
            _delete_at_optimizer(services, aggregate, signer)


def _delete_at_optimizer(services: Services, aggregate: RequestAggregate, signer: Signer) -> None:
    pk = int(cast("str", signer.oneshot_request_pk))
    deleted = services.oneshot().delete_all_documents(pk)  # False: already gone (404), the goal all the same
    services.records.update_signer(
        aggregate.request.id,
        signer.index,
        expected_status=signer.status,
        updates={"oneshot_deleted_at": services.clock()},
    )
    logger.info("One-Shot documents deleted", extra={"signer": signer.index, "were_there": deleted})


# ------------------------------------------------------------------------------------------------ helpers


def _current_turn(
    services: Services, message: OperationMessage, statuses: tuple[RequestStatus, ...]
) -> tuple[RequestAggregate, Signer] | None:
    """The aggregate and the message's signer, if the request is in one of `statuses` and it is that signer's turn."""
    if message.request_id is None or message.signer is None:
        _skip("no request or signer named")
        return None
    aggregate = services.records.get_request(message.request_id)
    if aggregate.request.status not in statuses:
        _skip("the request is elsewhere", status=aggregate.request.status)
        return None
    signer = _signer(aggregate, message.signer)
    if signer is None or _current(aggregate) != signer.index:
        _skip("not this signer's turn", signer=message.signer)
        return None
    return aggregate, signer


def _current(aggregate: RequestAggregate) -> int:
    return aggregate.request.current_signer or 0  # as the planner reads it


def _signer(aggregate: RequestAggregate, index: int) -> Signer | None:
    return next((signer for signer in aggregate.signers if signer.index == index), None)


def _document(aggregate: RequestAggregate, message: OperationMessage) -> Document | None:
    if message.document is None:
        return None
    return next((document for document in aggregate.documents if document.index == message.document), None)


def _store_pdf(
    services: Services,
    message: OperationMessage,
    key: str,
    opener: Callable[[], AbstractContextManager[FileStream]],
    *,
    what: str,
) -> StoredFile | None:
    """Stream a PDF from the Optimizer to `key` (checked, capped, hashed); None after failing the request when the
    Optimizer's answer is not a usable PDF."""
    try:
        with opener() as stream:
            return services.files.store_stream(
                key, stream.chunks, expect_pdf=True, max_bytes=services.settings.max_file_bytes
            )
    except NotAPdfError:
        _fail(services, message, f"the Optimizer's {what} is not a PDF; nothing was stored")
    except FileTooLargeError as error:
        _fail(services, message, f"the Optimizer's {what} is larger than {error.max_bytes} bytes; nothing was stored")
    return None


def _fail(services: Services, message: OperationMessage, reason: str) -> None:
    if message.request_id is None:
        logger.warning("cannot proceed", extra={"reason": reason})
        return
    fail_request(services, message.request_id, reason, cause=Cause.WORKER, correlation_id=message.correlation_id)


def _cause(message: OperationMessage) -> Cause:
    """A callback hint is a webhook's doing; anything else the worker's (the reconciler's messages included)."""
    return Cause.WEBHOOK if message.request_id is None else Cause.WORKER


def _skip(reason: str, **context: object) -> None:
    """A late, duplicate or not-yet-wanted message: consumed without a side effect."""
    logger.info("nothing to do", extra={"reason": reason, **{key: str(value) for key, value in context.items()}})


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


OPERATIONS: dict[Op, Operation] = {
    Op.CREATE_ONESHOT_REQUEST: create_oneshot_request,
    Op.UPLOAD_ONESHOT_DOCUMENT: upload_oneshot_document,
    Op.STORE_ONESHOT_CONTRACT: store_oneshot_contract,
    Op.SEND_ONESHOT_OTP: send_oneshot_otp,
    Op.CONFIRM_ONESHOT_SIGNATURE: confirm_oneshot_signature,
    Op.RETRIEVE_ONESHOT_DOCUMENT: retrieve_oneshot_document,
    Op.DELETE_ONESHOT_DOCUMENTS: delete_oneshot_documents,
    Op.CANCEL_ONESHOT_REQUEST: cancel_oneshot_request,
}
