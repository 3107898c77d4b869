"""Requests placed directly in the state store in a given status and at a given time, and what a queue holds.

`place(record_store, workflow, status, since=…)` writes a request as if it had reached `status` at `since` (its
`status_since` is what the status index orders by), with its documents and signers adjusted by the caller; `drain`
reads every message of a FIFO queue as `Received` (the operation message plus its SQS group and deduplication ids).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, Document, RequestStatus, SignatureRequest, Signer, Workflow
from signbridge.storage.records import RecordStore
from tests.support.samples import new_request


def place(
    records: RecordStore,
    workflow: Workflow,
    status: RequestStatus,
    *,
    since: datetime,
    created: datetime | None = None,
    documents: int = 1,
    signers: int = 1,
    request: dict[str, Any] | None = None,
    document: Callable[[Document], dict[str, Any]] | None = None,
    signer: Callable[[Signer], dict[str, Any]] | None = None,
) -> SignatureRequest:
    """Store a request in `status` since `since`; `request`, `document(d)` and `signer(s)` give field updates."""
    base, document_items, signer_items = new_request(workflow, documents=documents, signers=signers, now=since)
    stored = base.model_copy(
        update={"status": status, "created_at": created or since, "status_since": since, **(request or {})}
    )
    if document is not None:
        document_items = [item.model_copy(update=document(item)) for item in document_items]
    if signer is not None:
        signer_items = [item.model_copy(update=signer(item)) for item in signer_items]
    records.create_request(stored, document_items, signer_items, cause=Cause.API, correlation_id="corr-place")
    return stored


@dataclass(frozen=True)
class Received:
    message: OperationMessage
    group_id: str
    deduplication_id: str

    @property
    def op(self) -> str:
        return self.message.op


def drain(sqs_client: Any, url: str) -> list[Received]:
    """Every message on the queue, in delivery order, deleting each batch so its group unlocks."""
    received: list[Received] = []
    while True:
        response = sqs_client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return received
        for item in messages:
            attributes = item["Attributes"]
            received.append(
                Received(
                    OperationMessage.from_body(item["Body"]),
                    attributes["MessageGroupId"],
                    attributes["MessageDeduplicationId"],
                )
            )
        sqs_client.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )
