"""`cancel_zapsign_document`: `POST refuse/` for a request that ended before it was signed; and the withdrawal of a
document whose request ended while it was being created."""

from __future__ import annotations

from typing import Final

from aws_lambda_powertools import Logger

from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, Language, RequestStatus
from signbridge.domain.operations import Op
from signbridge.domain.provider_errors import PermanentError
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step
from signbridge.workflow.zapsign.common import language_of, request_id_of

logger = Logger(child=True)
R = RequestStatus


# `rejected_reason` of a cancel (§3.6): ZapSign shows it with the document, so in the document's language.
CANCEL_REASONS: Final = {
    Language.PT_BR: "Cancelado pelo remetente",
    Language.ES: "Cancelado por el remitente",
    Language.EN: "Cancelled by the sender",
}


def cancel_zapsign_document(services: Services, message: OperationMessage) -> None:
    request_id = request_id_of(message)
    step = Step.read(services, request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)
    aggregate = step.aggregate
    request = aggregate.request
    if request.status not in (R.CANCELLED, R.EXPIRED, R.FAILED):
        logger.info("request not ended: nothing to cancel", extra={"request_id": request_id})
        return
    token = request.zapsign_doc_token or aggregate.document(0).zapsign_doc_token
    if token is None:
        logger.info("no ZapSign document to cancel", extra={"request_id": request_id})
        return
    reason = message.payload.get("reason")
    rejected_reason = reason if isinstance(reason, str) and reason else CANCEL_REASONS[Language(language_of(aggregate))]
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
    step.advance()


def cancel_orphan(step: Step) -> None:
    """A request that ended while its ZapSign document was being created (cancelled meanwhile, or failed): the API's
    cancel did not know the token yet, so withdraw the document here."""
    aggregate, correlation_id = step.aggregate, step.correlation_id
    request = aggregate.request
    if request.status not in (R.CANCELLED, R.EXPIRED, R.FAILED) or request.zapsign_doc_token is not None:
        return
    if not aggregate.documents or aggregate.document(0).zapsign_doc_token is None:
        return
    cancel = OperationMessage(op=Op.CANCEL_ZAPSIGN_DOCUMENT.value, request_id=request.id, correlation_id=correlation_id)
    step.enqueue([cancel])
