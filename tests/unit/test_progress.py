"""`after_move`, `after_part` and `advance` (`signbridge.workflow.progress`) on plain in-memory aggregates: the
aggregate a step holds after its write is the one the store would return, without reading it again; `advance` runs
on `Services` whose record store and queues are in-memory fakes of the ports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from signbridge.config import Settings
from signbridge.domain.changes import DocumentChange, Move, SignerChange, Transition
from signbridge.domain.errors import ConcurrentUpdateError
from signbridge.domain.lifecycle import check_move, may_transition
from signbridge.domain.messages import OperationMessage
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
from signbridge.workflow.ports import FileDownloads, OneShotClient, ZapSignClient
from signbridge.workflow.progress import advance, after_move, after_part
from signbridge.workflow.services import Services
from tests.support.samples import new_request

R = RequestStatus
D = DocumentStatus
S = SignerStatus
THEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NOW = THEN + timedelta(minutes=5)


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


def test_after_move_applies_the_request_transition_and_its_part_changes() -> None:
    # Given an archiving request and the planner's move to completed, archiving document 1
    current = aggregate(Workflow.ZAPSIGN, R.ARCHIVING)
    change = DocumentChange(1, D.RECEIVED, D.ARCHIVED, {"final_key": "signed/req-1/001/zapsign.pdf"})
    move = Move(R.COMPLETED, "every signed document stored", document_changes=(change,))
    written = Transition("req-1", TimelineSubject.REQUEST, None, "archiving", "completed", NOW, "evt-1", version=4)
    # When the write is applied in memory
    after = after_move(current, move, written, cause=Cause.WORKER, correlation_id="corr-1")
    # Then the request is at the new status and version, since the write's time
    assert (after.request.status, after.request.version) == (R.COMPLETED, 4)
    assert after.request.status_since == after.request.updated_at == NOW
    # And document 1 moved with its field, document 0 is as it was
    assert after.document(1).status is D.ARCHIVED
    assert after.document(1).final_key == "signed/req-1/001/zapsign.pdf"
    assert after.document(1).status_since == NOW
    assert after.document(0) == current.document(0)
    assert after.signers == current.signers
    # And the timeline ends with the request's entry
    assert after.timeline[:-1] == current.timeline
    last = after.timeline[-1]
    assert (last.id, last.at, last.subject, last.subject_index) == ("evt-1", NOW, TimelineSubject.REQUEST, None)
    assert (last.from_status, last.to_status, last.cause, last.correlation_id) == (
        "archiving",
        "completed",
        Cause.WORKER,
        "corr-1",
    )
    assert last.detail == "every signed document stored"


def test_after_move_sets_the_moves_request_fields() -> None:
    # Given the turn passing to signer 1
    current = aggregate(Workflow.ONESHOT, R.SIGNING)
    move = Move(R.ONESHOT_PENDING, "One-Shot turn of signer 1", updates={"current_signer": 1})
    written = Transition("req-1", TimelineSubject.REQUEST, None, "signing", "oneshot_pending", NOW, "evt-2", version=4)
    # When it is applied
    after = after_move(current, move, written, cause=Cause.WORKER, correlation_id="corr-2")
    # Then the request carries the field the move wrote with it
    assert after.request.current_signer == 1
    assert after.request.status is R.ONESHOT_PENDING
    # And the aggregate it came from is unchanged (aggregates are values)
    assert current.request.status is R.SIGNING
    assert current.request.current_signer is None


def test_after_part_moves_one_document_and_appends_its_entry() -> None:
    # Given a ZapSign-signed request whose document 0 was just archived by a step
    current = aggregate(Workflow.ZAPSIGN, R.ZAPSIGN_SIGNED)
    change = DocumentChange(
        0, D.RECEIVED, D.ZAPSIGN_SIGNED, {"signed_keys": {"zapsign": "signed/req-1/000/zapsign.pdf"}}
    )
    written = Transition("req-1", TimelineSubject.DOCUMENT, 0, "received", "zapsign_signed", NOW, "evt-3")
    # When the write is applied in memory
    after = after_part(current, change, written, cause=Cause.WORKER, correlation_id="corr-3", detail="stored")
    # Then document 0 moved with its fields; the request item and the other parts are untouched
    assert after.document(0).status is D.ZAPSIGN_SIGNED
    assert after.document(0).signed_keys == {"zapsign": "signed/req-1/000/zapsign.pdf"}
    assert after.document(0).status_since == NOW
    assert after.document(1) == current.document(1)
    assert after.request == current.request
    assert after.signers == current.signers
    # And the document's own entry ends the timeline
    last = after.timeline[-1]
    assert (last.id, last.subject, last.subject_index, last.to_status, last.detail) == (
        "evt-3",
        TimelineSubject.DOCUMENT,
        0,
        "zapsign_signed",
        "stored",
    )


def test_after_part_without_an_event_adds_no_timeline_entry() -> None:
    # Given a signer move written without an event of its own (record_event=False)
    current = aggregate(Workflow.ONESHOT, R.ONESHOT_PENDING)
    change = SignerChange(1, S.PENDING, S.ONESHOT_REQUESTED, {"oneshot_request_pk": "4242"})
    written = Transition("req-1", TimelineSubject.SIGNER, 1, "pending", "oneshot_requested", NOW, None)
    # When it is applied
    after = after_part(current, change, written, cause=Cause.WORKER, correlation_id="corr-4")
    # Then signer 1 moved with its field, signer 0 did not, and the timeline is as it was
    assert after.signer(1).status is S.ONESHOT_REQUESTED
    assert after.signer(1).oneshot_request_pk == "4242"
    assert after.signer(0) == current.signer(0)
    assert after.timeline == current.timeline
    assert after.documents == current.documents


def test_after_part_with_field_updates_only_keeps_the_status() -> None:
    # Given a change that only updates fields (no `to`)
    current = aggregate(Workflow.ONESHOT, R.ONESHOT_PENDING)
    change = DocumentChange(0, D.RECEIVED, None, {"oneshot_document_uids": {0: "uid-0"}})
    written = Transition("req-1", TimelineSubject.DOCUMENT, 0, "received", "received", NOW, None)
    # When it is applied
    after = after_part(current, change, written, cause=Cause.WORKER, correlation_id="corr-5")
    # Then the document keeps its status and since, and carries the new field
    assert after.document(0).status is D.RECEIVED
    assert after.document(0).status_since == THEN
    assert after.document(0).oneshot_document_uids == {0: "uid-0"}


# ------------------------------------------------------------------------------------------------ advance, with fakes


class MemoryRecords:
    """The part of the record store port `advance` uses, in memory: request transitions checked against the
    lifecycle and the version, as the store checks them."""

    def __init__(self, stored: RequestAggregate, *, lose_next_race_to: RequestAggregate | None = None) -> None:
        self.stored = stored
        self.reads = 0
        self.moves: list[tuple[RequestStatus, RequestStatus]] = []
        self._rival = lose_next_race_to

    def get_request(self, request_id: str) -> RequestAggregate:
        self.reads += 1
        return self.stored

    def transition(
        self,
        request_id: str,
        to: RequestStatus,
        *,
        expected_version: int,
        expected_status: RequestStatus | None = None,
        workflow: Workflow | None = None,
        detail: str | None = None,
        extra_updates: Mapping[str, object] | None = None,
        document_changes: Sequence[DocumentChange] = (),
        signer_changes: Sequence[SignerChange] = (),
        **_: object,
    ) -> Transition:
        if self._rival is not None:
            self.stored, self._rival = self._rival, None
            raise ConcurrentUpdateError(request_id, "request", expected=f"version {expected_version}")
        request = self.stored.request
        assert workflow is request.workflow
        check_move(
            "request",
            request_id,
            workflow=request.workflow,
            from_status=request.status,
            to_status=to,
            may_move=may_transition,
        )
        assert (expected_status, expected_version) == (request.status, request.version)
        self.moves.append((request.status, to))
        moved = Transition(
            request_id,
            TimelineSubject.REQUEST,
            None,
            request.status,
            to,
            NOW,
            f"evt-{len(self.moves)}",
            version=expected_version + 1,
        )
        move = Move(to, detail or "", extra_updates or {}, tuple(document_changes), tuple(signer_changes))
        self.stored = after_move(self.stored, move, moved, cause=Cause.WORKER, correlation_id="corr")
        return moved


class MemoryQueues:
    def __init__(self) -> None:
        self.sent: list[tuple[Queue, str, int | None, int | None]] = []

    def send_batch(self, queue: Queue, messages: Sequence[OperationMessage]) -> None:
        self.sent.extend((queue, message.op, message.signer, message.document) for message in messages)


@dataclass
class MemoryServices(Services):
    """`Services` whose record store and queues are in memory; no provider is reachable."""

    def zapsign(self) -> ZapSignClient:
        raise AssertionError("advance calls no provider")

    def oneshot(self) -> OneShotClient:
        raise AssertionError("advance calls no provider")

    def downloads(self) -> FileDownloads:
        raise AssertionError("advance calls no provider")


def memory_services(records: MemoryRecords, queues: MemoryQueues) -> MemoryServices:
    unused = cast("Any", None)
    settings = Settings(
        table_name="t",
        bucket_name="b",
        zapsign_queue_url="zq",
        oneshot_queue_url="oq",
        zapsign_secret_name="z",
        webhook_secret_name="w",
        oneshot_secret_name="o",
    )
    return MemoryServices(
        settings=settings,
        records=cast("Any", records),
        files=unused,
        queues=cast("Any", queues),
        secrets=unused,
        idempotency=unused,
        clock=lambda: NOW,
    )


def test_advance_makes_every_move_it_can_then_enqueues_the_next_step_without_reading() -> None:
    # Given a submitted One-Shot request, handed to advance as the caller holds it
    current = aggregate(Workflow.ONESHOT, R.SUBMITTED, signers=1)
    records, queues = MemoryRecords(current), MemoryQueues()
    # When advance runs
    after = advance(
        memory_services(records, queues), "req-1", cause=Cause.WORKER, correlation_id="corr", aggregate=current
    )
    # Then it moved the request to signer 0's One-Shot turn and enqueued that signer's first step
    assert records.moves == [(R.SUBMITTED, R.ONESHOT_PENDING)]
    assert queues.sent == [(Queue.ONESHOT, Op.CREATE_ONESHOT_REQUEST, 0, None)]
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
    assert records.moves == [(R.ZAPSIGN_SIGNED, R.ARCHIVING), (R.ARCHIVING, R.COMPLETED)]
    assert [(d.status, d.final_key) for d in after.documents] == [
        (D.ARCHIVED, "signed/0.pdf"),
        (D.ARCHIVED, "signed/1.pdf"),
    ]
    assert queues.sent == []
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
    records, queues = MemoryRecords(current, lose_next_race_to=rival), MemoryQueues()
    # When advance runs
    after = advance(
        memory_services(records, queues), "req-1", cause=Cause.WORKER, correlation_id="c", aggregate=current
    )
    # Then its move lost, it read the request once, and planned the step due from where the request now stands
    assert records.moves == []
    assert records.reads == 1
    assert queues.sent == [(Queue.ONESHOT, Op.SEND_ONESHOT_OTP, 0, None)]
    assert after == rival
