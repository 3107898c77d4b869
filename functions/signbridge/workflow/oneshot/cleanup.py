"""`delete_oneshot_documents` (once a signer's outputs are in S3) and `cancel_oneshot_request` (a request that
ended): delete what the Optimizer holds, which never deletes anything itself."""

from __future__ import annotations

from typing import cast

from aws_lambda_powertools import Logger

from signbridge.domain.lifecycle import is_terminal
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, Signer, SignerStatus, oneshot_stage
from signbridge.workflow.oneshot.common import signer_of, skip
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

logger = Logger(child=True)
S = SignerStatus


def delete_oneshot_documents(services: Services, message: OperationMessage) -> None:
    """`DELETE document/{pk}` once the signer's outputs are in S3: the Optimizer never deletes anything itself."""
    if message.request_id is None or message.signer is None:
        skip("no request or signer named")
        return
    step = Step.read(services, message.request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)
    aggregate = step.aggregate
    signer = signer_of(aggregate, message.signer)
    if signer is None or signer.oneshot_request_pk is None or signer.oneshot_deleted_at is not None:
        skip("nothing to delete", signer=message.signer)
        return
    stage = oneshot_stage(signer.index)
    if signer.status is not S.SIGNED or any(stage not in document.signed_keys for document in aggregate.documents):
        skip("outputs not all stored yet", signer=signer.index)  # deleting now would lose a signature
        return
    _delete_at_optimizer(step, signer)
    if not is_terminal(aggregate.request.status):
        step.advance()


def cancel_oneshot_request(services: Services, message: OperationMessage) -> None:
    """Delete whatever the Optimizer still holds for a request that ended (cancelled, expired, failed): every
    signer with a One-Shot request whose documents were not deleted yet."""
    if message.request_id is None:
        skip("no request named")
        return
    step = Step.read(services, message.request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)
    aggregate = step.aggregate
    if not is_terminal(aggregate.request.status):
        skip("the request has not ended", status=aggregate.request.status)
        return
    for signer in aggregate.signers:
        if signer.oneshot_request_pk is not None and signer.oneshot_deleted_at is None:
            _delete_at_optimizer(step, signer)


def _delete_at_optimizer(step: Step, signer: Signer) -> None:
    services = step.services
    pk = int(cast("str", signer.oneshot_request_pk))
    deleted = services.oneshot().delete_all_documents(pk)  # False: already gone (404), the goal all the same
    step.update_signer(signer.index, {"oneshot_deleted_at": services.clock()}, expected=signer.status)
    logger.info("One-Shot documents deleted", extra={"signer": signer.index, "were_there": deleted})
