"""Enqueueing operation messages on FIFO queues of a real moto server."""

from __future__ import annotations

from typing import Any

import pytest

from signbridge.domain.errors import EnqueueError
from signbridge.domain.messages import OperationMessage
from signbridge.domain.operations import Queue
from signbridge.storage.queues import SQS_ID_MAX_CHARS, Outgoing, QueueSender
from tests.support.aws import Queues


def drain(sqs_client: Any, url: str) -> list[dict[str, Any]]:
    """Every message on the queue, in delivery order, deleting each batch so its group unlocks."""
    received: list[dict[str, Any]] = []
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
        received.extend(messages)
        sqs_client.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )


def message(op: str = "create_zapsign_doc", **fields: Any) -> OperationMessage:
    return OperationMessage(**({"op": op, "request_id": "r1", "correlation_id": "corr-1"} | fields))


def test_a_message_is_grouped_by_request_and_deduplicated_by_its_key(
    queue_sender: QueueSender, queues: Queues, sqs_client: Any
) -> None:
    # Given an operation message for request r1
    sent = message("upload_document", signer=0, document=2)
    # When it is enqueued
    queue_sender.send(Queue.ONESHOT, sent)
    # Then it arrives on the One-Shot queue, grouped by the request, with the deterministic deduplication id
    (received,) = drain(sqs_client, queues.oneshot.url)
    assert OperationMessage.from_body(received["Body"]) == sent
    assert received["Attributes"]["MessageGroupId"] == "r1"
    assert received["Attributes"]["MessageDeduplicationId"] == "r1:upload_document:0:2:0"
    assert drain(sqs_client, queues.zapsign.url) == []


def test_a_duplicate_send_is_dropped_and_a_new_generation_is_not(
    queue_sender: QueueSender, queues: Queues, sqs_client: Any
) -> None:
    # Given the same operation sent twice (a retried handler), then deliberately again (an OTP resend)
    queue_sender.send(Queue.ONESHOT, message("send_otp", signer=0))
    queue_sender.send(Queue.ONESHOT, message("send_otp", signer=0, correlation_id="corr-retry"))
    queue_sender.send(Queue.ONESHOT, message("send_otp", signer=0, generation=1))
    # Then SQS keeps the first and the new generation only
    received = drain(sqs_client, queues.oneshot.url)
    assert [item["Attributes"]["MessageDeduplicationId"] for item in received] == [
        "r1:send_otp:0:-:0",
        "r1:send_otp:0:-:1",
    ]


def test_a_webhook_hint_is_grouped_by_the_zapsign_token(
    queue_sender: QueueSender, queues: Queues, sqs_client: Any
) -> None:
    # Given a hint that does not know its request yet
    hint = OperationMessage(op="zapsign_event", correlation_id="corr-1", payload={"raw_key": "raw/zapsign/x.json"})
    # When it is sent with the document token as group and the body digest as deduplication id
    queue_sender.send(Queue.ZAPSIGN, hint, group_id="doc-token-1", deduplication_id="zapsign-event:" + "a" * 64)
    # Then SQS has it under that group
    (received,) = drain(sqs_client, queues.zapsign.url)
    assert received["Attributes"]["MessageGroupId"] == "doc-token-1"
    # And without a group it cannot be sent
    with pytest.raises(ValueError, match="group_id"):
        queue_sender.send(Queue.ZAPSIGN, hint)


def test_an_overlong_deduplication_id_is_hashed_and_accepted(
    queue_sender: QueueSender, queues: Queues, sqs_client: Any
) -> None:
    # Given a request id long enough to push the id past SQS's 128 characters
    queue_sender.send(Queue.ZAPSIGN, message(request_id="r" * 120))
    (received,) = drain(sqs_client, queues.zapsign.url)
    # Then SQS accepted a shortened, still distinct id
    deduplication_id = received["Attributes"]["MessageDeduplicationId"]
    assert len(deduplication_id) <= SQS_ID_MAX_CHARS
    assert deduplication_id.startswith("rrrr")


def test_a_batch_is_sent_in_chunks_of_ten_in_order(queue_sender: QueueSender, queues: Queues, sqs_client: Any) -> None:
    # Given 23 uploads of one request
    batch = [message("upload_document", signer=0, document=n) for n in range(23)]
    calls: list[int] = []
    sqs_client.meta.events.register("before-call.sqs.SendMessageBatch", lambda **_: calls.append(1))
    # When they are sent as a batch
    queue_sender.send_batch(Queue.ONESHOT, batch)
    # Then three calls carried them, and they arrive in order
    assert len(calls) == 3
    received = drain(sqs_client, queues.oneshot.url)
    assert [OperationMessage.from_body(item["Body"]).document for item in received] == list(range(23))


def test_a_batch_respects_the_total_size_limit(queue_sender: QueueSender, queues: Queues, sqs_client: Any) -> None:
    # Given three messages of 100 KB each (SQS takes 256 KiB per batch)
    batch = [message("store_raw", document=n, payload={"blob": "x" * 100_000}) for n in range(3)]
    # When sent as a batch
    queue_sender.send_batch(Queue.ZAPSIGN, batch)
    # Then all arrive
    assert len(drain(sqs_client, queues.zapsign.url)) == 3


class RefusingOneEntry:
    """The moto client, except that SQS 'refuses' the entry with Id "3" of every batch (moto never does)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        accepted = [entry for entry in Entries if entry["Id"] != "3"]
        response = self._client.send_message_batch(QueueUrl=QueueUrl, Entries=accepted)
        if len(accepted) < len(Entries):
            response["Failed"] = [{"Id": "3", "SenderFault": False, "Code": "InternalError"}]
        return response


def test_a_refused_entry_stops_the_batch_and_says_what_was_not_sent(queues: Queues, sqs_client: Any) -> None:
    # Given SQS refusing one entry of the first chunk
    sender = QueueSender(client=RefusingOneEntry(sqs_client), queue_urls={Queue.ONESHOT: queues.oneshot.url})
    batch = [message("upload_document", document=n) for n in range(15)]
    # When the batch is sent
    with pytest.raises(EnqueueError) as failed:
        sender.send_batch(Queue.ONESHOT, batch)
    # Then the error names the refused entry and the five never sent
    assert failed.value.failed == [("r1:upload_document:-:3:0", "InternalError")]
    assert failed.value.unsent == [f"r1:upload_document:-:{n}:0" for n in range(10, 15)]
    # And sending everything again adds only what was missing (deduplication ids are stable)
    QueueSender(client=sqs_client, queue_urls={Queue.ONESHOT: queues.oneshot.url}).send_batch(Queue.ONESHOT, batch)
    received = [item["Attributes"]["MessageDeduplicationId"] for item in drain(sqs_client, queues.oneshot.url)]
    assert sorted(received) == sorted(message.deduplication_key() for message in batch)


def test_outgoing_carries_routing_overrides(queue_sender: QueueSender, queues: Queues, sqs_client: Any) -> None:
    # Given a batch entry with its own group and deduplication id
    # When sent
    # Then SQS has it under those
    queue_sender.send_batch(
        Queue.ZAPSIGN,
        [Outgoing(message(request_id=None), group_id="doc-token-9", deduplication_id="event-1")],
    )
    (received,) = drain(sqs_client, queues.zapsign.url)
    assert received["Attributes"]["MessageGroupId"] == "doc-token-9"
    assert received["Attributes"]["MessageDeduplicationId"] == "event-1"
