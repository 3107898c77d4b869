"""The planner: given where a request stands, what must happen for it to move on.

A pure function of the request aggregate (no I/O), so it is cheap to test exhaustively and safe to call as often as
we like. The worker asks it after every step; the reconciler asks it (with `stale=True`) for requests that have not
moved for too long. Its answer is a `Plan`: at most one `Move` (a request transition that needs no provider call:
the intake finishing, the turn passing to the next One-Shot signer, the request completing) and the operation
messages to enqueue. A completed request whose evidence package is not built (or whose rebuild was asked) gets its
`build_evidence_package`. docs/workflows.md has the table this code implements.
"""

from __future__ import annotations

from dataclasses import dataclass

from signbridge.domain.changes import DocumentChange, Move, Plan
from signbridge.domain.lifecycle import is_terminal
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    ZAPSIGN_STAGE,
    Document,
    DocumentStatus,
    IdImageKind,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    Signer,
    SignerStatus,
    Workflow,
    oneshot_stage,
)
from signbridge.domain.operations import Op

R = RequestStatus
D = DocumentStatus
S = SignerStatus


def plan_next_steps(aggregate: RequestAggregate, *, correlation_id: str, stale: bool = False) -> Plan:
    """What should happen next for this request. `stale`: the reconciler asks because nothing moved for too long,
    so the planner also asks the providers for the truth where the request waits on them."""
    request = aggregate.request
    if is_terminal(request.status):
        evidence = (evidence_step(request, correlation_id),) if request.evidence_pending else ()
        return Plan(steps=(*_cleanup_steps(aggregate, correlation_id), *evidence))
    planners = {
        R.DRAFT: _plan_draft,
        R.SUBMITTED: _plan_submitted,
        R.ZAPSIGN_PENDING: _plan_zapsign_pending,
        R.ZAPSIGN_SIGNED: _plan_zapsign_signed,
        R.ONESHOT_PENDING: _plan_oneshot_pending,
        R.AWAITING_OTP: _plan_awaiting_otp,
        R.SIGNING: _plan_signing,
        R.VERIFICATION_FAILED: _plan_verification_failed,
        R.ARCHIVING: _plan_archiving,
    }
    plan = planners[request.status](_Context(aggregate, correlation_id, stale))
    cleanup = tuple(_cleanup_steps(aggregate, correlation_id))
    return Plan(move=plan.move, steps=plan.steps + cleanup)


@dataclass(frozen=True)
class _Context:
    aggregate: RequestAggregate
    correlation_id: str
    stale: bool

    @property
    def workflow(self) -> Workflow:
        return self.aggregate.request.workflow

    def step(self, op: Op, *, signer: int | None = None, document: int | None = None, generation: int = 0) -> Plan:
        return Plan(steps=(self.message(op, signer=signer, document=document, generation=generation),))

    def message(
        self, op: Op, *, signer: int | None = None, document: int | None = None, generation: int = 0
    ) -> OperationMessage:
        return OperationMessage(
            op=op.value,
            request_id=self.aggregate.request.id,
            signer=signer,
            document=document,
            generation=generation,
            correlation_id=self.correlation_id,
        )


def _plan_draft(context: _Context) -> Plan:
    documents = context.aggregate.documents
    if documents and all(document.status is D.RECEIVED for document in documents):
        return Plan(move=Move(R.SUBMITTED, "every document received"))
    return Plan()


def _plan_submitted(context: _Context) -> Plan:
    if context.workflow.uses_zapsign:
        return context.step(Op.CREATE_ZAPSIGN_DOCUMENT)
    return Plan(move=Move(R.ONESHOT_PENDING, "One-Shot turn of signer 0", updates={"current_signer": 0}))


def _plan_zapsign_pending(context: _Context) -> Plan:
    # Webhooks drive this stage; a stale request asks ZapSign itself (a lost webhook heals here).
    return context.step(Op.SYNC_ZAPSIGN_DOCUMENT) if context.stale else Plan()


def _plan_zapsign_signed(context: _Context) -> Plan:
    aggregate = context.aggregate
    archived = (D.ARCHIVED, D.ZAPSIGN_SIGNED)
    steps = [
        context.message(Op.ARCHIVE_ZAPSIGN_DOCUMENT, document=document.index)
        for document in aggregate.documents
        if document.status not in archived
    ]
    if context.workflow is Workflow.ZAPSIGN_ONESHOT:
        steps += [
            context.message(Op.ARCHIVE_ZAPSIGN_EVIDENCE, signer=signer.index)
            for signer in aggregate.signers
            if not _has_evidence(signer)
        ]
    if steps:
        return Plan(steps=tuple(steps))
    if context.workflow is Workflow.ZAPSIGN:
        return Plan(move=Move(R.ARCHIVING, "every ZapSign-signed document stored"))
    return Plan(
        move=Move(R.ONESHOT_PENDING, "ZapSign part stored; One-Shot turn of signer 0", updates={"current_signer": 0})
    )


def _plan_oneshot_pending(context: _Context) -> Plan:
    aggregate = context.aggregate
    signer = aggregate.signer(_current_signer(context))
    if signer.status in (S.PENDING, S.ZAPSIGN_SIGNED):
        return context.step(Op.CREATE_ONESHOT_REQUEST, signer=signer.index)
    if signer.status is S.ONESHOT_REQUESTED:
        missing = [document for document in aggregate.documents if signer.index not in document.oneshot_document_uids]
        if missing:
            return Plan(
                steps=tuple(
                    context.message(Op.UPLOAD_ONESHOT_DOCUMENT, signer=signer.index, document=document.index)
                    for document in missing
                )
            )
        return context.step(Op.STORE_ONESHOT_CONTRACT, signer=signer.index)
    if signer.status is S.CONTRACT_STORED:
        return context.step(Op.SEND_ONESHOT_OTP, signer=signer.index)
    if signer.status is S.OTP_SENT:
        return Plan(move=Move(R.AWAITING_OTP, f"SMS code sent to signer {signer.index}"))
    return Plan()


def _plan_awaiting_otp(context: _Context) -> Plan:
    return Plan()  # the client submits the code (POST …/otp); the housekeeper expires the request at its deadline


def _plan_signing(context: _Context) -> Plan:
    aggregate = context.aggregate
    signer = aggregate.signer(_current_signer(context))
    if signer.status is S.OTP_SENT:
        # The sign call's intent is recorded but not its result: the API crashed or is still waiting. Only a stale
        # request asks the Optimizer whether the signature exists.
        return context.step(Op.CONFIRM_ONESHOT_SIGNATURE, signer=signer.index) if context.stale else Plan()
    if signer.status is not S.SIGNED:
        return Plan()
    stage = oneshot_stage(signer.index)
    missing = [document for document in aggregate.documents if stage not in document.signed_keys]
    if missing:
        return Plan(
            steps=tuple(
                context.message(Op.RETRIEVE_ONESHOT_DOCUMENT, signer=signer.index, document=document.index)
                for document in missing
            )
        )
    following = signer.index + 1
    if following < len(aggregate.signers):
        return Plan(
            move=Move(R.ONESHOT_PENDING, f"One-Shot turn of signer {following}", updates={"current_signer": following})
        )
    return Plan(move=Move(R.ARCHIVING, "every One-Shot signature stored"))


def _plan_verification_failed(context: _Context) -> Plan:
    # An operator decides (retry or accept, `signbridge requests …`): fetching the same file again by itself would
    # loop on a provider that keeps serving a bad one. The file's signer keeps their Optimizer copy until then.
    return Plan()


def _plan_archiving(context: _Context) -> Plan:
    changes = tuple(
        DocumentChange(
            document.index,
            document.status,
            D.ARCHIVED,
            {"final_key": final_key(context.workflow, document, len(context.aggregate.signers))},
        )
        for document in context.aggregate.documents
        if document.status is not D.ARCHIVED
    )
    return Plan(move=Move(R.COMPLETED, "every signed document stored", document_changes=changes))


def _cleanup_steps(aggregate: RequestAggregate, correlation_id: str) -> list[OperationMessage]:
    """Deleting a signer's documents from the Optimizer once their signed outputs are in S3: the Optimizer never
    deletes anything by itself."""
    steps = []
    for signer in aggregate.signers:
        if signer.oneshot_request_pk is None or signer.oneshot_deleted_at is not None or signer.status is not S.SIGNED:
            continue
        stage = oneshot_stage(signer.index)
        if all(stage in document.signed_keys for document in aggregate.documents):
            steps.append(
                OperationMessage(
                    op=Op.DELETE_ONESHOT_DOCUMENTS.value,
                    request_id=aggregate.request.id,
                    signer=signer.index,
                    correlation_id=correlation_id,
                )
            )
    return steps


def evidence_step(request: SignatureRequest, correlation_id: str) -> OperationMessage:
    """The build of a completed request's evidence package (`workflow/evidence_package.py`). Its generation is the
    time of the last rebuild asked (milliseconds), so a rebuild is not dropped as a repeat of the build before it
    (SQS FIFO drops a repeated deduplication id within five minutes)."""
    asked = request.evidence_requested_at
    return OperationMessage(
        op=Op.BUILD_EVIDENCE_PACKAGE.value,
        request_id=request.id,
        generation=int(asked.timestamp() * 1000) if asked else 0,
        correlation_id=correlation_id,
    )


def final_key(workflow: Workflow, document: Document, signer_count: int) -> str | None:
    """The S3 key of a document's last signed version: the last One-Shot signer's, or ZapSign's."""
    stage = oneshot_stage(signer_count - 1) if workflow.uses_oneshot else ZAPSIGN_STAGE
    return document.signed_keys.get(stage)


def oneshot_input_key(workflow: Workflow, document: Document, signer_index: int) -> str | None:
    """What signer `signer_index` signs at One-Shot: the previous signer's output, the ZapSign-signed PDF, or the
    original."""
    if signer_index > 0:
        return document.signed_keys.get(oneshot_stage(signer_index - 1))
    if workflow is Workflow.ZAPSIGN_ONESHOT:
        return document.signed_keys.get(ZAPSIGN_STAGE)
    return document.original_key


def _current_signer(context: _Context) -> int:
    return context.aggregate.request.current_signer or 0


def _has_evidence(signer: Signer) -> bool:
    return all(kind in signer.evidence_keys for kind in IdImageKind)
