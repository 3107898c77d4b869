"""The two FIFO work queues the worker consumes, each with a FIFO dead-letter queue.

`MessageGroupId` = request id (or ZapSign document token) keeps one request's steps in order; every message carries
an explicit `MessageDeduplicationId`, so content-based deduplication stays off (two different steps may carry the
same body).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.common import pin_logical_id

# After 5 failed receives a message is parked in the DLQ: enough to ride out a provider blip (each retry waits a
# full visibility timeout), few enough that a poison message does not block its FIFO group for long.
MAX_RECEIVE_COUNT = 5
# Lambda's guidance for SQS event sources: visibility timeout at least 6x the function timeout, so a batch retried
# by the poller after throttling is not redelivered while a previous attempt still runs.
VISIBILITY_TIMEOUT_FACTOR = 6
RETENTION = Duration.days(4)
DLQ_RETENTION = Duration.days(14)  # the maximum: time to investigate and redrive


@dataclass(frozen=True)
class WorkQueue:
    queue: sqs.Queue
    dead_letter_queue: sqs.Queue


class Queues(Construct):
    """`zapsign` and `oneshot`: queues `signbridge-{stage}-{provider}-ops.fifo`, DLQs `...-ops-dlq.fifo`.

    Named, so an operator (and the `signbridge` CLI) can find a DLQ to redrive without reading stack outputs.
    """

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, worker_timeout: Duration) -> None:
        super().__init__(scope, construct_id)
        visibility = Duration.seconds(worker_timeout.to_seconds() * VISIBILITY_TIMEOUT_FACTOR)
        self.zapsign = self._work_queue("ZapSign", f"signbridge-{stage}-zapsign-ops", visibility)
        self.oneshot = self._work_queue("OneShot", f"signbridge-{stage}-oneshot-ops", visibility)

    @property
    def all(self) -> tuple[WorkQueue, ...]:
        return (self.zapsign, self.oneshot)

    def _work_queue(self, name: str, queue_name: str, visibility: Duration) -> WorkQueue:
        dead_letter = sqs.Queue(
            self,
            f"{name}DeadLetterQueue",
            queue_name=f"{queue_name}-dlq.fifo",
            fifo=True,
            content_based_deduplication=False,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        pin_logical_id(dead_letter, f"{name}DeadLetterQueue")
        queue = sqs.Queue(
            self,
            f"{name}Queue",
            queue_name=f"{queue_name}.fifo",
            fifo=True,
            content_based_deduplication=False,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=visibility,
            retention_period=RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letter, max_receive_count=MAX_RECEIVE_COUNT),
        )
        pin_logical_id(queue, f"{name}Queue")
        return WorkQueue(queue=queue, dead_letter_queue=dead_letter)
