"""`Step` (`signbridge.workflow.step`), the one way a step changes a request, on the in-memory fakes of the ports
(`tests/support/memory.py`): each write is conditional and goes through the record store, the `Step` keeps the
aggregate the store answers, and `advance` plans from it without reading the request again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signbridge.domain.changes import DocumentChange, Lookup, LookupKind
from signbridge.domain.errors import ConcurrentUpdateError, TransitionNotAllowedError
from signbridge.domain.models import (
    Cause,
    DocumentStatus,
    RequestAggregate,
    RequestStatus,
    SignerStatus,
    TimelineEntry,
    TimelineSubject,
    Workflow,
)
from signbridge.domain.operations import Op, Queue
from signbridge.workflow.step import Step
from tests.support.memory import NOW, MemoryQueues, MemoryRecords, memory_services, with_parts
from tests.support.samples import new_request

R = RequestStatus
D = DocumentStatus
S = SignerStatus
THEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def stored(workflow: Workflow, status: RequestStatus, *, documents: int = 1, signers: int = 1) -> RequestAggregate:
    request, document_items, signer_items = new_request(
        workflow, request_id="req-1", documents=documents, signers=signers, now=THEN
    )
    first = TimelineEntry(id="evt-0", at=THEN, to_status=R.SUBMITTED, cause=Cause.API, correlation_id="c0")
    return RequestAggregate(
        request=request.model_copy(update={"status": status, "version": 3}),
        documents=tuple(document_items),
        signers=tuple(signer_items),
        timeline=(first,),
    )


def step_on(aggregate: RequestAggregate) -> tuple[Step, MemoryRecords, MemoryQueues]:
    records, queues = MemoryRecords(aggregate), MemoryQueues()
    services = memory_services(records, queues)
    return Step.read(services, "req-1", cause=Cause.WORKER, correlation_id="corr"), records, queues


def test_a_request_move_is_written_conditionally_and_answered_as_written() -> None:
    # Given a step on a submitted ZapSign request (read once)
    step, records, _ = step_on(stored(Workflow.ZAPSIGN, R.SUBMITTED))
    # When it moves the request with a field, a document change and a lookup
    after = step.move_request(
        R.ZAPSIGN_PENDING,
        detail="created",
        updates={"zapsign_doc_token": "doc-1"},
        documents=[DocumentChange(0, D.RECEIVED, D.ZAPSIGN_PENDING, {"zapsign_doc_token": "doc-1"})],
        lookups=[Lookup.zapsign_doc("doc-1")],
    )
    # Then one conditional request write carried all of it
    assert [(write.kind, write.to) for write in records.writes] == [("move_request", "zapsign_pending")]
    assert records.lookups[(LookupKind.ZAPSIGN_DOC, "doc-1")].request_id == "req-1"
    # And the step holds the aggregate as the store now holds it: status, version, fields, timeline entry
    assert after == step.aggregate == records.stored["req-1"]
    assert (after.request.status, after.request.version, after.request.zapsign_doc_token) == (
        R.ZAPSIGN_PENDING,
        4,
        "doc-1",
    )
    assert after.document(0).status is D.ZAPSIGN_PENDING
    moved, carried = after.timeline[-2:]
    assert (moved.subject, moved.from_status, moved.to_status, moved.detail, moved.at) == (
        TimelineSubject.REQUEST,
        "submitted",
        "zapsign_pending",
        "created",
        NOW,
    )
    # and the document's move it carried has its own entry, at the same instant
    assert (carried.subject, carried.subject_index, carried.from_status, carried.to_status, carried.at) == (
        TimelineSubject.DOCUMENT,
        0,
        "received",
        "zapsign_pending",
        NOW,
    )
    assert records.reads == 1  # Step.read; the write answered without another


def test_a_part_move_is_conditional_on_the_part_and_the_request_status() -> None:
    # Given a step on a oneshot request, and the request moved on by someone else after the step read it
    aggregate = stored(Workflow.ONESHOT, R.ONESHOT_PENDING)
    step, records, _ = step_on(aggregate)
    records.stored["req-1"] = with_parts(aggregate, request={"status": R.CANCELLED, "version": 4})
    # When the step moves its signer only while the request is still oneshot_pending
    with pytest.raises(ConcurrentUpdateError):
        step.move_signer(0, S.ONESHOT_REQUESTED, updates={"oneshot_request_pk": "7"}, while_request=R.ONESHOT_PENDING)
    # Then nothing was written and the step still holds what it read
    assert records.writes == []
    assert step.aggregate == aggregate


def test_a_move_the_lifecycle_forbids_is_refused_before_writing() -> None:
    # Given a step on a completed request
    step, records, _ = step_on(stored(Workflow.ZAPSIGN, R.COMPLETED))
    # When it tries to move it back
    with pytest.raises(TransitionNotAllowedError):
        step.move_request(R.ZAPSIGN_PENDING)
    # Then nothing was written
    assert records.writes == []


def test_an_update_then_advance_plans_from_what_was_written_without_reading() -> None:
    # Given a step on a oneshot request at signer 0's turn, whose contract is stored
    aggregate = with_parts(
        stored(Workflow.ONESHOT, R.ONESHOT_PENDING),
        request={"current_signer": 0},
        signer0={"status": S.CONTRACT_STORED, "oneshot_request_pk": "7", "contract_key": "contracts/req-1/0.pdf"},
    )
    step, records, queues = step_on(aggregate)
    # When it records an intent on the signer (no move) and advances
    step.update_signer(0, {"otp_intent_generation": 0}, while_request=R.ONESHOT_PENDING)
    after = step.advance()
    # Then the update was written conditionally on the signer's status held, and the request was not read again
    assert [(write.kind, write.subject, write.index, write.updates) for write in records.writes] == [
        ("update_part", "signer", 0, {"otp_intent_generation": 0})
    ]
    assert records.reads == 1
    # And the planner, planning from the aggregate as written, asked for the SMS
    assert queues.ops() == [(Op.SEND_ONESHOT_OTP, 0, None)]
    assert queues.sent[0][0] is Queue.ONESHOT
    assert after.signer(0).otp_intent_generation == 0


def test_advance_applies_the_planners_moves_through_the_store() -> None:
    # Given a step on a submitted oneshot request
    step, records, queues = step_on(stored(Workflow.ONESHOT, R.SUBMITTED))
    # When it advances
    after = step.advance()
    # Then the planner's move went through the store and its first step was enqueued, without a read
    assert [(write.kind, write.to) for write in records.writes] == [("move_request", "oneshot_pending")]
    assert queues.ops() == [(Op.CREATE_ONESHOT_REQUEST, 0, None)]
    assert after == records.stored["req-1"]
    assert records.reads == 1


def test_advance_with_read_again_plans_from_a_fresh_read() -> None:
    # Given a step that moved document 0 of a draft while the other document's upload landed meanwhile
    aggregate = with_parts(
        stored(Workflow.ZAPSIGN, R.DRAFT, documents=2),
        document0={"status": D.AWAITING_UPLOAD},
        document1={"status": D.AWAITING_UPLOAD},
    )
    step, records, _ = step_on(aggregate)
    step.move_document(0, D.RECEIVED, while_request=R.DRAFT)
    records.stored["req-1"] = with_parts(records.stored["req-1"], document1={"status": D.RECEIVED})
    # When it advances reading again
    after = step.advance(read_again=True)
    # Then it read the request once more, saw both documents received and submitted it
    assert records.reads == 2
    assert after.request.status is R.SUBMITTED
    assert [write.to for write in records.writes] == ["received", "submitted"]


def test_fail_moves_the_request_to_failed_with_its_reason() -> None:
    # Given a step on a request waiting on ZapSign
    step, records, _ = step_on(stored(Workflow.ZAPSIGN, R.ZAPSIGN_PENDING))
    # When it fails the request
    assert step.fail("ZapSign refused") is True
    # Then the request is failed with the reason, in one conditional write
    assert [(write.kind, write.to, write.updates) for write in records.writes] == [
        ("move_request", "failed", {"failure_reason": "ZapSign refused"})
    ]
    assert records.stored["req-1"].request.failure_reason == "ZapSign refused"
    # And a request that has ended is left alone
    assert step.fail("again") is False
