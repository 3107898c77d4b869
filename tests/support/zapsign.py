"""ZapSign workflow test kit: services wired to moto and the ZapSign simulator, a worker driver, seeded requests, and
webhook deliveries through the real `zapsign_webhook` handler.

Import the fixtures into a test module (`from tests.support.zapsign import ...  # noqa: F401`), together with the
simulator fixtures of `tests.simulators.conftest_zapsign`.

- `zapsign_clock`: the time every part of SignBridge reads in the test (`Services.clock`, the record store's clock):
  real time plus an offset a test moves with `advance(seconds)` (timeline order stays real).
- `zapsign_services`: a `Services` on moto (table, bucket, queues, secrets) and the simulator. The simulator accepts
  the token the `secrets` fixture holds; the ZapSign client has short timeouts and never sleeps between retries
  (`zapsign_services.zapsign().http`).
- `zapsign_handlers`: `ZapSignHandlers`: the real `worker`, `zapsign_webhook` and `intake` handlers, each loaded as a
  fresh Lambda environment would load it (`tests.support.handlers.load_handler`: Powertools' variables set, a private
  module copy, so a local stack started later in the process imports its own) and using `zapsign_services`.
- `zapsign_worker`: `ZapSignWorkerDriver`: receives from the real `zapsign-ops` FIFO queue, turns each batch into a
  Lambda SQS event (the shape of `events/sqs/zapsign_*.json`) and invokes the worker handler until the queue is
  empty. Records the worker hands back stay invisible until `release_failures()`.
- `seed_request(...)`: a `submitted` request as the API stores it (originals in S3), moved on by the planner (so
  `create_zapsign_document` is on the queue).
- `deliver_webhook(...)`: what the simulator would POST for an event on a document, through the webhook handler.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from signbridge.config import Settings
from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, Language, Workflow
from signbridge.providers.downloads import FileDownloads
from signbridge.providers.http import ProviderHttp, RetryPolicy
from signbridge.providers.zapsign import ZapSignClient
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.queues import QueueSender
from signbridge.storage.secrets import SecretStore
from signbridge.wiring import FILE_DOWNLOAD_PROVIDER
from signbridge.workflow import progress
from signbridge.workflow.services import Services
from simulators.pdf import make_pdf
from simulators.zapsign.simulator import ZapSignSimulator
from tests.support.aws import SAMPLE_WEBHOOK_SECRET, SAMPLE_ZAPSIGN_SECRET, Queues
from tests.support.clock import ShiftedClock
from tests.support.events import load_event
from tests.support.handlers import load_handler
from tests.support.lambda_context import FakeLambdaContext
from tests.support.samples import new_request
from tests.support.services import services_on_fixtures

ZAPSIGN_API_TOKEN: str = SAMPLE_ZAPSIGN_SECRET["api_token"]
WEBHOOK_SECRET: str = SAMPLE_WEBHOOK_SECRET["zapsign"][0]  # the value events/apigw/zapsign_webhook_*.json carry
PREVIOUS_WEBHOOK_SECRET: str = SAMPLE_WEBHOOK_SECRET["zapsign"][1]
READ_TIMEOUT_SECONDS = 3.0
SIGNER_NAMES = ("Ana Souza", "Bruno Lima", "Carla Dias")


@pytest.fixture
def zapsign_clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def zapsign_services(
    *,
    settings: Settings,
    table: str,
    dynamodb_client: Any,
    file_store: FileStore,
    queue_sender: QueueSender,
    secret_store: SecretStore,
    idempotency_store: IdempotencyStore,
    zapsign_simulator: ZapSignSimulator,
    zapsign_clock: ShiftedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Services:
    base_url = zapsign_simulator.api_base_url
    # The simulator of this test process accepts the token the test's ZapSign secret holds (undone after the test).
    monkeypatch.setattr(zapsign_simulator, "api_token", ZAPSIGN_API_TOKEN)
    services = services_on_fixtures(
        settings=settings,
        table=table,
        dynamodb_client=dynamodb_client,
        file_store=file_store,
        queue_sender=queue_sender,
        secret_store=secret_store,
        idempotency_store=idempotency_store,
        clock=zapsign_clock,
        zapsign_base_url=base_url,
    )
    no_sleep: Callable[[float], None] = lambda _: None  # noqa: E731
    client = ZapSignClient(
        base_url,
        ZAPSIGN_API_TOKEN,
        http=ProviderHttp(
            "zapsign", base_url, retry=RetryPolicy(max_attempts=2), read_timeout=READ_TIMEOUT_SECONDS, sleep=no_sleep
        ),
    )
    downloads = FileDownloads(
        ProviderHttp(
            FILE_DOWNLOAD_PROVIDER,
            "https://invalid/",
            retry=RetryPolicy(max_attempts=2),
            read_timeout=READ_TIMEOUT_SECONDS,
            sleep=no_sleep,
        )
    )
    monkeypatch.setattr(services, "zapsign", lambda: client)
    monkeypatch.setattr(services, "downloads", lambda: downloads)
    return services


@dataclass(frozen=True)
class ZapSignHandlers:
    """The handler modules of one test, each a private copy using the test's services."""

    worker_module: ModuleType
    webhook_module: ModuleType
    intake_module: ModuleType

    def worker(self, event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.worker_module.handler(event, FakeLambdaContext(function_name="worker"))
        return answer

    def webhook(self, event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.webhook_module.handler(event, FakeLambdaContext(function_name="zapsign_webhook"))
        return answer

    def intake(self, event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.intake_module.handler(event, FakeLambdaContext(function_name="intake"))
        return answer


@pytest.fixture
def zapsign_handlers(zapsign_services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[ZapSignHandlers]:
    with ExitStack() as stack:
        modules = [
            stack.enter_context(load_handler(f"signbridge.handlers.{name}", monkeypatch))
            for name in ("worker", "zapsign_webhook", "intake")
        ]
        for module in modules:
            monkeypatch.setattr(module, "get_services", lambda: zapsign_services)
        yield ZapSignHandlers(*modules)


# ------------------------------------------------------------------------------------------------ the worker


@dataclass
class ZapSignWorkerDriver:
    """Runs the real worker handler over what is on the `zapsign-ops` queue, as the event source mapping would:
    records that succeed are deleted, records reported as failed come back only after `release_failures()`."""

    sqs: Any
    queue_url: str
    queue_arn: str
    handlers: ZapSignHandlers
    processed: list[OperationMessage] = field(default_factory=list)
    failures: list[OperationMessage] = field(default_factory=list)
    _failed_handles: list[str] = field(default_factory=list)

    def run(self, *, max_batches: int = 100) -> list[OperationMessage]:
        """Deliver batches until the queue shows nothing; returns the messages processed (and deleted) in this run."""
        done: list[OperationMessage] = []
        for _ in range(max_batches):
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["All"],
                VisibilityTimeout=120,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                return done
            event = {"Records": [self.record(message) for message in messages]}
            try:
                answer = self.handlers.worker(event)
                failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
            except BatchProcessingError:
                # Every record failed: Powertools fails the invocation, and Lambda hands the whole batch back.
                failed = {message["MessageId"] for message in messages}
            for message in messages:
                operation = OperationMessage.from_body(message["Body"])
                if message["MessageId"] in failed:
                    self.failures.append(operation)
                    self._failed_handles.append(message["ReceiptHandle"])
                    continue
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                done.append(operation)
                self.processed.append(operation)
        raise AssertionError("the worker did not drain the queue (a loop?)")

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        """A Lambda SQS FIFO record of `message`, built on the sample event of its operation."""
        operation = OperationMessage.from_body(message["Body"])
        sample = load_event(f"sqs/zapsign_{operation.op}.json")["Records"][0]
        attributes = {name: str(value) for name, value in message.get("Attributes", {}).items()}
        return sample | {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "md5OfBody": message["MD5OfBody"],
            "attributes": sample["attributes"] | attributes,
            "eventSourceARN": self.queue_arn,
        }

    def send(self, message: OperationMessage, *, group_id: str | None = None) -> None:
        """Put a message on the queue under a fresh deduplication id (a replay SQS would not drop)."""
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=message.to_body(),
            MessageGroupId=group_id or message.request_id or "replay",
            MessageDeduplicationId=uuid.uuid4().hex,
        )

    def drop_failures(self) -> None:
        """The records the worker handed back end in the dead-letter queue (here: deleted from the work queue)."""
        for handle in self._failed_handles:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=handle)
        self._failed_handles.clear()

    def release_failures(self) -> None:
        """Make the records the worker handed back visible again now (instead of after its backoff)."""
        for handle in self._failed_handles:
            self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
        self._failed_handles.clear()


@pytest.fixture
def zapsign_worker(sqs_client: Any, queues: Queues, zapsign_handlers: ZapSignHandlers) -> ZapSignWorkerDriver:
    arn = sqs_client.get_queue_attributes(QueueUrl=queues.zapsign.url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return ZapSignWorkerDriver(sqs_client, queues.zapsign.url, arn, zapsign_handlers)


# ------------------------------------------------------------------------------------------------ requests


def seed_request(
    services: Services,
    *,
    workflow: Workflow = Workflow.ZAPSIGN,
    signers: int = 1,
    documents: int = 1,
    document_updates: Callable[[int], dict[str, Any]] | None = None,
) -> str:
    """A `submitted` request as the API stores it (originals in S3), moved on by the planner (so the create step is
    on the queue). Returns its id."""
    request, document_items, signer_items = new_request(workflow, documents=documents, signers=signers)
    request = request.model_copy(update={"language": Language.PT_BR, "metadata": {"department": "sales"}})
    stored_documents = []
    for document in document_items:
        original = make_pdf(f"Contract {document.index} of request {request.id}")
        key = keys.original_key(request.id, document.index)
        services.files.store_bytes(key, original, expect_pdf=True, max_bytes=services.settings.max_file_bytes)
        updates = {
            "name": f"contract-{document.index}.pdf",
            "original_key": key,
            "sha256": hashlib.sha256(original).hexdigest(),
            "size": len(original),
            **(document_updates(document.index) if document_updates else {}),
        }
        stored_documents.append(document.model_copy(update=updates))
    stored_signers = [
        signer.model_copy(
            update={
                "name": SIGNER_NAMES[signer.index % len(SIGNER_NAMES)],
                "email": f"signer{signer.index}@example.com",
                "phone": f"+3460011122{signer.index}",
            }
        )
        for signer in signer_items
    ]
    services.records.create_request(
        request, stored_documents, stored_signers, cause=Cause.API, correlation_id="test-create"
    )
    progress.advance(services, request.id, cause=Cause.API, correlation_id="test-create")
    return request.id


# ------------------------------------------------------------------------------------------------ webhooks


def webhook_event(
    body: bytes | str | dict[str, Any], *, event_type: str = "doc_signed", **headers: str | None
) -> dict[str, Any]:
    """The HTTP API event of `events/apigw/zapsign_webhook_{event_type}.json` with `body` (a dict is JSON-encoded)
    and header overrides (`x_webhook_token=None` removes the secret header)."""
    raw = json.dumps(body) if isinstance(body, dict) else body
    event = load_event(
        f"apigw/zapsign_webhook_{event_type}.json",
        requestContext={"requestId": uuid.uuid4().hex[:16] + "="},
        headers={name.replace("_", "-"): value for name, value in headers.items()},
    )
    event["body"] = raw.decode() if isinstance(raw, bytes) else raw
    return event


def document_body(simulator: ZapSignSimulator, request_id: str, event_type: str, **extra: Any) -> dict[str, Any]:
    """What the simulator would send for `event_type` on the request's ZapSign document now (§4.4 shape)."""
    (document,) = simulator.find_documents(external_id=request_id)
    return {**document, "event_type": event_type, **extra}


def deliver_webhook(
    handlers: ZapSignHandlers, simulator: ZapSignSimulator, request_id: str, event_type: str, **extra: Any
) -> dict[str, Any]:
    """Deliver `event_type` for the request's document through the webhook handler (the secret header set)."""
    answer = handlers.webhook(
        webhook_event(document_body(simulator, request_id, event_type, **extra), event_type=event_type)
    )
    assert answer["statusCode"] == 200, answer
    return answer
