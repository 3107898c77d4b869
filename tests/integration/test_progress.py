"""`progress.advance` applies the planner's moves and enqueues its steps; what it returns, and what the record store's
aggregate writes (`move_part`, `update_part`) answer, is what the store holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from signbridge.domain.changes import DocumentChange, SignerChange
from signbridge.domain.models import Cause, DocumentStatus, RequestStatus, SignerStatus, Workflow, oneshot_stage
from signbridge.workflow import progress
from signbridge.workflow.services import Services
from tests.support.stored import drain, place


def test_the_aggregate_after_several_moves_is_the_one_the_store_holds(
    oneshot_services: Services, sqs_client: Any, queues: Any
) -> None:
    # Given a one-signer oneshot request whose signed PDFs are all in S3, still in `signing`
    stage = oneshot_stage(0)
    stored = place(
        oneshot_services.records,
        Workflow.ONESHOT,
        RequestStatus.SIGNING,
        since=datetime.now(UTC) - timedelta(hours=1),
        documents=2,
        request={"current_signer": 0},
        document=lambda document: {
            "status": DocumentStatus.ONESHOT_SIGNED,
            "signed_keys": {stage: f"signed/x/{document.index:03d}/{stage}.pdf"},
        },
        signer=lambda _: {"status": SignerStatus.SIGNED, "oneshot_request_pk": "42"},
    )

    # When the request is advanced (two moves: signing → archiving → completed)
    returned = progress.advance(oneshot_services, stored.id, cause=Cause.WORKER, correlation_id="corr-test")

    # Then it completed, and the returned aggregate equals a fresh read of the store, timeline included
    read = oneshot_services.records.get_request(stored.id)
    assert read.request.status is RequestStatus.COMPLETED
    assert _comparable(returned) == _comparable(read)
    moves = [entry.to_status for entry in returned.timeline if entry.subject == "request"]
    assert moves[-2:] == ["archiving", "completed"]
    assert all(document.final_key for document in returned.documents)
    # And the cleanup the planner asked for in each state it went through was sent once, then the evidence package
    assert [received.op for received in drain(sqs_client, queues.oneshot.url)] == [
        "delete_oneshot_documents",
        "build_evidence_package",
    ]


def _comparable(aggregate: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = aggregate.model_dump(mode="json")
    return dumped


def test_the_aggregate_a_part_move_answers_is_the_one_the_store_holds(oneshot_services: Services) -> None:
    # Given a oneshot request in `signing` whose first of two documents the Optimizer has just returned signed
    stage = oneshot_stage(0)
    stored = place(
        oneshot_services.records,
        Workflow.ONESHOT,
        RequestStatus.SIGNING,
        since=datetime.now(UTC) - timedelta(hours=1),
        documents=2,
        request={"current_signer": 0},
        document=lambda _: {"status": DocumentStatus.ONESHOT_UPLOADED, "oneshot_document_uids": {0: "uid"}},
        signer=lambda _: {"status": SignerStatus.SIGNED, "oneshot_request_pk": "42"},
    )
    read = oneshot_services.records.get_request(stored.id)
    change = DocumentChange(
        0, DocumentStatus.ONESHOT_UPLOADED, DocumentStatus.ONESHOT_SIGNED, {"signed_keys": {stage: "signed/x.pdf"}}
    )

    # When the document's move is written through the store, from the aggregate that was read
    after = oneshot_services.records.move_part(
        read,
        change,
        cause=Cause.WORKER,
        correlation_id="corr-part",
        detail="stored",
        request_status=RequestStatus.SIGNING,
    )

    # Then it equals a fresh read, timeline included
    assert _comparable(after) == _comparable(oneshot_services.records.get_request(stored.id))


def test_the_aggregate_a_part_update_answers_is_the_one_the_store_holds(oneshot_services: Services) -> None:
    # Given a oneshot request in `oneshot_pending` whose signer is about to be created at the Optimizer
    stored = place(
        oneshot_services.records,
        Workflow.ONESHOT,
        RequestStatus.ONESHOT_PENDING,
        since=datetime.now(UTC) - timedelta(hours=1),
        documents=1,
        request={"current_signer": 0},
    )
    read = oneshot_services.records.get_request(stored.id)
    intent = datetime.now(UTC).isoformat()  # as text: the store writes it as the field's type, a datetime

    # When the signer's intent is written through the store
    after = oneshot_services.records.update_part(
        read,
        SignerChange(0, read.signer(0).status, None, {"oneshot_create_started_at": intent}),
        request_status=RequestStatus.ONESHOT_PENDING,
    )

    # Then the answer equals a fresh read
    assert _comparable(after) == _comparable(oneshot_services.records.get_request(stored.id))
    assert isinstance(after.signer(0).oneshot_create_started_at, datetime)
