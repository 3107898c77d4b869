"""`confirm_oneshot_signature`: resolve a sign whose intent is recorded but whose result is not (a callback, or a
stale request), by asking the Optimizer for the first document's signed version."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from aws_lambda_powertools import Logger

from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import RequestStatus, SignerStatus
from signbridge.domain.oneshot import NotFoundError
from signbridge.workflow.oneshot.common import cause_of, current_of, skip
from signbridge.workflow.oneshot.create import adopt_lost_create
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

logger = Logger(child=True)
R = RequestStatus
S = SignerStatus


# A sign that the API started may still be running at the Optimizer for this long: API Gateway gives up after 30 s
# (the API's own read timeout is shorter), plus a margin. Before that, "no signed document yet" proves nothing.
SIGN_SETTLE_SECONDS: Final = 60


def confirm_oneshot_signature(services: Services, message: OperationMessage) -> None:
    """Resolve a sign whose intent is recorded (request `signing`, signer `otp_sent`) but whose result is not.

    Asked by the planner for a stale request, and by a One-Shot callback (a hint: `request_id` None, payload
    `{"oneshot_pk"}`). The callback's body is not trusted: the Optimizer is asked whether the first document's signed
    version exists (docs/providers/oneshot.md §6.3, the documented fallback for a lost callback). A callback for a pk
    not recorded yet, whose address named a request and signer (`created_for`), is the answer of a create that was
    lost: handed to `create.adopt_lost_create`.
    """
    located = _locate(services, message)
    if located is None:
        return
    request_id, signer_index = located
    step = Step.read(services, request_id, cause=cause_of(message), correlation_id=message.correlation_id)
    aggregate = step.aggregate
    request = aggregate.request
    if request.status is not R.SIGNING or current_of(aggregate) != signer_index:
        skip("no sign to confirm", status=request.status)
        return
    signer = aggregate.signer(signer_index)
    first = aggregate.documents[0] if aggregate.documents else None
    uid = first.oneshot_document_uids.get(signer.index) if first is not None else None
    if signer.status is not S.OTP_SENT or signer.oneshot_request_pk is None or uid is None:
        skip("no sign to confirm", signer=signer.index, status=signer.status)
        return
    pk = int(signer.oneshot_request_pk)
    try:
        with services.oneshot().open_document(pk, uid, "signed"):
            pass  # it exists: that is all this asks (the retrieval streams it later)
    except NotFoundError:
        waited = services.clock() - request.status_since
        if waited < timedelta(seconds=SIGN_SETTLE_SECONDS):
            skip("no signed document yet, but the sign may still be running", waited_seconds=waited.total_seconds())
            return
        step.move_request(
            R.AWAITING_OTP,
            detail=f"no signed document at the Optimizer: signer {signer.index}'s sign did not happen; the code "
            "may be submitted again",
        )
        step.advance()
        return
    step.move_signer(
        signer.index,
        S.SIGNED,
        expected=S.OTP_SENT,
        detail="signature confirmed at the Optimizer",
        updates={"oneshot_signed_at": services.clock()},
        while_request=R.SIGNING,
    )
    step.advance()


def _locate(services: Services, message: OperationMessage) -> tuple[str, int] | None:
    """The request and signer a message is about; a callback hint names only the One-Shot pk."""
    if message.request_id is not None:
        if message.signer is None:
            skip("no signer named")
            return None
        return message.request_id, message.signer
    pk = str(message.payload.get("oneshot_pk", ""))
    if not pk.isdigit():
        skip("a hint without a One-Shot pk")
        return None
    target = services.records.find_by_oneshot_request(pk)
    if target is None or target.signer is None:
        created_for = _created_for(message)
        if created_for is not None:
            # Not recorded, but the callback address names whom it was created for: a create whose answer was lost.
            adopt_lost_create(services, message, int(pk), *created_for)
            return None
        skip("a One-Shot request that is not ours (or not recorded yet)", oneshot_pk=pk)
        return None
    logger.append_keys(request_id=target.request_id)
    return target.request_id, target.signer


def _created_for(message: OperationMessage) -> tuple[str, int] | None:
    """The request and signer a callback's address named (`accept_oneshot_callback` puts them in the hint)."""
    named = message.payload.get("created_for")
    if not isinstance(named, dict):
        return None
    request_id, signer = named.get("request_id"), named.get("signer")
    if not isinstance(request_id, str) or not request_id or not isinstance(signer, int) or isinstance(signer, bool):
        return None
    return request_id, signer
