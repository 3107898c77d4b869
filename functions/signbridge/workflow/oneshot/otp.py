"""`send_oneshot_otp`: the SMS code, first or resent; a resend is a new generation, a lost answer is recorded as
sent."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from signbridge.domain.changes import SignerChange
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import RequestStatus, Signer, SignerStatus
from signbridge.domain.oneshot import OtpTooSoonError
from signbridge.domain.provider_errors import RetryableError, UncertainOutcomeError
from signbridge.workflow.oneshot.common import current_turn, skip
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

logger = Logger(child=True)
R = RequestStatus
S = SignerStatus


def send_oneshot_otp(services: Services, message: OperationMessage) -> None:
    """`POST otp/{pk}`: the Optimizer texts the code. `message.generation` is the resend count (0: the first SMS),
    so a resend is a new message for SQS while a duplicate of either is not."""
    turn = current_turn(services, message, (R.ONESHOT_PENDING, R.AWAITING_OTP))
    if turn is None:
        return
    step, signer = turn
    aggregate = step.aggregate
    request = aggregate.request
    first = request.status is R.ONESHOT_PENDING and signer.status is S.CONTRACT_STORED
    resend = request.status is R.AWAITING_OTP and signer.status is S.OTP_SENT
    if not (first or resend) or signer.oneshot_request_pk is None:
        skip("no SMS wanted now", signer=signer.index, status=signer.status)
        return
    generation = message.generation
    if signer.otp_generation is not None and generation <= signer.otp_generation:
        skip("this SMS was already sent", signer=signer.index, generation=generation)
        return
    if signer.otp_intent_generation == generation:
        # A previous attempt made this call and its answer was lost. Sending again could text a second code;
        # recording it as sent costs at most a resend the signer asks for.
        _record_otp_sent(step, message, signer, detail="outcome of an earlier attempt unknown")
        return
    client = services.oneshot()  # before the intent: a failure here must not look like a lost answer
    step.update_signer(signer.index, {"otp_intent_generation": generation}, while_request=request.status)
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
        step.update_signer(signer.index, {"otp_intent_generation": None}, expected=signer.status)
        raise
    _record_otp_sent(step, message, signer, detail=detail)


def _record_otp_sent(step: Step, message: OperationMessage, signer: Signer, *, detail: str | None) -> None:
    services = step.services
    updates = {"otp_sent_at": services.clock(), "otp_generation": message.generation, "otp_intent_generation": None}
    if signer.status is S.CONTRACT_STORED:
        # The first SMS: the signer and the request move together, one write.
        step.move_request(
            R.AWAITING_OTP,
            detail=f"SMS code sent to signer {signer.index}" + (f" ({detail})" if detail else ""),
            signers=[SignerChange(signer.index, S.CONTRACT_STORED, S.OTP_SENT, updates)],
        )
    else:
        # A resend is not a move (lifecycle.py): the signer stays `otp_sent` with a new time and generation.
        step.update_signer(signer.index, updates, expected=S.OTP_SENT, while_request=R.AWAITING_OTP)
    logger.info(
        "SMS code recorded as sent",
        extra={"signer": signer.index, "generation": message.generation, "uncertain": detail is not None},
    )
    step.advance()
