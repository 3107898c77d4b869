"""`advance` (`signbridge.workflow.progress`) on `Services` whose record store and queues are the in-memory fakes of
the ports (`tests/support/memory.py`): it writes the planner's moves through the store, plans again from the
aggregate the store answers without reading it, and enqueues the steps it planned."""

from __future__ import annotations

from datetime import UTC, datetime

from signbridge.domain.models import (
    Cause,
    DocumentStatus,
    RequestAggregate,
    RequestStatus,
    SignerStatus,
    TimelineEntry,
    Workflow,
)
from signbridge.domain.operations import Op, Queue
from signbridge.workflow.progress import advance
from tests.support.memory import MemoryQueues, MemoryRecords, memory_services
from tests.support.samples import new_request

R = RequestStatus
D = DocumentStatus
S = SignerStatus
THEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def aggregate(workflow: Workflow, status: RequestStatus, *, documents: int = 2, signers: int = 2) -> RequestAggregate:
    request, document_items, signer_items = new_request(
        workflow, request_id="req-1", documents=documents, signers=signers, now=THEN
    )
    first = TimelineEntry(
        id="evt-0", at=THEN, to_status=R.SUBMITTED, cause=Cause.API, correlation_id="corr-create", detail="created"
    )
    return RequestAggregate(
        request=request.model_copy(update={"status": status, "version": 3}),
        documents=tuple(document_items),
        signers=tuple(signer_items),
        timeline=(first,),
    )


def moves(records: MemoryRecords) -> list[str | None]:
    return [write.to for write in records.writes if write.kind == "move_request"]


def sent(queues: MemoryQueues) -> list[tuple[Queue, str, int | None, int | None]]:
    return [(queue, message.op, message.signer, message.document) for queue, message in queues.sent]


def test_advance_makes_every_move_it_can_then_enqueues_the_next_step_without_reading() -> None:
    # Given a submitted One-Shot request, handed to advance as the caller holds it
    current = aggregate(Workflow.ONESHOT, R.SUBMITTED, signers=1)
    records, queues = MemoryRecords(current), MemoryQueues()
    # When advance runs
    after = advance(
        memory_services(records, queues), "req-1", cause=Cause.WORKER, correlation_id="corr", aggregate=current
    )
    # Then it moved the request to signer 0's One-Shot turn and enqueued that signer's first step
    assert moves(records) == [R.ONESHOT_PENDING]
    assert sent(queues) == [(Queue.ONESHOT, Op.CREATE_ONESHOT_REQUEST, 0, None)]
    # And returned the request as written, having read nothing
    assert (after.request.status, after.request.version, after.request.current_signer) == (R.ONESHOT_PENDING, 4, 0)
    assert records.reads == 0


def test_advance_runs_a_zapsign_request_from_signed_to_completed() -> None:
    # Given a ZapSign request whose signed documents are all stored
    current = aggregate(Workflow.ZAPSIGN, R.ZAPSIGN_SIGNED, signers=1)
    current = current.model_copy(
        update={
            "documents": tuple(
                d.model_copy(update={"status": D.ZAPSIGN_SIGNED, "signed_keys": {"zapsign": f"signed/{d.index}.pdf"}})
                for d in current.documents
            )
        }
    )
    records, queues = MemoryRecords(current), MemoryQueues()
    # When advance runs
    after = advance(
        memory_services(records, queues), "req-1", cause=Cause.WORKER, correlation_id="c", aggregate=current
    )
    # Then it archives and completes in two moves, each document pointing at its signed file, with nothing to enqueue
    assert moves(records) == [R.ARCHIVING, R.COMPLETED]
    assert [(d.status, d.final_key) for d in after.documents] == [
        (D.ARCHIVED, "signed/0.pdf"),
        (D.ARCHIVED, "signed/1.pdf"),
    ]
    assert sent(queues) == [(Queue.ONESHOT, Op.BUILD_EVIDENCE_PACKAGE, None, None)]  # its evidence package
    assert after.request.version == 5


def test_advance_after_a_lost_race_reads_the_request_and_plans_from_there() -> None:
    # Given a submitted One-Shot request that someone else moves on before advance writes
    current = aggregate(Workflow.ONESHOT, R.SUBMITTED, signers=1)
    rival = aggregate(Workflow.ONESHOT, R.ONESHOT_PENDING, signers=1)
    rival = rival.model_copy(
        update={
            "request": rival.request.model_copy(update={"current_signer": 0, "version": 4}),
            "signers": tuple(s.model_copy(update={"status": S.CONTRACT_STORED}) for s in rival.signers),
        }
    )
    records, queues = MemoryRecords(current), MemoryQueues()
    records.rival = rival
    # When advance runs
    after = advance(
        memory_services(records, queues), "req-1", cause=Cause.WORKER, correlation_id="c", aggregate=current
    )
    # Then its move lost, it read the request once, and planned the step due from where the request now stands
    assert moves(records) == []
    assert records.reads == 1
    assert sent(queues) == [(Queue.ONESHOT, Op.SEND_ONESHOT_OTP, 0, None)]
    assert after == rival
