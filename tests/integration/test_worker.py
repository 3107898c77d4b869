"""The worker's failure rules at the edge of the batch: what a message it cannot run becomes (handlers/worker.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from signbridge.domain.models import RequestStatus, SignerStatus, Workflow
from signbridge.handlers import worker
from signbridge.workflow.services import Services
from tests.support.events import load_event
from tests.support.lambda_context import FakeLambdaContext
from tests.support.stored import place


def _record(template: dict[str, Any], *, message_id: str, group: str, body: str) -> dict[str, Any]:
    record = copy.deepcopy(template)
    record["messageId"] = message_id
    record["body"] = body
    record["attributes"]["MessageGroupId"] = group
    return record


def test_a_malformed_or_unknown_message_fails_alone_and_other_groups_go_on(oneshot_services: Services) -> None:
    # Given a batch of three groups: a body that is not an operation message, an operation nobody knows, and a real
    # step (deleting a finished request's documents at the Optimizer, already done: a no-op that succeeds)
    stored = place(
        oneshot_services.records,
        Workflow.ONESHOT,
        RequestStatus.COMPLETED,
        since=oneshot_services.clock(),
        signer=lambda _: {
            "status": SignerStatus.SIGNED,
            "oneshot_request_pk": "7",
            "oneshot_deleted_at": oneshot_services.clock(),
        },
    )
    template = load_event("sqs/oneshot_delete_oneshot_documents.json")["Records"][0]
    valid = template["body"].replace("0f8fad5bd9cb469fa16570867728950e", stored.id)
    unknown = valid.replace('"op":"delete_oneshot_documents"', '"op":"print_money"')
    event = {
        "Records": [
            _record(template, message_id="m-malformed", group="g1", body="{not json"),
            _record(template, message_id="m-unknown", group="g2", body=unknown),
            _record(template, message_id="m-valid", group=stored.id, body=valid),
        ]
    }

    # When the real worker handler takes the batch
    answer = worker.handler(event, FakeLambdaContext())

    # Then only the two it cannot run are reported: SQS brings them back and, after maxReceiveCount, parks them in
    # the dead-letter queue for a person; the real step of another group was consumed
    assert sorted(item["itemIdentifier"] for item in answer["batchItemFailures"]) == ["m-malformed", "m-unknown"]


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
