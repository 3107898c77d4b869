"""`retrieve_oneshot_document`: a signed document from the Optimizer to S3."""

from __future__ import annotations

from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import DocumentStatus, RequestStatus, SignerStatus, oneshot_stage
from signbridge.workflow.oneshot.common import current_turn, document_of, skip, store_pdf
from signbridge.workflow.services import Services

R = RequestStatus
D = DocumentStatus
S = SignerStatus


def retrieve_oneshot_document(services: Services, message: OperationMessage) -> None:
    """`GET document/{pk}/{uid}?document_type=signed` to `signed/{request}/{document}/oneshot-{signer}.pdf`."""
    turn = current_turn(services, message, (R.SIGNING,))
    if turn is None:
        return
    step, signer = turn
    aggregate = step.aggregate
    request = aggregate.request
    document = document_of(aggregate, message)
    stage = oneshot_stage(signer.index)
    if document is None or signer.status is not S.SIGNED or signer.oneshot_request_pk is None:
        skip("nothing to retrieve now", signer=signer.index, status=signer.status)
        return
    uid = document.oneshot_document_uids.get(signer.index)
    if stage in document.signed_keys or uid is None or document.status is not D.ONESHOT_UPLOADED:
        skip("already retrieved", document=document.index, status=document.status)
        return
    pk = int(signer.oneshot_request_pk)
    key = keys.signed_key(request.id, document.index, stage)
    stored = store_pdf(
        services, message, key, lambda: services.oneshot().open_document(pk, uid, "signed"), what="signed document"
    )
    if stored is None:
        return
    step.move_document(
        document.index,
        D.ONESHOT_SIGNED,
        expected=D.ONESHOT_UPLOADED,
        updates={
            "signed_keys": {**document.signed_keys, stage: key},
            "signed_sha256": {**document.signed_sha256, stage: stored.sha256},
        },
        detail=f"signed by signer {signer.index} at One-Shot; stored ({stored.size} bytes)",
        while_request=R.SIGNING,
    )
    step.advance()
