"""One-Shot workflow test kit: services wired to moto and the One-Shot simulator, a worker driver, seeded requests.

Its fixtures are imported by `tests/integration/conftest.py` (with the simulator fixtures of
`tests.simulators.conftest_oneshot`).

- `oneshot_clock`: the time every part of SignBridge reads in the test (`Services.clock` and the record store's
  clock): real time plus an offset a test moves with `advance(seconds)` (timeline order stays real).
- `oneshot_services`: a `Services` on moto (table, bucket, queues, secrets) and the simulator, with
  `oneshot_clock`; the worker and the One-Shot webhook handler are patched to use it.
- `oneshot_worker`: `WorkerDriver`: receives from the real `oneshot-ops` FIFO queue, turns each batch into a Lambda SQS
  event (the shape of `events/sqs/oneshot_*.json`) and invokes the real worker handler until the queue is empty.
- `seed_request(...)`: a request stored as the API stores it (originals and ID images in S3), then moved on by the
  planner, as the API does after a create.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from signbridge.config import Settings
from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    ZAPSIGN_STAGE,
    Cause,
    DocumentStatus,
    IdImageKind,
    RequestAggregate,
    RequestStatus,
    SignerStatus,
    Workflow,
)
from signbridge.handlers import oneshot_webhook, worker
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.queues import QueueSender
from signbridge.storage.secrets import SecretStore
from signbridge.workflow import progress
from signbridge.workflow.services import Services
from simulators.oneshot.simulator import OneShotSimulator
from simulators.pdf import make_pdf, stamp_pdf
from tests.support.aws import Queues
from tests.support.clock import ShiftedClock
from tests.support.events import load_event
from tests.support.lambda_context import FakeLambdaContext
from tests.support.samples import JPEG_BYTES, PNG_BYTES, new_request
from tests.support.services import services_on_fixtures

SIGNER_NAMES = (("Ana", "Souza"), ("Bruno", "Lima"), ("Carla", "Dias"))


@pytest.fixture
def oneshot_clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def oneshot_services(
    *,
    settings: Settings,
    table: str,
    dynamodb_client: Any,
    file_store: FileStore,
    queue_sender: QueueSender,
    secret_store: SecretStore,
    idempotency_store: IdempotencyStore,
    oneshot_simulator: OneShotSimulator,
    oneshot_clock: ShiftedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Services:
    services = services_on_fixtures(
        settings=settings,
        table=table,
        dynamodb_client=dynamodb_client,
        file_store=file_store,
        queue_sender=queue_sender,
        secret_store=secret_store,
        idempotency_store=idempotency_store,
        clock=oneshot_clock,
        oneshot_base_url=oneshot_simulator.api_url,
    )
    for handler in (worker, oneshot_webhook):
        monkeypatch.setattr(handler, "get_services", lambda: services)
    return services


# ------------------------------------------------------------------------------------------------ the worker


@dataclass
class WorkerDriver:
    """Runs the real worker handler over what is on the `oneshot-ops` queue."""

    sqs: Any
    queue_url: str
    queue_arn: str
    processed: list[OperationMessage] = field(default_factory=list)
    failures: list[OperationMessage] = field(default_factory=list)
    duplicate_everything: bool = False

    def run(self, *, max_batches: int = 100) -> list[OperationMessage]:
        """Deliver batches until the queue is empty; returns the messages processed in this run. A record the worker
        reports as failed is kept in `failures` and made visible again only by `release_failures()`."""
        done: list[OperationMessage] = []
        for _ in range(max_batches):
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["All"],
                VisibilityTimeout=60,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                return done
            self.deliver(messages, done)
        raise AssertionError("the worker did not drain the queue (a loop?)")

    def deliver(self, messages: list[dict[str, Any]], done: list[OperationMessage]) -> None:
        event = {"Records": [self.record(message) for message in messages]}
        try:
            answer = worker.handler(event, FakeLambdaContext())
            failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
        except BatchProcessingError:
            # Every record failed: the invocation fails and Lambda hands the whole batch back.
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
            if self.duplicate_everything and message["Attributes"]["MessageDeduplicationId"][-4:] != ":dup":
                self.send_again(message)

    def invoke(self, operation: OperationMessage) -> dict[str, Any]:
        """Invoke the worker handler with one message directly (not through the queue): its sample event, this body."""
        sample = load_event(f"sqs/oneshot_{operation.op}.json")
        sample["Records"][0] |= {
            "messageId": str(uuid.uuid4()),
            "body": operation.to_body(),
            "md5OfBody": hashlib.md5(operation.to_body().encode()).hexdigest(),
            "eventSourceARN": self.queue_arn,
        }
        answer: dict[str, Any] = worker.handler(sample, FakeLambdaContext())
        return answer

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        """A Lambda SQS FIFO record of `message`, built on the sample event of its operation."""
        operation = OperationMessage.from_body(message["Body"])
        sample = load_event(f"sqs/oneshot_{operation.op}.json")["Records"][0]
        attributes = message.get("Attributes", {})
        return sample | {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "md5OfBody": message["MD5OfBody"],
            "attributes": sample["attributes"] | {name: str(value) for name, value in attributes.items()},
            "eventSourceARN": self.queue_arn,
        }

    def send_again(self, message: dict[str, Any]) -> None:
        """The same body under a fresh deduplication id: a duplicate SQS would not drop (a redrive, a replay)."""
        attributes = message["Attributes"]
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=message["Body"],
            MessageGroupId=attributes["MessageGroupId"],
            MessageDeduplicationId=f"{attributes['MessageDeduplicationId'][:100]}-{uuid.uuid4().hex[:8]}:dup",
        )

    def replay(self, messages: list[OperationMessage]) -> None:
        for operation in messages:
            self.sqs.send_message(
                QueueUrl=self.queue_url,
                MessageBody=operation.to_body(),
                MessageGroupId=operation.request_id or "replay",
                MessageDeduplicationId=uuid.uuid4().hex,
            )

    def release_failures(self) -> None:
        """Make the records the worker handed back visible again now (instead of after its backoff)."""
        for handle in self._failed_handles:
            self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
        self._failed_handles.clear()

    def __post_init__(self) -> None:
        self._failed_handles: list[str] = []


@pytest.fixture
def oneshot_worker(sqs_client: Any, queues: Queues, oneshot_services: Services) -> WorkerDriver:
    arn = sqs_client.get_queue_attributes(QueueUrl=queues.oneshot.url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return WorkerDriver(sqs_client, queues.oneshot.url, arn)


# ------------------------------------------------------------------------------------------------ requests


def seed_request(
    services: Services,
    *,
    signers: int = 1,
    documents: int = 1,
    workflow: Workflow = Workflow.ONESHOT,
    signature_appearance: dict[str, Any] | None = None,
    zapsign_signed: bool = False,
) -> str:
    """A `submitted` request as the API stores it (originals and ID images in S3), moved on by the planner (so the
    first One-Shot step is on the queue). Returns its id.

    `zapsign_signed` (workflow `zapsign_oneshot`): the request as the ZapSign part leaves it instead: every document's
    ZapSign-signed PDF and every signer's ID evidence in S3, request, documents and signers `zapsign_signed`."""
    status = RequestStatus.ZAPSIGN_SIGNED if zapsign_signed else None
    request, document_items, signer_items = new_request(workflow, documents=documents, signers=signers, status=status)
    if signature_appearance is not None:
        request = request.model_copy(update={"signature_appearance": signature_appearance})
    stored_documents = []
    for document in document_items:
        original = make_pdf(f"Contract {document.index} of request {request.id}")
        key = keys.original_key(request.id, document.index)
        services.files.store_bytes(key, original, expect_pdf=True, max_bytes=services.settings.max_file_bytes)
        updates: dict[str, Any] = {"original_key": key, "sha256": hashlib.sha256(original).hexdigest()}
        if zapsign_signed:
            signed = stamp_pdf(original, "ZapSign: signed by every signer")
            signed_key = keys.signed_key(request.id, document.index, ZAPSIGN_STAGE)
            services.files.store_bytes(signed_key, signed, expect_pdf=True, max_bytes=services.settings.max_file_bytes)
            updates |= {"status": DocumentStatus.ZAPSIGN_SIGNED, "signed_keys": {ZAPSIGN_STAGE: signed_key}}
        stored_documents.append(document.model_copy(update=updates | {"size": len(original)}))
    stored_signers = []
    for signer in signer_items:
        given, surname = SIGNER_NAMES[signer.index % len(SIGNER_NAMES)]
        evidence = {}
        for kind in IdImageKind:
            extension = "png" if kind is IdImageKind.DOCUMENT_OWNER else "jpg"
            data = PNG_BYTES if extension == "png" else JPEG_BYTES
            key = keys.evidence_key(request.id, signer.index, kind.value, extension)
            services.files.store_bytes(
                key,
                data,
                expect_pdf=False,
                max_bytes=1024 * 1024,
                content_type=f"image/{extension.replace('jpg', 'jpeg')}",
            )
            evidence[kind] = key
        stored_signers.append(
            signer.model_copy(
                update={
                    "name": f"{given} {surname}",
                    "given_name": given,
                    "first_surname": surname,
                    "phone": f"+3460011122{signer.index}",
                    "evidence_keys": evidence,
                }
                | ({"status": SignerStatus.ZAPSIGN_SIGNED} if zapsign_signed else {})
            )
        )
    services.records.create_request(
        request, stored_documents, stored_signers, cause=Cause.API, correlation_id="test-create"
    )
    progress.advance(services, request.id, cause=Cause.API, correlation_id="test-create")
    return request.id


def signer_pk(aggregate: RequestAggregate, signer: int = 0) -> int:
    pk = aggregate.signer(signer).oneshot_request_pk
    assert pk is not None
    return int(pk)


def raw_objects(services: Services, prefix: str = "raw/") -> list[str]:
    return [summary.key for summary in services.files.list_objects(prefix)]


def sqs_messages(sqs: Any, queue_url: str) -> Iterator[dict[str, Any]]:
    """What waits on a queue (received with a long visibility timeout: a second call sees only newer messages)."""
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=300,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            return
        yield from batch


def body_of(message: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(message["Body"])
    return loaded
