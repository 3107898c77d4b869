"""`create_oneshot_request`: `POST create` for the current signer, identity from the signer, the three ID images
streamed from S3.

Not idempotent, and the Optimizer cannot be asked which requests it holds (docs/providers/oneshot.md §6.3). Its intent
(`oneshot_create_started_at`) is recorded first, so a lost answer is seen. What tells whether a create happened, per
answer:

- 429, a connection never made, or a **502/503** (a gateway answering for an Optimizer that did not take the call;
  INFERENCE, issue 10 defect 9): nothing was created. The intent is cleared and the create retried after the backoff.
- an uncertain answer (another 5xx, a read timeout, a connection lost after sending) or an intent without a recorded
  answer (a crash between the create and its record): the Optimizer's **own word** decides. A create that succeeds
  sends `REQUEST_CREATED` and `REQUEST_APPROVED` callbacks with the new pk (§6.2) to the address SignBridge gave it,
  and that address names the request and the signer (`_callback_url`), so the callback hint adopts the pk
  (`adopt_lost_create`) exactly as the lost answer would have recorded it: no second request. The step waits
  `CREATE_CALLBACK_WINDOW` for it, then creates again: the callback never came, so the earlier create most likely did
  nothing. That fallback (and a create without a callback address, which has nothing to wait for) is still safe for
  what the design protects: a One-Shot request that is created but never used sends no SMS and issues no certificate
  (those happen at `POST otp/{pk}` and `POST sign/{pk}`, which only ever use the pk SignBridge recorded). It is logged
  as `possible orphan` with its signer and time (and counted, `OneShotPossibleOrphan`) so an operator can delete it
  at the Optimizer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import IO, Final, cast
from urllib.parse import quote, urlencode

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from signbridge import api_routes, observability, telemetry
from signbridge.domain.changes import Lookup
from signbridge.domain.errors import StoredFileNotFoundError
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    Cause,
    IdDocumentType,
    IdImageKind,
    Language,
    RequestAggregate,
    RequestStatus,
    Signer,
    SignerStatus,
)
from signbridge.domain.oneshot import PROVIDER, FilePart, IdEvidence, SignerIdentity
from signbridge.domain.provider_errors import RetryableError, UncertainOutcomeError
from signbridge.workflow.oneshot.common import CannotProceedError, current_of, current_turn, fail, skip, time_of
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

logger = Logger(child=True)
R = RequestStatus
S = SignerStatus


# LEGACY (docs/providers/oneshot.md §5.3): the old Optimizer defaulted `id_document_country` to ES; the client model
# needs a value, so a signer without one gets the Optimizer's own default.
DEFAULT_ID_DOCUMENT_COUNTRY: Final = "ES"


# LEGACY (docs/providers/oneshot.md §5.3): `communication_language` took ES, PL, EN. Portuguese is not in that list, so
# a pt-br signer gets the Optimizer's default rather than a value it may refuse.
COMMUNICATION_LANGUAGES: Final = {Language.ES: "ES", Language.EN: "EN"}


# How long an intent without an answer waits for the Optimizer's callback before the create is made again.
# INFERENCE (docs/providers/oneshot.md §6.2): the Optimizer calls back when the request changes status, that is during
# the create itself (the simulator does, before it answers); two minutes outlast a slow delivery without holding the
# signer for long. Looked at every `CALLBACK_RETRY_SECONDS`: three deliveries of the message (the uncertain answer,
# a minute, the create at two), leaving two of the queues' `maxReceiveCount` of 5 for other failures.
CREATE_CALLBACK_WINDOW: Final = timedelta(minutes=2)
CALLBACK_RETRY_SECONDS: Final = 60.0


# INFERENCE (issue 10, defect 9): a 502 or 503 is a gateway's answer for an Optimizer that did not take the call, so
# nothing was created. Any other 5xx may come after the work (the Optimizer's own 500s do, §5.3).
NOT_PROCESSED_STATUSES: Final = frozenset({502, 503})


# The callback address's query names the request and signer the create was for (`_callback_url`). GUESS
# (docs/providers/oneshot.md §6.2): the Optimizer calls the address as given, query included.
CALLBACK_REQUEST_PARAMETER: Final = "request"
CALLBACK_SIGNER_PARAMETER: Final = "signer"


def create_oneshot_request(services: Services, message: OperationMessage) -> None:
    """`POST create` for the current signer: identity from the signer, the three ID images streamed from S3."""
    turn = current_turn(services, message, (R.ONESHOT_PENDING,))
    if turn is None:
        return
    step, signer = turn
    aggregate = step.aggregate
    if signer.status not in (S.PENDING, S.ZAPSIGN_SIGNED):
        skip("the One-Shot request already exists", signer=signer.index)
        return
    callback_url = _callback_url(services, aggregate.request.id, signer.index)
    if signer.oneshot_create_started_at is not None:
        # A previous attempt sent the create and its answer was lost (a crash mid-call, an uncertain answer).
        waited = services.clock() - signer.oneshot_create_started_at
        if callback_url is not None and waited < CREATE_CALLBACK_WINDOW:
            raise RetryableError(
                PROVIDER,
                "create",
                "an earlier create's answer was lost; waiting for the Optimizer's callback",
                retry_after=CALLBACK_RETRY_SECONDS,
            )
        # No callback came (or none was asked for): create again (see the module docstring).
        _possible_orphan(aggregate.request.id, signer.index, time_of(signer.oneshot_create_started_at), "lost answer")
    try:
        identity = _identity(aggregate, signer)
        # Everything that can fail without calling the Optimizer happens before the intent is recorded.
        client = services.oneshot()
        with _evidence(services, signer) as evidence:
            step.update_signer(
                signer.index, {"oneshot_create_started_at": services.clock()}, while_request=R.ONESHOT_PENDING
            )
            try:
                created = client.create_request(identity, evidence, callback_url=callback_url)
            except RetryableError:
                # Never reached the Optimizer, or refused before doing anything (429): nothing was created, so the
                # retry must not be mistaken for a lost answer.
                step.update_signer(signer.index, {"oneshot_create_started_at": None})
                raise
    except CannotProceedError as error:
        fail(services, message, str(error))
        return
    except UncertainOutcomeError as error:
        if error.status in NOT_PROCESSED_STATUSES or callback_url is None:
            # Nothing was created (a gateway's 502/503), or no callback will say: retried with the worker's backoff.
            if error.status not in NOT_PROCESSED_STATUSES:
                _possible_orphan(aggregate.request.id, signer.index, time_of(services.clock()), error.message)
            step.update_signer(signer.index, {"oneshot_create_started_at": None})
            raise RetryableError(
                error.provider,
                error.operation,
                f"outcome uncertain ({error.message}); creating again",
                status=error.status,
            ) from error
        # The intent stays: the Optimizer's callback adopts the request if it was created (module docstring).
        raise RetryableError(
            error.provider,
            error.operation,
            f"outcome uncertain ({error.message}); waiting for the Optimizer's callback",
            status=error.status,
            retry_after=CALLBACK_RETRY_SECONDS,
        ) from error
    _record_created(step, signer, created.pk, detail=f"One-Shot request {created.pk} created")
    logger.info("One-Shot request created", extra={"oneshot_pk": created.pk, "signer": signer.index})
    step.advance()


def _record_created(step: Step, signer: Signer, pk: int, *, detail: str) -> None:
    # The result is a fact: recorded whatever the request did meanwhile, so a cancel still finds the pk to clean up.
    step.move_signer(
        signer.index,
        S.ONESHOT_REQUESTED,
        detail=detail,
        updates={"oneshot_request_pk": str(pk)},
        lookups=[Lookup.oneshot_request(pk, signer=signer.index)],
    )


def adopt_lost_create(services: Services, message: OperationMessage, pk: int, request_id: str, index: int) -> None:
    """A callback for a pk SignBridge has not recorded, whose address names `request_id` and signer `index`: the
    Optimizer created that request for a create whose answer was lost. Recorded as the answer would have been, if
    the signer still waits for it (its intent recorded, no pk yet); otherwise the callback changes nothing."""
    step = Step.read(services, request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)
    aggregate = step.aggregate
    signer = next((candidate for candidate in aggregate.signers if candidate.index == index), None)
    if (
        aggregate.request.status is not R.ONESHOT_PENDING
        or signer is None
        or current_of(aggregate) != signer.index
        or signer.status not in (S.PENDING, S.ZAPSIGN_SIGNED)
        or signer.oneshot_create_started_at is None
        or signer.oneshot_request_pk is not None
    ):
        skip("no create waits for this One-Shot request", oneshot_pk=pk, signer=index)
        return
    _record_created(
        step,
        signer,
        pk,
        detail=f"One-Shot request {pk} created (its answer was lost; the Optimizer's callback named it)",
    )
    logger.info("adopted the One-Shot request a lost create made", extra={"oneshot_pk": pk, "signer": signer.index})
    step.advance()


def _possible_orphan(request_id: str, signer_index: int, at: str, why: str) -> None:
    """Log and count a create that may have left an unused request at the Optimizer (no personal data)."""
    logger.warning(
        "possible orphan One-Shot request; creating again",
        extra={"request_id": request_id, "signer": signer_index, "create_sent_at": at, "why": why},
    )
    telemetry.count(observability.ONESHOT_POSSIBLE_ORPHANS)


def _identity(aggregate: RequestAggregate, signer: Signer) -> SignerIdentity:
    """The signer's `create` fields (docs/providers/oneshot.md §5.3). Errors name fields, never values."""
    required = {
        "given_name": signer.given_name,
        "first_surname": signer.first_surname,
        "id_number": signer.id_number,
        "email": signer.email,
        "phone": signer.phone,
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise CannotProceedError(f"signer {signer.index}: no {', '.join(missing)} for the One-Shot request")
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
        raise CannotProceedError(f"signer {signer.index}: invalid {', '.join(fields)} for One-Shot") from None


@contextmanager
def _evidence(services: Services, signer: Signer) -> Iterator[IdEvidence]:
    """The three ID images, open as S3 streams (sent in chunks with their size, never read whole)."""
    missing = [kind.value for kind in IdImageKind if kind not in signer.evidence_keys]
    if missing:
        raise CannotProceedError(f"signer {signer.index}: no identity evidence ({', '.join(missing)}) in S3")
    with ExitStack() as streams:
        parts: dict[IdImageKind, FilePart] = {}
        for kind in IdImageKind:
            key = signer.evidence_keys[kind]
            try:
                stream = streams.enter_context(services.files.open_stream(key))
            except StoredFileNotFoundError:
                raise CannotProceedError(
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


def _callback_url(services: Services, request_id: str, signer_index: int) -> str | None:
    """Where the Optimizer should POST status changes: `POST /webhooks/oneshot/{secret}` on our API, the query naming
    the request and signer the create is for (so a callback for a create whose answer was lost is adopted).

    INFERENCE (docs/providers/oneshot.md §6.2): `callback` is documented with `useasync`; sent with a synchronous sign
    it still reports `REQUEST_ENROLLED`, which lets `confirm_oneshot_signature` heal a crash between a sign and its
    recording sooner than the reconciler. Without an API base URL (tests, a bare worker) no callback is asked for.
    """
    base = services.settings.api_base_url
    if not base:
        return None
    secret = services.secrets.webhooks().accepted_oneshot()[0]
    path = next(route.path for route in api_routes.ROUTES if route.function == api_routes.ONESHOT_WEBHOOK)
    query = urlencode({CALLBACK_REQUEST_PARAMETER: request_id, CALLBACK_SIGNER_PARAMETER: signer_index})
    return base.rstrip("/") + path.format(secret=quote(secret, safe="")) + "?" + query
