"""`signbridge.storage.written`: the aggregate a write answers, computed from the aggregate read and the change
written (the record store's semantics, stated once). Plain in-memory aggregates; the integration test
`tests/integration/test_progress.py` checks the same answers against a fresh read of DynamoDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signbridge.domain.changes import DocumentChange, SignerChange, Transition
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
from signbridge.storage.written import (
    CARRIED,
    after_part_change,
    after_request_move,
    carried_entries,
    carried_values,
    stored_entries,
)
from signbridge.workflow.planner import Move
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


def request_moved(current: RequestAggregate, move: Move, written: Transition, correlation_id: str) -> RequestAggregate:
    return after_request_move(
        current,
        written,
        cause=Cause.WORKER,
        correlation_id=correlation_id,
        detail=move.detail,
        updates=move.updates,
        document_changes=move.document_changes,
        signer_changes=move.signer_changes,
    )


def test_a_request_move_applies_the_request_transition_and_its_part_changes() -> None:
    # Given an archiving request and the planner's move to completed, archiving document 1
    current = aggregate(Workflow.ZAPSIGN, R.ARCHIVING)
    change = DocumentChange(1, D.RECEIVED, D.ARCHIVED, {"final_key": "signed/req-1/001/zapsign.pdf"})
    move = Move(R.COMPLETED, "every signed document stored", document_changes=(change,))
    written = Transition("req-1", TimelineSubject.REQUEST, None, "archiving", "completed", NOW, "evt-1", version=4)
    # When the write is applied in memory
    after = request_moved(current, move, written, "corr-1")
    # Then the request is at the new status and version, since the write's time
    assert (after.request.status, after.request.version) == (R.COMPLETED, 4)
    assert after.request.status_since == after.request.updated_at == NOW
    # And document 1 moved with its field, document 0 is as it was
    assert after.document(1).status is D.ARCHIVED
    assert after.document(1).final_key == "signed/req-1/001/zapsign.pdf"
    assert after.document(1).status_since == NOW
    assert after.document(0) == current.document(0)
    assert after.signers == current.signers
    # And the timeline ends with the request's entry, then the entry of the document move it carried
    assert after.timeline[:-2] == current.timeline
    last, carried = after.timeline[-2:]
    assert (last.id, last.at, last.subject, last.subject_index) == ("evt-1", NOW, TimelineSubject.REQUEST, None)
    assert (last.from_status, last.to_status, last.cause, last.correlation_id) == (
        "archiving",
        "completed",
        Cause.WORKER,
        "corr-1",
    )
    assert last.detail == "every signed document stored"
    assert (carried.id, carried.at, carried.subject, carried.subject_index) == (
        "evt-1-document-1",
        NOW,
        TimelineSubject.DOCUMENT,
        1,
    )
    assert (carried.from_status, carried.to_status, carried.cause, carried.correlation_id) == (
        "received",
        "archived",
        Cause.WORKER,
        "corr-1",
    )


def test_a_timeline_item_reads_back_as_its_entry_and_the_entries_it_carries() -> None:
    # Given the entries of a request move that carried two signer moves and a signer field update
    entry = TimelineEntry(
        id="evt-9", at=NOW, from_status="zapsign_pending", to_status="zapsign_signed", cause=Cause.WEBHOOK,
        correlation_id="corr-9",
    )  # fmt: skip
    signers = [
        SignerChange(1, S.PENDING, S.SIGNED),
        SignerChange(0, S.LINK_OPENED, S.SIGNED),
        SignerChange(2, S.PENDING, None, {"sign_url": "https://z/2"}),
    ]
    carried = carried_entries(entry, (), signers)
    # When they are stored as one item and read back
    stored = {**entry.model_dump(), CARRIED: carried_values(carried)}
    # Then the item gives the same entries: the request's, then one per signer move by index (the update has none)
    assert tuple(stored_entries(stored)) == (entry, *carried)
    assert [(e.subject_index, e.from_status) for e in carried] == [(0, "link_opened"), (1, "pending")]
    # and each carried entry stores only what differs from the request's entry
    assert set(stored[CARRIED][0]) == {"subject", "subject_index", "from_status", "to_status"}


def test_a_request_move_sets_the_moves_request_fields() -> None:
    # Given the turn passing to signer 1
    current = aggregate(Workflow.ONESHOT, R.SIGNING)
    move = Move(R.ONESHOT_PENDING, "One-Shot turn of signer 1", updates={"current_signer": 1})
    written = Transition("req-1", TimelineSubject.REQUEST, None, "signing", "oneshot_pending", NOW, "evt-2", version=4)
    # When it is applied
    after = request_moved(current, move, written, "corr-2")
    # Then the request carries the field the move wrote with it
    assert after.request.current_signer == 1
    assert after.request.status is R.ONESHOT_PENDING
    # And the aggregate it came from is unchanged (aggregates are values)
    assert current.request.status is R.SIGNING
    assert current.request.current_signer is None


def test_a_part_change_moves_one_document_and_appends_its_entry() -> None:
    # Given a ZapSign-signed request whose document 0 was just archived by a step
    current = aggregate(Workflow.ZAPSIGN, R.ZAPSIGN_SIGNED)
    change = DocumentChange(
        0, D.RECEIVED, D.ZAPSIGN_SIGNED, {"signed_keys": {"zapsign": "signed/req-1/000/zapsign.pdf"}}
    )
    written = Transition("req-1", TimelineSubject.DOCUMENT, 0, "received", "zapsign_signed", NOW, "evt-3")
    # When the write is applied in memory
    after = after_part_change(
        current, change, written.at, written, cause=Cause.WORKER, correlation_id="corr-3", detail="stored"
    )
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


def test_a_part_change_without_an_event_adds_no_timeline_entry() -> None:
    # Given a signer move written without an event of its own (record_event=False)
    current = aggregate(Workflow.ONESHOT, R.ONESHOT_PENDING)
    change = SignerChange(1, S.PENDING, S.ONESHOT_REQUESTED, {"oneshot_request_pk": "4242"})
    written = Transition("req-1", TimelineSubject.SIGNER, 1, "pending", "oneshot_requested", NOW, None)
    # When it is applied
    after = after_part_change(current, change, written.at, written, cause=Cause.WORKER, correlation_id="corr-4")
    # Then signer 1 moved with its field, signer 0 did not, and the timeline is as it was
    assert after.signer(1).status is S.ONESHOT_REQUESTED
    assert after.signer(1).oneshot_request_pk == "4242"
    assert after.signer(0) == current.signer(0)
    assert after.timeline == current.timeline
    assert after.documents == current.documents


def test_a_part_change_with_field_updates_only_keeps_the_status() -> None:
    # Given a change that only updates fields (no `to`)
    current = aggregate(Workflow.ONESHOT, R.ONESHOT_PENDING)
    change = DocumentChange(0, D.RECEIVED, None, {"oneshot_document_uids": {0: "uid-0"}})
    written = Transition("req-1", TimelineSubject.DOCUMENT, 0, "received", "received", NOW, None)
    # When it is applied
    after = after_part_change(current, change, written.at, written, cause=Cause.WORKER, correlation_id="corr-5")
    # Then the document keeps its status and since, and carries the new field
    assert after.document(0).status is D.RECEIVED
    assert after.document(0).status_since == THEN
    assert after.document(0).oneshot_document_uids == {0: "uid-0"}
