"""SQS event source mappings, emulated the way Lambda's pollers behave.

One `SqsPoller` per `AWS::Lambda::EventSourceMapping` of the template. It long-polls its queue, gathers up to
`BatchSize` records (waiting up to `MaximumBatchingWindowInSeconds` for a fuller batch), builds the event Lambda
sends (`Records[]` with `messageId`, `receiptHandle`, `body`, `attributes`, `messageAttributes`, `md5OfBody`,
`eventSource`, `eventSourceARN`, `awsRegion`) and invokes the function, at most `ScalingConfig.MaximumConcurrency`
batches at a time.

After the invocation, as Lambda does:
- success without `ReportBatchItemFailures`: every record is deleted;
- success with `ReportBatchItemFailures`: the records named in `batchItemFailures` stay, the others are deleted; an
  empty or null answer is a complete success; an invalid answer (not an object, an `itemIdentifier` that is empty or
  not in the batch) is a complete failure;
- a function error or timeout: the whole batch stays.

Records that stay become visible again after the queue's visibility timeout and are received again; moto moves a
message to the dead-letter queue on the receive after its receive count reached `maxReceiveCount`, as SQS does
(checked by the tests). FIFO order comes from SQS itself: a message group with records in flight delivers nothing
else until they are deleted or visible again, and one batch holds a group's records in order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from local.runtime import Invocation

logger = logging.getLogger("signbridge.local.pollers")

DEFAULT_MAX_CONCURRENCY = 5  # Lambda starts five concurrent batches per SQS mapping when no maximum is set
RECEIVE_WAIT_SECONDS = 1  # long-poll slice; short so that stop() is prompt
MAX_RECEIVE_BATCH = 10  # ReceiveMessage returns at most 10 messages per call

Invoke = Callable[[str, dict[str, Any]], Invocation]


@dataclass(frozen=True)
class MappingConfig:
    """What a poller needs from the template's event source mapping, resolved to local names."""

    name: str  # the mapping's logical id
    function: str  # local function name
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    batching_window_seconds: float = 0
    report_batch_item_failures: bool = False
    max_concurrency: int | None = None
    enabled: bool = True


@dataclass
class PollerStats:
    batches: int = 0
    records: int = 0
    deleted: int = 0
    failed_records: int = 0
    failed_batches: int = 0
    invalid_responses: int = 0
    batch_sizes: list[int] = field(default_factory=list)


class SqsPoller:
    def __init__(self, config: MappingConfig, *, invoke: Invoke, sqs_client: Any, region: str) -> None:
        self.config = config
        self.invoke = invoke
        self.client = sqs_client
        self.region = region
        self.concurrency = max(1, config.max_concurrency or DEFAULT_MAX_CONCURRENCY)
        self.stats = PollerStats()
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._stop = threading.Event()
        self._in_flight = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def start(self) -> SqsPoller:
        if not self.config.enabled or self._thread is not None:
            return self
        self._stop.clear()
        self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=f"esm-{self.config.name}")
        self._thread = threading.Thread(target=self._run, name=f"esm-{self.config.name}", daemon=True)
        self._thread.start()
        return self

    def signal_stop(self) -> None:
        """Stop receiving (returns at once; `stop` waits for the batches in flight)."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=RECEIVE_WAIT_SECONDS + 10)
            self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)  # in-flight invocations finish and settle their records
            self._executor = None

    # -- the loop -------------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue
            try:
                messages = self._gather()
            except Exception:  # the emulator went away or hiccuped: keep polling, as Lambda's pollers do
                if not self._stop.is_set():
                    logger.exception("%s: receive failed", self.config.name)
                    self._stop.wait(0.5)
                self._slots.release()
                continue
            if not messages:
                self._slots.release()
                continue
            with self._lock:
                self._in_flight += 1
            assert self._executor is not None
            self._executor.submit(self._process, messages)

    def _gather(self) -> list[dict[str, Any]]:
        """One batch: up to BatchSize records, waiting up to the batching window for more once one has arrived."""
        batch: list[dict[str, Any]] = []
        window_ends: float | None = None
        while len(batch) < self.config.batch_size and not self._stop.is_set():
            wait = RECEIVE_WAIT_SECONDS
            if window_ends is not None:
                remaining = window_ends - time.monotonic()
                if remaining <= 0:
                    break
                wait = max(0, min(wait, int(remaining)))
            response = self.client.receive_message(
                QueueUrl=self.config.queue_url,
                MaxNumberOfMessages=min(MAX_RECEIVE_BATCH, self.config.batch_size - len(batch)),
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            batch.extend(received)
            if not batch:
                return batch  # nothing yet: the caller polls again
            if self.config.batching_window_seconds <= 0:
                break
            if window_ends is None:
                window_ends = time.monotonic() + self.config.batching_window_seconds
            if not received and wait == 0:
                time.sleep(min(0.1, max(0.0, window_ends - time.monotonic())))
        return batch

    def _process(self, messages: list[dict[str, Any]]) -> None:
        try:
            event = {"Records": [self._record(message) for message in messages]}
            invocation = self.invoke(self.config.function, event)
            self._settle(messages, invocation)
        except Exception:
            logger.exception("%s: could not settle a batch", self.config.name)
        finally:
            with self._lock:
                self._in_flight -= 1
            self._slots.release()

    def _settle(self, messages: list[dict[str, Any]], invocation: Invocation) -> None:
        """Delete what succeeded; leave what failed to come back after the visibility timeout."""
        failed: set[str] | None = {m["MessageId"] for m in messages}  # a function error fails the whole batch
        if invocation.succeeded:
            failed = set()
            if self.config.report_batch_item_failures:
                failed = parse_batch_item_failures(invocation.result, {m["MessageId"] for m in messages})
                if failed is None:
                    logger.error(
                        "%s: invalid partial batch response %r; the batch failed", self.config.name, invocation.result
                    )
        done = [] if failed is None else [m for m in messages if m["MessageId"] not in failed]
        deleted = 0
        for start in range(0, len(done), MAX_RECEIVE_BATCH):
            chunk = done[start : start + MAX_RECEIVE_BATCH]
            response = self.client.delete_message_batch(
                QueueUrl=self.config.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            deleted += len(response.get("Successful", []))
            for failure in response.get("Failed", []):
                logger.warning("%s: delete failed: %s", self.config.name, failure)
        with self._lock:
            stats = self.stats
            stats.batches += 1
            stats.records += len(messages)
            stats.batch_sizes.append(len(messages))
            stats.deleted += deleted
            stats.failed_records += len(messages) - len(done)
            if failed is None:
                stats.invalid_responses += 1
            if len(done) < len(messages) and (failed is None or not invocation.succeeded):
                stats.failed_batches += 1

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {
                name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.config.queue_arn,
            "awsRegion": self.region,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS API attribute (`StringValue`, …) -> the shape of a Lambda SQS record (`stringValue`, …)."""
    import base64  # noqa: PLC0415 - only binary attributes need it

    converted: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return converted


def parse_batch_item_failures(result: Any, message_ids: set[str]) -> set[str] | None:
    """The failed message ids of a partial batch response, or None when Lambda would treat it as invalid."""
    if result is None:
        return set()
    if not isinstance(result, dict):
        return None
    items = result.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return None
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return None
        failed.add(identifier)
    return failed
