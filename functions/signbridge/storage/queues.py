"""Enqueue operation messages on the two FIFO queues (`zapsign-ops`, `oneshot-ops`).

- `MessageGroupId` is the request id, so the steps of one request run in order and different requests in parallel.
  A ZapSign webhook hint, which does not know its request yet, passes the ZapSign document token as `group_id`
  (that token belongs to exactly one request, so the order per request still holds).
- `MessageDeduplicationId` is `{request}:{op}:{signer}:{document}:{generation}`: a duplicate send within SQS's
  5-minute window is dropped by SQS itself. SQS allows 1-128 characters of ASCII letters, digits and punctuation;
  an id that fits is used as it is, anything else becomes a readable prefix plus a sha256 of the full id, so two
  different ids never collapse into one.
- `send_batch` sends in chunks of at most 10 entries and 256 KiB of bodies (SQS's limits), in order, and stops at the
  first chunk with a refused entry, raising `EnqueueError` with what was refused and what was not sent; re-sending
  all of them is safe.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from pydantic import ValidationError

from signbridge.config import Settings, get_settings
from signbridge.domain.errors import EnqueueError
from signbridge.domain.messages import OperationMessage
from signbridge.domain.operations import Queue
from signbridge.storage.clients import sqs_client

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

SQS_ID_MAX_CHARS: Final = 128
SQS_BATCH_SIZE: Final = 10
SQS_BATCH_MAX_BYTES: Final = 262_144  # bodies of one SendMessageBatch together (and of one message)
_SQS_ID_ALLOWED = re.compile(r"^[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]+$")
_SQS_ID_DISALLOWED = re.compile(r"[^A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]")


@dataclass(frozen=True)
class Outgoing:
    """A message with its SQS routing: the group (default: the request id) and the deduplication id (default: the
    message's own key)."""

    message: OperationMessage
    group_id: str | None = None
    deduplication_id: str | None = None

    def resolved_group_id(self) -> str:
        group = self.group_id or self.message.request_id
        if not group:
            raise ValueError("a message without a request id needs a group_id (e.g. the ZapSign document token)")
        return sqs_safe_id(group)

    def resolved_deduplication_id(self) -> str:
        return sqs_safe_id(self.deduplication_id or self.message.deduplication_key())


def sqs_safe_id(raw: str) -> str:
    """`raw` if SQS accepts it as a group or deduplication id; else a readable prefix + sha256 of `raw` (≤ 128)."""
    if raw and len(raw) <= SQS_ID_MAX_CHARS and _SQS_ID_ALLOWED.match(raw):
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()  # 64 characters
    prefix = _SQS_ID_DISALLOWED.sub("_", raw)[: SQS_ID_MAX_CHARS - len(digest) - 1]
    return f"{prefix}~{digest}"


class QueueSender:
    def __init__(self, *, client: SQSClient, queue_urls: dict[Queue, str]) -> None:
        self._client = client
        self._queue_urls = dict(queue_urls)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, client: SQSClient | None = None) -> QueueSender:
        settings = settings or get_settings()
        return cls(
            client=client or sqs_client(),
            queue_urls={Queue.ZAPSIGN: settings.zapsign_queue_url, Queue.ONESHOT: settings.oneshot_queue_url},
        )

    def send(
        self,
        queue: Queue,
        message: OperationMessage,
        *,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> str:
        """Enqueue one message; returns SQS's message id."""
        outgoing = Outgoing(message, group_id, deduplication_id)
        response = self._client.send_message(
            QueueUrl=self._queue_urls[queue],
            MessageBody=message.to_body(),
            MessageGroupId=outgoing.resolved_group_id(),
            MessageDeduplicationId=outgoing.resolved_deduplication_id(),
        )
        return response["MessageId"]

    def send_batch(self, queue: Queue, messages: Sequence[OperationMessage | Outgoing]) -> None:
        """Enqueue messages in order, 10 per call; `EnqueueError` if any is refused (later chunks are not sent)."""
        outgoing = [item if isinstance(item, Outgoing) else Outgoing(item) for item in messages]
        entries = [
            {
                "Id": str(position),
                "MessageBody": item.message.to_body(),
                "MessageGroupId": item.resolved_group_id(),
                "MessageDeduplicationId": item.resolved_deduplication_id(),
            }
            for position, item in enumerate(outgoing)
        ]
        sent = 0
        for chunk in _chunks(entries):
            response = self._client.send_message_batch(QueueUrl=self._queue_urls[queue], Entries=cast("Any", chunk))
            sent += len(chunk)
            failed = response.get("Failed", [])
            if failed:
                by_id = {entry["Id"]: entry["MessageDeduplicationId"] for entry in chunk}
                raise EnqueueError(
                    queue.value,
                    failed=[(by_id[entry["Id"]], entry.get("Code", "unknown")) for entry in failed],
                    unsent=[entry["MessageDeduplicationId"] for entry in entries[sent:]],
                )


def _chunks(entries: list[dict[str, str]]) -> Iterator[list[dict[str, str]]]:
    """Consecutive runs of entries within SQS's batch limits (count and total body size)."""
    chunk: list[dict[str, str]] = []
    size = 0
    for entry in entries:
        body_size = len(entry["MessageBody"].encode())
        if chunk and (len(chunk) == SQS_BATCH_SIZE or size + body_size > SQS_BATCH_MAX_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += body_size
    if chunk:
        yield chunk


def dead_letter_queue_url(client: SQSClient, queue_url: str) -> str | None:
    """The dead-letter queue of a work queue, from its redrive policy (same account and region as the queue, so its
    URL is the queue's with the DLQ's name). None without a redrive policy."""
    attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    policy = attributes.get("Attributes", {}).get("RedrivePolicy")
    if not policy:
        return None
    name = str(json.loads(policy)["deadLetterTargetArn"]).rsplit(":", 1)[-1]
    return f"{queue_url.rstrip('/').rsplit('/', 1)[0]}/{name}"


@dataclass(frozen=True)
class DeadLetter:
    """A message read from a work queue's dead-letter queue: its operation message (None when it is not one), and
    the receipt that deletes it."""

    queue: Queue
    message_id: str
    message: OperationMessage | None
    receipt_handle: str


DEAD_LETTER_READ_SECONDS: Final = 60
"""How long a dead letter read and kept stays invisible: long enough for one run to page past it."""


class DeadLetterQueues:
    """Read and drop the messages of the work queues' dead-letter queues (found from each queue's redrive policy,
    looked up on first use)."""

    def __init__(self, *, client: SQSClient, queue_urls: dict[Queue, str]) -> None:
        self._client = client
        self._queue_urls = dict(queue_urls)
        self._dead_letter_urls: dict[Queue, str | None] = {}

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, client: SQSClient | None = None) -> DeadLetterQueues:
        settings = settings or get_settings()
        return cls(
            client=client or sqs_client(),
            queue_urls={Queue.ZAPSIGN: settings.zapsign_queue_url, Queue.ONESHOT: settings.oneshot_queue_url},
        )

    def _url(self, queue: Queue) -> str | None:
        if queue not in self._dead_letter_urls:
            self._dead_letter_urls[queue] = dead_letter_queue_url(self._client, self._queue_urls[queue])
        return self._dead_letter_urls[queue]

    def read(self, queue: Queue, *, limit: int) -> Iterator[DeadLetter]:
        """Up to `limit` dead letters of `queue`, each read once (invisible for `DEAD_LETTER_READ_SECONDS`)."""
        url = self._url(queue)
        if url is None:
            return
        seen: set[str] = set()
        while len(seen) < limit:
            received = self._client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(SQS_BATCH_SIZE, limit - len(seen)),
                VisibilityTimeout=DEAD_LETTER_READ_SECONDS,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            fresh = [item for item in received if item["MessageId"] not in seen]
            if not fresh:
                return
            for item in fresh:
                seen.add(item["MessageId"])
                try:
                    message: OperationMessage | None = OperationMessage.from_body(item.get("Body", ""))
                except ValidationError:
                    message = None
                yield DeadLetter(queue, item["MessageId"], message, item["ReceiptHandle"])

    def drop(self, letter: DeadLetter) -> None:
        url = self._url(letter.queue)
        if url is not None:
            self._client.delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
