"""`store_oneshot_contract`: the Optimizer's service contract to S3, once every document is uploaded."""

from __future__ import annotations

from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import RequestStatus, SignerStatus
from signbridge.workflow.oneshot.common import current_turn, skip, store_pdf
from signbridge.workflow.services import Services

R = RequestStatus
S = SignerStatus


def store_oneshot_contract(services: Services, message: OperationMessage) -> None:
    """`GET contract/{pk}` to `contracts/{request}/{signer}.pdf`, once every document is uploaded."""
    turn = current_turn(services, message, (R.ONESHOT_PENDING,))
    if turn is None:
        return
    step, signer = turn
    aggregate = step.aggregate
    request = aggregate.request
    if signer.status is not S.ONESHOT_REQUESTED or signer.oneshot_request_pk is None:
        skip("contract not wanted now", signer=signer.index, status=signer.status)
        return
    if any(signer.index not in document.oneshot_document_uids for document in aggregate.documents):
        skip("documents still uploading", signer=signer.index)  # the planner asks again after the last upload
        return
    pk = int(signer.oneshot_request_pk)
    key = keys.contract_key(request.id, signer.index)
    stored = store_pdf(services, message, key, lambda: services.oneshot().open_contract(pk), what="contract")
    if stored is None:
        return
    step.move_signer(
        signer.index,
        S.CONTRACT_STORED,
        expected=S.ONESHOT_REQUESTED,
        detail=f"One-Shot service contract stored ({stored.size} bytes)",
        updates={"contract_key": key},
        while_request=R.ONESHOT_PENDING,
    )
    step.advance()
