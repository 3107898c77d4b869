"""`signbridge dlq`: the dead-letter queues, and redriving them with SQS's own message-move task.

The DLQ of each work queue is found from the queue's redrive policy (the same with stack outputs, variables or the
local stack). `redrive` calls `StartMessageMoveTask` (source: the DLQ, destination: its queue) and follows the task
with `ListMessageMoveTasks` until it ends: SQS moves the messages oldest first, keeps each one's `MessageGroupId` (a
request's steps stay in order) and, on FIFO queues, gives each a deduplication id of its own (the original message
id), so a redriven step is never dropped as a repeat of its first send.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from signbridge.domain.operations import Queue
from signbridge.storage.clients import sqs_client
from signbridge_cli.errors import CommandError

FINISHED_STATUSES: Final = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


@dataclass(frozen=True)
class DeadLetters:
    queue: str  # zapsign | oneshot
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    waiting: int
    in_flight: int
    last_task: dict[str, Any] | None  # the newest message-move task of the DLQ, as SQS lists it

    def as_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "queue_name": self.queue_url.rsplit("/", 1)[-1],
            "dlq_name": self.dlq_url.rsplit("/", 1)[-1],
            "waiting": self.waiting,
            "in_flight": self.in_flight,
            "last_move_task": self.last_task,
        }


def dead_letters(queue: Queue, queue_url: str, *, client: Any = None) -> DeadLetters:
    sqs: Any = client or sqs_client()
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy", "QueueArn"])[
        "Attributes"
    ]
    policy = attributes.get("RedrivePolicy")
    if not policy:
        raise CommandError(f"the {queue.value} queue has no dead-letter queue (no redrive policy)")
    dlq_arn = str(json.loads(policy)["deadLetterTargetArn"])
    account, name = dlq_arn.split(":")[4], dlq_arn.split(":")[5]
    dlq_url = str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])
    depth = sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1).get("Results", [])
    return DeadLetters(
        queue=queue.value,
        queue_url=queue_url,
        queue_arn=str(attributes["QueueArn"]),
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        waiting=int(depth.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(depth.get("ApproximateNumberOfMessagesNotVisible", 0)),
        last_task=_task(tasks[0]) if tasks else None,
    )


def redrive(
    letters: DeadLetters,
    *,
    rate: int | None = None,
    client: Any = None,
    on_progress: Callable[[int, int], None] | None = None,
    poll_seconds: float = 1.0,
    timeout_seconds: float = 3600.0,
) -> dict[str, Any]:
    """Start the move task and follow it to its end; returns the task as SQS last listed it."""
    sqs: Any = client or sqs_client()
    arguments: dict[str, Any] = {"SourceArn": letters.dlq_arn, "DestinationArn": letters.queue_arn}
    if rate is not None:
        arguments["MaxNumberOfMessagesPerSecond"] = rate
    handle = str(sqs.start_message_move_task(**arguments)["TaskHandle"])
    deadline = time.monotonic() + timeout_seconds
    while True:
        listed = sqs.list_message_move_tasks(SourceArn=letters.dlq_arn, MaxResults=10).get("Results", [])
        task = next((item for item in listed if item.get("TaskHandle") == handle), listed[0] if listed else {})
        moved, total = (
            int(task.get("ApproximateNumberOfMessagesMoved", 0)),
            int(task.get("ApproximateNumberOfMessagesToMove", 0)),
        )
        if on_progress is not None:
            on_progress(moved, total)
        if task.get("Status") in FINISHED_STATUSES:
            return {"task_handle": handle, **_task(task)}
        if time.monotonic() > deadline:
            return {"task_handle": handle, **_task(task), "note": "still running; see `signbridge dlq show`"}
        time.sleep(poll_seconds)


def _task(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": task.get("Status"),
        "moved": int(task.get("ApproximateNumberOfMessagesMoved", 0)),
        "to_move": int(task.get("ApproximateNumberOfMessagesToMove", 0)),
        "started_at": task.get("StartedTimestamp"),
        "failure_reason": task.get("FailureReason"),
    }
