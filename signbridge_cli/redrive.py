"""`signbridge redrive`: a queue's dead-letter messages moved back onto it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from signbridge.domain.messages import OperationMessage
from signbridge.storage.queues import sqs_safe_id
from signbridge_cli.errors import CommandError


def dead_letter_queue_url(client: Any, queue_url: str) -> str:
    """The DLQ of `queue_url`, from its redrive policy (works the same with stack outputs and with variables)."""
    attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    policy = attributes.get("RedrivePolicy")
    if not policy:
        raise CommandError("the queue has no dead-letter queue (no redrive policy)")
    arn = str(json.loads(policy)["deadLetterTargetArn"])
    account, name = arn.split(":")[4], arn.split(":")[5]
    return str(client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def redrive(
    client: Any, *, queue_url: str, dead_letter_url: str, run_id: str, limit: int | None = None
) -> dict[str, int]:
    """Move messages from the DLQ back to the queue, in order, each with its `MessageGroupId` and a new
    `MessageDeduplicationId` (`{original}:{run_id}`): SQS would drop the original id if the message had been sent
    within the last five minutes, and the operations are no-ops when their work is done, so a message moved twice
    (a run interrupted between the send and the delete) is harmless. Returns the count per operation."""
    moved: dict[str, int] = {}
    while limit is None or sum(moved.values()) < limit:
        received = client.receive_message(
            QueueUrl=dead_letter_url,
            MaxNumberOfMessages=10 if limit is None else max(1, min(10, limit - sum(moved.values()))),
            WaitTimeSeconds=0,
            VisibilityTimeout=120,
            MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
        ).get("Messages", [])
        if not received:
            break
        for message in received:
            attributes = message.get("Attributes", {})
            original = attributes.get("MessageDeduplicationId") or hashlib.sha256(message["Body"].encode()).hexdigest()
            client.send_message(
                QueueUrl=queue_url,
                MessageBody=message["Body"],  # as it was: a message that cannot be parsed goes back as it is
                MessageGroupId=attributes["MessageGroupId"],
                MessageDeduplicationId=sqs_safe_id(f"{original}:{run_id}"),
            )
            client.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            op = _op_of(message["Body"])
            moved[op] = moved.get(op, 0) + 1
    return moved


def queue_depth(client: Any, url: str) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(attributes.get(names[0], 0)), int(attributes.get(names[1], 0))


def _op_of(body: str) -> str:
    try:
        return OperationMessage.from_body(body).op
    except ValueError:
        return "(unreadable)"
