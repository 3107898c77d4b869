"""S3 event notifications (`Custom::S3BucketNotifications` in the template) delivered to their functions.

How: for each `LambdaFunctionConfiguration` of the template, the relay creates a private *standard* SQS queue in moto
and sets the bucket's notification configuration to send the same events, with the same prefix/suffix filter, to
that queue. moto then emits one notification per write, at write time, from inside S3 itself: `ObjectCreated:Put`
for a PUT, `:Post` for a presigned POST upload, `:Copy`, `:CompleteMultipartUpload`. A relay thread per queue turns
each message into the event S3 sends a Lambda function (moto's record, completed with the fields it leaves out:
`versionId`, `sequencer`, `userIdentity`, `requestParameters`, `responseElements`) and invokes the function.

Why not poll the bucket listing instead: a listing cannot tell a PUT from a POST or a copy, costs a call per prefix
per tick whatever happens, grows with the bucket, and can miss a version overwritten between two ticks; the
notification is emitted by the write itself, exactly once per object version.

S3 invokes Lambda asynchronously: an error is retried twice (after 1 and 2 minutes in AWS; `retry_delays` here),
then the event is dropped (no on-failure destination is configured in the template). moto's `s3:TestEvent`, sent
when the configuration is set, goes to queues only in AWS too, and is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from local.runtime import Invocation

logger = logging.getLogger("signbridge.local.notifications")

DEFAULT_RETRY_DELAYS = (60.0, 120.0)  # Lambda's asynchronous invocation retries
RECEIVE_WAIT_SECONDS = 1

Invoke = Callable[[str, dict[str, Any]], Invocation]


@dataclass(frozen=True)
class NotificationConfig:
    """One notification of the template, resolved to local names."""

    bucket: str
    function: str  # local function name
    events: tuple[str, ...]  # "s3:ObjectCreated:*"
    prefix: str = ""
    suffix: str = ""
    configuration_id: str = ""


@dataclass
class RelayStats:
    delivered: int = 0
    failed_attempts: int = 0
    dropped: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # the records delivered (for tests and the CLI)


class S3NotificationRelay:
    def __init__(
        self,
        notifications: Sequence[NotificationConfig],
        *,
        invoke: Invoke,
        sqs_client: Any,
        s3_client: Any,
        region: str,
        account_id: str,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        queue_prefix: str = "signbridge-local-s3-notifications",
    ) -> None:
        self.notifications = list(notifications)
        self.invoke = invoke
        self.sqs = sqs_client
        self.s3 = s3_client
        self.region = region
        self.account_id = account_id
        self.retry_delays = tuple(retry_delays)
        self.queue_prefix = queue_prefix
        self.stats = RelayStats()
        self._queues: list[tuple[NotificationConfig, str]] = []  # (notification, queue url)
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._sequencer = itertools.count(1)
        self._claimed_versions: set[tuple[str, str, str]] = set()
        self._events: dict[str, dict[str, Any]] = {}  # message id -> the event, so a retry sends the same one
        self._lock = threading.Lock()
        self._busy = 0

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> S3NotificationRelay:
        by_bucket: dict[str, list[dict[str, Any]]] = {}
        for notification in self.notifications:
            digest = hashlib.sha256(
                f"{notification.bucket}/{notification.configuration_id}/{notification.function}".encode()
            ).hexdigest()[:12]
            url = self.sqs.create_queue(QueueName=f"{self.queue_prefix}-{digest}")["QueueUrl"]
            self.sqs.purge_queue(QueueUrl=url)  # nothing left over from an earlier stack in this process
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            rules = [
                {"Name": name, "Value": value}
                for name, value in (("prefix", notification.prefix), ("suffix", notification.suffix))
                if value
            ]
            configuration: dict[str, Any] = {
                "Id": notification.configuration_id or digest,
                "QueueArn": arn,
                "Events": list(notification.events),
            }
            if rules:
                configuration["Filter"] = {"Key": {"FilterRules": rules}}
            by_bucket.setdefault(notification.bucket, []).append(configuration)
            self._queues.append((notification, url))
        for bucket, configurations in by_bucket.items():
            self.s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configurations}
            )
        self._stop.clear()
        for notification, url in self._queues:
            thread = threading.Thread(
                target=self._run, args=(notification, url), name=f"s3-notify-{notification.function}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def signal_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=RECEIVE_WAIT_SECONDS + 30)
        self._threads.clear()
        for _, url in self._queues:
            with contextlib.suppress(Exception):  # the emulator may already be gone
                self.sqs.delete_queue(QueueUrl=url)
        self._queues.clear()

    @property
    def busy(self) -> bool:
        """True while an event is being delivered."""
        with self._lock:
            return self._busy > 0

    def pending(self) -> int:
        """Notifications waiting or in flight (visible + not visible messages of the private queues)."""
        total = 0
        for _, url in self._queues:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            total += int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            )
        return total

    # -- delivery -------------------------------------------------------------------------------------------------

    def _run(self, notification: NotificationConfig, url: str) -> None:
        while not self._stop.is_set():
            try:
                response = self.sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=1,
                    WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
                    MessageSystemAttributeNames=["ApproximateReceiveCount"],
                )
            except Exception:
                if not self._stop.is_set():
                    logger.exception("receiving S3 notifications failed")
                    self._stop.wait(0.5)
                continue
            for message in response.get("Messages", []):
                with self._lock:
                    self._busy += 1
                try:
                    self._deliver(notification, url, message)
                except Exception:
                    logger.exception("delivering an S3 notification failed")
                finally:
                    with self._lock:
                        self._busy -= 1

    def _deliver(self, notification: NotificationConfig, url: str, message: dict[str, Any]) -> None:
        body = json.loads(message["Body"])
        if body.get("Event") == "s3:TestEvent":
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        event = self._events.get(message["MessageId"])
        if event is None:
            event = {"Records": [self._complete(record) for record in body.get("Records", [])]}
            self._events[message["MessageId"]] = event
        invocation = self.invoke(notification.function, event)
        if invocation.succeeded:
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            self._events.pop(message["MessageId"], None)
            with self._lock:
                self.stats.delivered += 1
                self.stats.events.extend(event["Records"])
            return
        with self._lock:
            self.stats.failed_attempts += 1
        if attempt <= len(self.retry_delays):
            delay = self.retry_delays[attempt - 1]
            logger.warning(
                "%s failed on an S3 event (attempt %d); retrying in %ss", notification.function, attempt, delay
            )
            self.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=max(0, round(delay))
            )
            return
        logger.error("%s failed on an S3 event %d times; the event is dropped", notification.function, attempt)
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        self._events.pop(message["MessageId"], None)
        with self._lock:
            self.stats.dropped += 1

    def _complete(self, record: dict[str, Any]) -> dict[str, Any]:
        """Add what moto's record leaves out, so the event has the shape S3 sends."""
        s3 = record.setdefault("s3", {})
        bucket = s3.get("bucket", {})
        obj = s3.setdefault("object", {})
        bucket.setdefault("ownerIdentity", {"principalId": "LOCAL"})
        record.setdefault("userIdentity", {"principalId": "AWS:LOCAL"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault("responseElements", {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"})
        record["awsRegion"] = record.get("awsRegion") or self.region
        key = unquote_plus(str(obj.get("key", "")))
        # S3 URL-encodes the key but keeps "/" (moto encodes it too): "incoming/a+b.pdf" for "incoming/a b.pdf".
        obj["key"] = quote_plus(key, safe="/")
        version = self._version_id(str(bucket.get("name", "")), key, str(obj.get("eTag", "")))
        if version is not None:
            obj["versionId"] = version
        obj["sequencer"] = f"{next(self._sequencer):016X}"
        return record

    def _version_id(self, bucket: str, key: str, etag: str) -> str | None:
        """The version this notification is about: the oldest not yet claimed version of the key with its ETag."""
        try:
            response = self.s3.list_object_versions(Bucket=bucket, Prefix=key)
        except Exception:
            return None
        candidates = [
            version
            for version in response.get("Versions", [])
            if version["Key"] == key and version.get("ETag", "").strip('"') == etag
        ]
        candidates.sort(key=lambda version: version["LastModified"])
        with self._lock:
            for version in candidates:
                identity = (bucket, key, str(version["VersionId"]))
                if identity not in self._claimed_versions:
                    self._claimed_versions.add(identity)
                    return None if version["VersionId"] == "null" else str(version["VersionId"])
        return None
