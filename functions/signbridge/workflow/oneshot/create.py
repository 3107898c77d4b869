"""`create_oneshot_request`: `POST create` for the current signer, identity from the signer, the three ID images
streamed from S3.

Not idempotent and not resolvable upstream (the Optimizer cannot be asked which requests it holds,
docs/providers/oneshot.md §6.3), yet safe to repeat for what the design protects: a One-Shot request that is created but
never used sends no SMS and issues no certificate (those happen at `POST otp/{pk}` and `POST sign/{pk}`, which only ever
use the pk SignBridge recorded). So an uncertain answer (a 5xx, a read timeout, a connection lost after sending) or an
intent without a recorded answer (a crash mid-call) is retried, not failed: the worst case is an unused request at the
Optimizer, logged as `possible orphan` with its signer and time (and counted, `OneShotPossibleOrphan`) so an operator
can delete it there. Its intent (`oneshot_create_started_at`) is still recorded first, so a lost answer is seen."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, Final, cast
from urllib.parse import quote

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from signbridge import api_routes, observability, telemetry
from signbridge.domain.changes import Lookup
from signbridge.domain.errors import StoredFileNotFoundError
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    IdDocumentType,
    IdImageKind,
    Language,
    RequestAggregate,
    RequestStatus,
    Signer,
    SignerStatus,
)
from signbridge.domain.oneshot import FilePart, IdEvidence, SignerIdentity
from signbridge.domain.provider_errors import RetryableError, UncertainOutcomeError
from signbridge.workflow.oneshot.common import CannotProceedError, current_turn, fail, skip, time_of
from signbridge.workflow.services import Services

logger = Logger(child=True)
R = RequestStatus
S = SignerStatus


# LEGACY (docs/providers/oneshot.md §5.3): the old Optimizer defaulted `id_document_country` to ES; the client model
# needs a value, so a signer without one gets the Optimizer's own default.
DEFAULT_ID_DOCUMENT_COUNTRY: Final = "ES"


# LEGACY (docs/providers/oneshot.md §5.3): `communication_language` took ES, PL, EN. Portuguese is not in that list, so
# a pt-br signer gets the Optimizer's default rather than a value it may refuse.
COMMUNICATION_LANGUAGES: Final = {Language.ES: "ES", Language.EN: "EN"}


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
    if signer.oneshot_create_started_at is not None:
        # A previous attempt sent the create and its answer was lost (a crash mid-call). The Optimizer cannot be
        # asked for it; creating again is safe (see the module docstring), the first one is at most unused.
        _possible_orphan(aggregate.request.id, signer.index, time_of(signer.oneshot_create_started_at), "lost answer")
    try:
        identity = _identity(aggregate, signer)
        # Everything that can fail without calling the Optimizer happens before the intent is recorded.
        client, callback_url = services.oneshot(), _callback_url(services)
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
        # It may have created a request nobody will use: retried later with the worker's backoff (module docstring).
        _possible_orphan(aggregate.request.id, signer.index, time_of(services.clock()), error.message)
        step.update_signer(signer.index, {"oneshot_create_started_at": None})
        raise RetryableError(
            error.provider, error.operation, f"outcome uncertain ({error.message}); creating again", status=error.status
        ) from error
    # The result is a fact: recorded whatever the request did meanwhile, so a cancel still finds the pk to clean up.
    step.move_signer(
        signer.index,
        S.ONESHOT_REQUESTED,
        detail=f"One-Shot request {created.pk} created",
        updates={"oneshot_request_pk": str(created.pk)},
        lookups=[Lookup.oneshot_request(created.pk, signer=signer.index)],
    )
    logger.info("One-Shot request created", extra={"oneshot_pk": created.pk, "signer": signer.index})
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


def _callback_url(services: Services) -> str | None:
    """Where the Optimizer should POST status changes: `POST /webhooks/oneshot/{secret}` on our API.

    INFERENCE (docs/providers/oneshot.md §6.2): `callback` is documented with `useasync`; sent with a synchronous sign
    it still reports `REQUEST_ENROLLED`, which lets `confirm_oneshot_signature` heal a crash between a sign and its
    recording sooner than the reconciler. Without an API base URL (tests, a bare worker) no callback is asked for.
    """
    base = services.settings.api_base_url
    if not base:
        return None
    secret = services.secrets.webhooks().accepted_oneshot()[0]
    path = next(route.path for route in api_routes.ROUTES if route.function == api_routes.ONESHOT_WEBHOOK)
    return base.rstrip("/") + path.format(secret=quote(secret, safe=""))
