"""The two FIFO work queues: redrive to FIFO DLQs, explicit dedup ids, visibility sized for the worker."""

from __future__ import annotations

import json

import pytest

from infra.constructs.queues import MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_FACTOR

from .conftest import Synth, ref

pytestmark = pytest.mark.infra

WORK_QUEUES = {"ZapSignQueue": "ZapSignDeadLetterQueue", "OneShotQueue": "OneShotDeadLetterQueue"}


def test_every_queue_is_fifo_encrypted_without_content_based_dedup(synth: Synth) -> None:
    queues = synth.of_type("AWS::SQS::Queue")
    assert set(queues) == set(WORK_QUEUES) | set(WORK_QUEUES.values())
    for logical_id, queue in queues.items():
        props = queue["Properties"]
        assert props["FifoQueue"] is True, logical_id
        assert props["QueueName"].endswith(".fifo"), logical_id
        assert props.get("ContentBasedDeduplication", False) is False, logical_id
        assert props["SqsManagedSseEnabled"] is True, logical_id


def test_queue_names_follow_the_ops_convention(synth: Synth) -> None:
    assert synth.props("ZapSignQueue")["QueueName"] == "signbridge-dev-zapsign-ops.fifo"
    assert synth.props("OneShotQueue")["QueueName"] == "signbridge-dev-oneshot-ops.fifo"
    assert synth.props("ZapSignDeadLetterQueue")["QueueName"] == "signbridge-dev-zapsign-ops-dlq.fifo"


@pytest.mark.parametrize(("queue", "dead_letter_queue"), WORK_QUEUES.items())
def test_work_queue_redrives_to_its_fifo_dlq_after_five_receives(
    synth: Synth, queue: str, dead_letter_queue: str
) -> None:
    redrive = synth.props(queue)["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == MAX_RECEIVE_COUNT == 5
    assert ref(redrive["deadLetterTargetArn"]) == dead_letter_queue
    assert synth.props(dead_letter_queue)["FifoQueue"] is True


@pytest.mark.parametrize("queue", WORK_QUEUES)
def test_visibility_timeout_is_at_least_six_worker_timeouts(synth: Synth, queue: str) -> None:
    worker_timeout = synth.props("WorkerFunction")["Timeout"]
    assert synth.props(queue)["VisibilityTimeout"] >= VISIBILITY_TIMEOUT_FACTOR * worker_timeout
    assert VISIBILITY_TIMEOUT_FACTOR >= 6


def test_every_queue_denies_requests_without_tls(synth: Synth) -> None:
    protected: set[str] = set()
    for policy in synth.of_type("AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        denies_plain_http = any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        )
        if denies_plain_http:
            protected.update(ref(q) for q in policy["Properties"]["Queues"])
    assert protected == set(WORK_QUEUES) | set(WORK_QUEUES.values()), json.dumps(sorted(protected))
