"""The worker's failure rules at the edge of the batch: what a message it cannot run becomes (handlers/worker.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from signbridge.domain.models import RequestStatus, SignerStatus, Workflow
from signbridge.handlers import worker
from signbridge.workflow.services import Services
from tests.support.aws import Queues
from tests.support.events import load_event
from tests.support.lambda_context import FakeLambdaContext
from tests.support.stored import place


def _record(template: dict[str, Any], *, message_id: str, group: str, body: str) -> dict[str, Any]:
    record = copy.deepcopy(template)
    record["messageId"] = message_id
    record["body"] = body
    record["attributes"]["MessageGroupId"] = group
    return record


def _arn(queue_url: str) -> str:
    return f"arn:aws:sqs:eu-west-1:123456789012:{queue_url.rstrip('/').rsplit('/', 1)[-1]}"


def _completed(services: Services) -> str:
    """A finished request whose Optimizer documents are deleted: its `delete_oneshot_documents` is a no-op."""
    return place(
        services.records,
        Workflow.ONESHOT,
        RequestStatus.COMPLETED,
        since=services.clock(),
        signer=lambda _: {
            "status": SignerStatus.SIGNED,
            "oneshot_request_pk": "7",
            "oneshot_deleted_at": services.clock(),
        },
    ).id


class _SpySqs:
    """The worker's SQS client, recording the visibility changes it asks for."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.visibility: dict[str, int] = {}

    def change_message_visibility(self, **kwargs: Any) -> Any:
        self.visibility[kwargs["ReceiptHandle"]] = kwargs["VisibilityTimeout"]
        return self.client.change_message_visibility(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_a_message_that_can_never_run_is_set_aside_at_once_and_other_groups_go_on(
    oneshot_services: Services, queues: Queues, sqs_client: Any, captured_logs: list[str]
) -> None:
    # Given a batch of four groups: AWS's sample body, a body that is not JSON, an operation nobody knows, and a
    # real step (deleting a finished request's documents at the Optimizer, already done: a no-op that succeeds)
    request_id = _completed(oneshot_services)
    template = load_event("sqs/oneshot_delete_oneshot_documents.json")["Records"][0]
    template["eventSourceARN"] = _arn(queues.oneshot.url)
    valid = template["body"].replace("0f8fad5bd9cb469fa16570867728950e", request_id)
    unknown = valid.replace('"op":"delete_oneshot_documents"', '"op":"print_money"')
    event = {
        "Records": [
            _record(template, message_id="m-sample", group="g0", body="Hello from SQS!"),
            _record(template, message_id="m-malformed", group="g1", body="{not json"),
            _record(template, message_id="m-unknown", group="g2", body=unknown),
            _record(template, message_id="m-valid", group=request_id, body=valid),
        ]
    }

    # When the real worker handler takes the batch
    answer = worker.handler(event, FakeLambdaContext())

    # Then nothing is reported: redelivery could never help, so the three that cannot run went straight to the
    # queue's dead-letter queue (and are acknowledged, their groups free), and the real step was consumed
    assert answer["batchItemFailures"] == []
    parked = sqs_client.receive_message(QueueUrl=queues.oneshot.dead_letter_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(message["Body"] for message in parked) == sorted(["Hello from SQS!", "{not json", unknown])
    # And each is logged with its message id and a short excerpt, never the whole body
    aside = [line for line in captured_logs if line.startswith("{") and "set aside in the dead-letter" in line]
    assert len(aside) == 3
    assert any("m-unknown" in line for line in aside)
    assert not any("delete_oneshot_documents" in line for line in aside)


def test_a_failed_record_and_the_rest_of_its_group_come_back_after_the_backoff(
    oneshot_services: Services, queues: Queues, sqs_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two messages of one group on the real queue: a step for a request that does not exist (it fails), then
    # a step after it (skipped, to keep the group's order)
    template = load_event("sqs/oneshot_delete_oneshot_documents.json")["Records"][0]
    missing = template["body"].replace("0f8fad5bd9cb469fa16570867728950e", "no-such-request")
    later = missing.replace('"generation":0', '"generation":1')
    records = []
    for number, body in enumerate((missing, later)):
        sqs_client.send_message(
            QueueUrl=queues.oneshot.url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=f"d{number}"
        )
    received = sqs_client.receive_message(QueueUrl=queues.oneshot.url, MaxNumberOfMessages=10)["Messages"]
    for message in received:
        record = _record(template, message_id=message["MessageId"], group="g", body=message["Body"])
        record["receiptHandle"] = message["ReceiptHandle"]
        record["eventSourceARN"] = _arn(queues.oneshot.url)
        records.append(record)
    spy = _SpySqs(sqs_client)
    monkeypatch.setattr(worker, "sqs_client", lambda: spy)

    # When the worker takes the batch
    answer = worker.handler({"Records": records}, FakeLambdaContext())

    # Then both are reported, and both come back after the first backoff instead of the queue's visibility timeout
    assert len(answer["batchItemFailures"]) == 2
    assert spy.visibility == {record["receiptHandle"]: worker.BACKOFF_BASE_SECONDS for record in records}


@pytest.mark.parametrize(
    ("receive_count", "retry_after", "expected"),
    [
        (1, None, 10),  # first retry: the base
        (3, None, 40),  # doubles with each receive
        (12, None, worker.BACKOFF_MAX_SECONDS),  # capped
        (1, 7.2, 7),  # the provider's Retry-After wins
        (1, 0.0, 1),  # ... but at least a second
        (1, 10_000.0, worker.BACKOFF_MAX_SECONDS),  # ... and never beyond the cap
    ],
)
def test_backoff_before_a_retryable_step_comes_back(
    receive_count: int, retry_after: float | None, expected: int
) -> None:
    assert worker.backoff_seconds(receive_count, retry_after) == expected
