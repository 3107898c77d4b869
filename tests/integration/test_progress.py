"""`progress.advance` applies the planner's moves and enqueues its steps; what it returns is what the store holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from signbridge.domain.changes import DocumentChange
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
    assert [entry.to_status for entry in returned.timeline][-2:] == ["archiving", "completed"]
    assert all(document.final_key for document in returned.documents)
    # And the cleanup the planner asked for in each state it went through was sent once
    assert [received.op for received in drain(sqs_client, queues.oneshot.url)] == ["delete_oneshot_documents"]


def _comparable(aggregate: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = aggregate.model_dump(mode="json")
    return dumped


def test_the_aggregate_after_a_part_transition_is_the_one_the_store_holds(oneshot_services: Services) -> None:
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

    # When the document's move is written and applied to the aggregate that was read
    moved = oneshot_services.records.transition_document(
        stored.id,
        0,
        DocumentStatus.ONESHOT_SIGNED,
        workflow=Workflow.ONESHOT,
        expected_status=DocumentStatus.ONESHOT_UPLOADED,
        cause=Cause.WORKER,
        correlation_id="corr-part",
        detail="stored",
        updates=change.updates,
        request_status=RequestStatus.SIGNING,
    )
    after = progress.after_part(read, change, moved, cause=Cause.WORKER, correlation_id="corr-part", detail="stored")

    # Then it equals a fresh read, timeline included
    assert _comparable(after) == _comparable(oneshot_services.records.get_request(stored.id))
