"""`retrieve_oneshot_document`: a signed document from the Optimizer to S3, verified before it is recorded."""

from __future__ import annotations

from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import DocumentStatus, RequestStatus, SignerStatus, Workflow, oneshot_stage
from signbridge.domain.oneshot import PROVIDER
from signbridge.workflow.oneshot.common import current_turn, document_of, fetch_pdf, skip
from signbridge.workflow.services import Services
from signbridge.workflow.verification import hold, store_and_verify, verify_earlier

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
    # The file carries the signatures of every One-Shot signer so far (each signs the previous output), after
    # ZapSign's platform signature in `zapsign_oneshot` (judged when the ZapSign file was archived).
    signed_so_far = [other for other in aggregate.signers if other.index <= signer.index]
    prior_signatures = 1 if request.workflow is Workflow.ZAPSIGN_ONESHOT else 0
    verified = verify_earlier(
        services,
        aggregate,
        key=key,
        document_index=document.index,
        stage=stage,
        provider=PROVIDER,
        signers=signed_so_far,
        prior_signatures=prior_signatures,
    ) or fetch_pdf(
        services,
        message,
        lambda: services.oneshot().open_document(pk, uid, "signed"),
        lambda stream: store_and_verify(
            services,
            aggregate,
            key=key,
            chunks=stream.chunks,
            document_index=document.index,
            stage=stage,
            provider=PROVIDER,
            signers=signed_so_far,
            prior_signatures=prior_signatures,
        ),
        what="signed document",
    )
    if verified is None:
        return
    if not verified.passed:
        hold(step, document.index, verified)
        return
    stored = verified.stored
    step.move_document(
        document.index,
        D.ONESHOT_SIGNED,
        expected=D.ONESHOT_UPLOADED,
        updates={
            "signed_keys": {**document.signed_keys, stage: key},
            "signed_sha256": {**document.signed_sha256, stage: stored.sha256},
            "verifications": {**document.verifications, stage: verified.record()},
        },
        detail=f"signed by signer {signer.index} at One-Shot; stored and verified ({stored.size} bytes)",
        while_request=R.SIGNING,
    )
    step.advance()
