"""The API's synchronous One-Shot use cases: submit the SMS code (which signs at the Optimizer) and ask for another.

Signing is the one provider call made from the API rather than the worker (docs/design.md, "Shape"): the client waits
for its answer. It is not idempotent upstream (it issues a qualified certificate), so it follows the intent rule: the
request moves `awaiting_otp → signing` first (conditional on its version: two submissions of the same code cannot
both call the Optimizer), then the call, then the result:

| the Optimizer answers            | the request                                    | the client gets                  |
|----------------------------------|------------------------------------------------|----------------------------------|
| signed                           | signer `signed`; retrievals queued             | the request                      |
| signed in the background (async) | stays `signing` (the callback finishes it)     | the request                      |
| already signed (`ISSUED`)        | as signed                                      | the request                      |
| wrong code                       | back to `awaiting_otp`, `otp_failures` + 1     | 422 `otp-rejected` (try again)   |
| unavailable, 429, never reached  | back to `awaiting_otp`                         | 503 with Retry-After             |
| no answer, or 5xx after sending  | stays `signing`: `confirm_oneshot_signature`   | 503: the outcome is being        |
|                                  | resolves it                                    | confirmed                        |
| any other refusal                | `failed` with the Optimizer's reason           | 409                              |

Wrong codes are limited (`Settings.otp_max_failures`, 5 by default): they count on the signer (`otp_failures`, set
in the same write as the move back; a try adds no timeline entry), and a signer at the limit is locked: a code is
refused with `SignerLockedError` (423) before anything is written or the Optimizer called, until an operator unlocks
them (`unlock_otp` sets the count back to 0). A resend stays possible while locked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from aws_lambda_powertools import Logger

from signbridge.domain import appearance, models
from signbridge.domain.changes import SignerChange
from signbridge.domain.errors import ConcurrentUpdateError, SignerNotFoundError
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, RequestAggregate, RequestStatus, Signer, SignerStatus
from signbridge.domain.oneshot import (
    OTP_INTERVAL_SECONDS,
    AlreadySignedError,
    InvalidOtpError,
    SignatureAppearance,
)
from signbridge.domain.operations import Op
from signbridge.domain.provider_errors import PermanentError, RetryableError, UncertainOutcomeError
from signbridge.workflow.errors import (
    NotAwaitingOtpError,
    NotLockedError,
    OtpRejectedError,
    OtpResendTooSoonError,
    ProviderUnavailableError,
    RequestStateError,
    SignerLockedError,
)
from signbridge.workflow.ports import OneShotClient
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

logger = Logger(child=True)

R = RequestStatus
S = SignerStatus

# API Gateway gives an integration 30 s; the sign must answer well within it, with room for our own writes.
SIGN_READ_TIMEOUT_SECONDS: Final = 20.0
SIGN_CONNECT_TIMEOUT_SECONDS: Final = 3.05
# One attempt: a retry (with its backoff, or a `Retry-After` of up to a minute) could not fit in that budget, and the
# client can submit the code again after a 503.
SIGN_MAX_ATTEMPTS: Final = 1
UNAVAILABLE_RETRY_AFTER_SECONDS: Final = 5
CONFIRMING_RETRY_AFTER_SECONDS: Final = 30


def submit_otp(
    services: Services, request_id: str, signer_index: int, code: str, *, correlation_id: str
) -> RequestAggregate:
    """Sign the current signer's documents at the Optimizer with the SMS `code`. Returns the request afterwards.

    Raises `NotAwaitingOtpError` (409) unless the request awaits this signer's code, `OtpRejectedError` (422) for a
    wrong code, `ProviderUnavailableError` (503) when the Optimizer cannot answer now, `RequestStateError` (409) when
    it refused the sign for good (the request has failed); `RequestNotFoundError` / `SignerNotFoundError` (404).
    """
    step = Step.read(services, request_id, cause=Cause.API, correlation_id=correlation_id)
    aggregate = step.aggregate
    signer = _awaiting_signer(aggregate, signer_index)
    limit = services.settings.otp_max_failures
    if signer.otp_failures >= limit:
        raise SignerLockedError(
            f"signer {signer_index} of request {request_id} entered {signer.otp_failures} wrong SMS codes "
            f"(the limit is {limit}) and is locked; an operator can unlock them"
        )
    request = aggregate.request
    # Everything that can fail without calling the Optimizer happens before the intent is recorded.
    appearance = _appearance(request)
    client = _sign_client(services)
    pk = int(signer.oneshot_request_pk or 0)
    try:
        # No timeline entry for a try (nor for the move back after a wrong code): tries count on the signer, and the
        # timeline stays a few entries however many codes are typed. The outcome's own moves leave `signing` with one.
        step.move_request(R.SIGNING, detail=f"SMS code submitted for signer {signer_index}", record_event=False)
    except ConcurrentUpdateError:
        raise NotAwaitingOtpError(
            f"request {request_id} changed meanwhile (another submission of a code, a cancel); read it and try again"
        ) from None
    try:
        result = client.sign(pk, code, appearance=appearance)
    except InvalidOtpError:
        failures = signer.otp_failures + 1
        _back_to_awaiting(
            step,
            detail=f"the code was not accepted ({failures} of {limit} wrong codes)",
            signers=[SignerChange(signer_index, S.OTP_SENT, None, {"otp_failures": failures})],
        )
        if failures >= limit:
            raise OtpRejectedError(
                f"the code was not accepted; that was wrong code {failures} of {limit}: the signer is now locked "
                "until an operator unlocks them"
            ) from None
        raise OtpRejectedError(
            f"the code was not accepted ({failures} of {limit} wrong codes); the signer can try again"
        ) from None
    except AlreadySignedError:
        logger.info("the Optimizer had already signed this request", extra={"signer": signer_index})
        return _record_signed(step, signer_index)
    except RetryableError as error:
        _back_to_awaiting(step, detail=f"the Optimizer is unavailable ({error.message})")
        retry_after = math.ceil(error.retry_after) if error.retry_after else UNAVAILABLE_RETRY_AFTER_SECONDS
        raise ProviderUnavailableError(
            "the signing service is unavailable; submit the code again shortly", retry_after_seconds=retry_after
        ) from None
    except UncertainOutcomeError as error:
        # The certificate may have been issued: calling again could sign twice. The request stays `signing`; the
        # confirm step (a callback, or the reconciler) asks the Optimizer for the signed document.
        logger.warning("sign outcome unknown; left for confirmation", extra={"provider_message": error.message})
        raise ProviderUnavailableError(
            "the signing service did not answer in time; the outcome is being confirmed: read the request in a "
            "moment before submitting the code again",
            retry_after_seconds=CONFIRMING_RETRY_AFTER_SECONDS,
        ) from None
    except PermanentError as error:
        reason = f"{error.provider} {error.operation} refused: {error.message}"
        step.fail(reason)
        raise RequestStateError(
            f"the signing service refused to sign ({error.message}); the request has failed"
        ) from None
    if result.async_mode:
        # The Optimizer signs in the background and reports it by callback (docs/providers/oneshot.md §3, N7).
        logger.info("the Optimizer signs in the background", extra={"signer": signer_index})
        return services.records.get_request(request_id)
    return _record_signed(step, signer_index)


def resend_otp(services: Services, request_id: str, signer_index: int, *, correlation_id: str) -> None:
    """Ask for another SMS code for the current signer (the worker sends it).

    Raises `NotAwaitingOtpError` (409) unless the request awaits this signer's code, and `OtpResendTooSoonError`
    (429, with the seconds to wait) within a minute of the last SMS: the Optimizer sends at most one a minute
    (docs/providers/oneshot.md §6.4).
    """
    step = Step.read(services, request_id, cause=Cause.API, correlation_id=correlation_id)
    signer = _awaiting_signer(step.aggregate, signer_index)
    if signer.otp_sent_at is not None:
        elapsed = (services.clock() - signer.otp_sent_at).total_seconds()
        if elapsed < OTP_INTERVAL_SECONDS:
            wait = max(1, math.ceil(OTP_INTERVAL_SECONDS - elapsed))
            raise OtpResendTooSoonError(
                f"the last code was sent less than a minute ago; ask again in {wait} s", retry_after_seconds=wait
            )
    generation = signer.otp_resends + 1
    try:
        step.update_signer(signer_index, {"otp_resends": generation}, expected=S.OTP_SENT, while_request=R.AWAITING_OTP)
    except ConcurrentUpdateError:
        raise NotAwaitingOtpError(f"request {request_id} changed meanwhile; read it and try again") from None
    # The generation makes this a new message for SQS (a duplicate of the same resend shares it and is dropped).
    step.enqueue(
        [
            OperationMessage(
                op=Op.SEND_ONESHOT_OTP.value,
                request_id=request_id,
                signer=signer_index,
                generation=generation,
                correlation_id=correlation_id,
            )
        ],
    )
    logger.info("another SMS code asked for", extra={"signer": signer_index, "generation": generation})


def unlock_otp(
    services: Services, request_id: str, signer_index: int, *, operator: str, correlation_id: str
) -> RequestAggregate:
    """An operator unlocks a signer locked after too many wrong SMS codes: the count goes back to 0 (the log records
    the unlock and `operator`, a name or ticket). Raises
    `NotLockedError` (409) for a signer who is not locked, `NotAwaitingOtpError` (409) unless the request awaits
    this signer's code; `RequestNotFoundError` / `SignerNotFoundError` (404)."""
    step = Step.read(services, request_id, cause=Cause.OPERATOR, correlation_id=correlation_id)
    signer = _awaiting_signer(step.aggregate, signer_index)
    if signer.otp_failures < services.settings.otp_max_failures:
        raise NotLockedError(f"signer {signer_index} of request {request_id} is not locked")
    try:
        unlocked = step.update_signer(
            signer_index, {"otp_failures": 0}, expected=S.OTP_SENT, while_request=R.AWAITING_OTP
        )
    except ConcurrentUpdateError:
        raise NotAwaitingOtpError(f"request {request_id} changed meanwhile; read it and try again") from None
    logger.info(
        "signer unlocked",
        extra={"signer": signer_index, "operator": operator[:64], "wrong_codes": signer.otp_failures},
    )
    return unlocked


# ------------------------------------------------------------------------------------------------ helpers


def _awaiting_signer(aggregate: RequestAggregate, signer_index: int) -> Signer:
    """The signer, if the request awaits this signer's code; else `NotAwaitingOtpError` (or 404 for no signer)."""
    request = aggregate.request
    signer = next((signer for signer in aggregate.signers if signer.index == signer_index), None)
    if signer is None:
        raise SignerNotFoundError(request.id, signer_index)
    if not request.workflow.uses_oneshot:
        raise NotAwaitingOtpError(f"request {request.id} uses the {request.workflow} workflow: no SMS codes")
    if request.status is not R.AWAITING_OTP:
        raise NotAwaitingOtpError(f"request {request.id} is {request.status}, not awaiting an SMS code")
    if request.current_signer != signer_index or signer.status is not S.OTP_SENT or not signer.oneshot_request_pk:
        raise NotAwaitingOtpError(
            f"request {request.id} awaits the code of signer {request.current_signer}, not of signer {signer_index}"
        )
    return signer


def _appearance(request: models.SignatureRequest) -> SignatureAppearance | None:
    """The request's visible signature as the sign call takes it (validated when the request was created)."""
    if not request.signature_appearance:
        return None
    stored = appearance.SignatureAppearance.model_validate(request.signature_appearance)
    position = stored.position
    return SignatureAppearance(
        text=stored.text,
        date=stored.date_format,
        timezone=stored.timezone,
        position=None if position is None else (position.x1, position.y1, position.x2, position.y2),
        page=stored.page,
        image=stored.image_uid,
    )


def _sign_client(services: Services) -> OneShotClient:
    """The One-Shot client with the sign call's budget: the pooled session and credentials of `services.oneshot()`,
    a read timeout that fits API Gateway's 30 s, and a single attempt."""
    return services.oneshot().with_budget(
        max_attempts=SIGN_MAX_ATTEMPTS,
        connect_timeout=SIGN_CONNECT_TIMEOUT_SECONDS,
        read_timeout=SIGN_READ_TIMEOUT_SECONDS,
    )


def _back_to_awaiting(step: Step, *, detail: str, signers: Sequence[SignerChange] = ()) -> None:
    """The sign did not happen: the signer may submit a code again (`signers`: the wrong-code count, same write)."""
    try:
        step.move_request(R.AWAITING_OTP, detail=detail, signers=signers, record_event=False)
    except ConcurrentUpdateError:
        logger.warning("the request moved while signing; left as it is", extra={"request_id": step.request.id})


def _record_signed(step: Step, signer_index: int) -> RequestAggregate:
    try:
        step.move_signer(
            signer_index,
            S.SIGNED,
            expected=S.OTP_SENT,
            detail="signed at the Optimizer",
            updates={"oneshot_signed_at": step.services.clock()},
            while_request=R.SIGNING,
        )
    except ConcurrentUpdateError:
        # The confirm step (a callback) recorded it first, or the request moved: what the store says stands.
        logger.info("signature already recorded meanwhile", extra={"signer": signer_index})
        return step.advance(read_again=True)
    return step.advance()
