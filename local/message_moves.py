"""SQS's dead-letter redrive API (`StartMessageMoveTask`, `ListMessageMoveTasks`, `CancelMessageMoveTask`) for moto.

moto 5.2 does not implement these actions (its server answers them with an error), and `signbridge dlq redrive`
calls them exactly as it does on AWS. `apply_message_move_tasks()` adds them to moto's SQS responses, as SQS
documents them:

- the source must be a queue that is the dead-letter queue of another queue (`deadLetterTargetArn` of a redrive
  policy); without `DestinationArn` the messages go back to the queue whose policy names the source;
- one active task per source queue (`AWS.SimpleQueueService.UnsupportedOperation` otherwise);
- messages move oldest first; each becomes a new message (new id, a new retention period) that keeps its body,
  attributes and `MessageGroupId`; on FIFO queues its deduplication id is the original message's id (SQS replaces
  the deduplication id of a message moved to a FIFO DLQ by its message id, so a redriven message is never
  deduplicated away as a repeat of its first send);
- messages in flight in the source at the start are left where they are.

The emulation moves the messages at once and records the task as `COMPLETED` (SQS moves them in the background at
up to `MaxNumberOfMessagesPerSecond`; a client polls `ListMessageMoveTasks` either way).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

_lock = threading.Lock()
_applied = False


@dataclass
class _Task:
    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    started: int  # epoch milliseconds
    to_move: int
    moved: int = 0
    status: str = "RUNNING"

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "TaskHandle": self.handle,
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started,
        }
        if self.destination_arn:
            answer["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            answer["MaxNumberOfMessagesPerSecond"] = self.rate
        return answer


_tasks: dict[str, list[_Task]] = {}  # by source ARN, newest first


def apply_message_move_tasks() -> None:
    """Add the three actions to moto's SQS (idempotent, process-wide like moto's own state)."""
    global _applied  # noqa: PLW0603 - a process-wide patch of a process-wide library
    with _lock:
        if _applied:
            return
        from moto.core.responses import ActionResult  # noqa: PLC0415 - only the emulator needs moto's internals
        from moto.sqs.exceptions import SQSException  # noqa: PLC0415
        from moto.sqs.responses import SQSResponse  # noqa: PLC0415

        def start_message_move_task(self: Any) -> Any:
            source_arn = str(self._get_param("SourceArn"))
            destination_arn = self._get_param("DestinationArn")
            rate = self._get_param("MaxNumberOfMessagesPerSecond")
            backend = self.sqs_backend
            source = _queue_by_arn(backend, source_arn, SQSException)
            origins = [
                queue
                for queue in backend.queues.values()
                if queue.redrive_policy and queue.redrive_policy.get("deadLetterTargetArn") == source_arn
            ]
            if not origins:
                raise SQSException("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")
            destination = _queue_by_arn(backend, str(destination_arn), SQSException) if destination_arn else origins[0]
            if destination.fifo_queue != source.fifo_queue:
                raise SQSException("InvalidParameterValue", "The source and destination queues must be of one type.")
            with _lock:
                if any(task.status == "RUNNING" for task in _tasks.get(source_arn, [])):
                    raise SQSException(
                        "AWS.SimpleQueueService.UnsupportedOperation",
                        "There is already a task running. Only one active task is allowed for a source queue "
                        "arn at a given time.",
                    )
                ready = [message for message in source._messages if message.visible and not message.delayed]
                task = _Task(
                    handle=uuid.uuid4().hex,
                    source_arn=source_arn,
                    destination_arn=str(destination_arn) if destination_arn else None,
                    rate=int(rate) if rate is not None else None,
                    started=int(time.time() * 1000),
                    to_move=len(ready),
                )
                _tasks.setdefault(source_arn, []).insert(0, task)
            for message in ready:
                source._messages.remove(message)
                backend.send_message(
                    destination.name,
                    message.body,
                    message_attributes=message.message_attributes or None,
                    deduplication_id=message.id if destination.fifo_queue else None,
                    group_id=message.group_id,
                )
                task.moved += 1
            task.status = "COMPLETED"
            return ActionResult({"TaskHandle": task.handle})

        def list_message_move_tasks(self: Any) -> Any:
            source_arn = str(self._get_param("SourceArn"))
            limit = int(self._get_param("MaxResults") or 1)
            _queue_by_arn(self.sqs_backend, source_arn, SQSException)
            with _lock:
                found = [task.as_dict() for task in _tasks.get(source_arn, [])[: max(1, min(limit, 10))]]
            return ActionResult({"Results": found})

        def cancel_message_move_task(self: Any) -> Any:
            handle = str(self._get_param("TaskHandle"))
            with _lock:
                for tasks in _tasks.values():
                    for task in tasks:
                        if task.handle == handle and task.status == "RUNNING":
                            task.status = "CANCELLING"
                            return ActionResult({"ApproximateNumberOfMessagesMoved": task.moved})
            raise SQSException("ResourceNotFoundException", "The task handle is not a running task.")

        SQSResponse.start_message_move_task = start_message_move_task  # type: ignore[attr-defined]
        SQSResponse.list_message_move_tasks = list_message_move_tasks  # type: ignore[attr-defined]
        SQSResponse.cancel_message_move_task = cancel_message_move_task  # type: ignore[attr-defined]
        _applied = True


def _queue_by_arn(backend: Any, arn: str, error: type[Exception]) -> Any:
    for queue in backend.queues.values():
        if queue.queue_arn == arn:
            return queue
    raise error(
        "ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist."
    )
