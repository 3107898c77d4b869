"""SQS event source mappings: the Lambda SQS event, partial batch failures, the DLQ, FIFO order, concurrency."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from local.aws import AwsEmulator
from local.pollers import MappingConfig, SqsPoller, parse_batch_item_failures
from local.runtime import LambdaRuntime
from tests.local.conftest import local_function, unique
from tests.local.fake_handlers import recorder


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def pollers() -> Iterator[list[SqsPoller]]:
    started: list[SqsPoller] = []
    yield started
    for poller in started:
        poller.stop()


def fifo_with_dlq(aws: AwsEmulator, *, max_receive_count: int = 2) -> tuple[str, str, str]:
    """(queue url, queue arn, dlq url) with a 1 s visibility timeout."""
    sqs = aws.client("sqs")
    name = unique("jobs")
    dlq = sqs.create_queue(QueueName=f"{name}-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=f"{name}.fifo",
        Attributes={
            "FifoQueue": "true",
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return queue, arn, dlq


def start_poller(
    pollers: list[SqsPoller],
    aws: AwsEmulator,
    runtime: LambdaRuntime,
    function: str,
    *,
    url: str,
    arn: str,
    **config: Any,
) -> SqsPoller:
    poller = SqsPoller(
        MappingConfig(name=unique("esm"), function=function, queue_url=url, queue_arn=arn, **config),
        invoke=lambda name, event: runtime.invoke(name, event, trigger="sqs"),
        sqs_client=aws.client("sqs"),
        region="us-east-1",
    ).start()
    pollers.append(poller)
    return poller


def send(aws: AwsEmulator, url: str, body: str, group: str = "g", **extra: Any) -> None:
    aws.client("sqs").send_message(
        QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=unique("dedup"), **extra
    )


def test_a_failed_record_comes_back_and_then_sits_in_the_dlq(
    aws: AwsEmulator, runtime: LambdaRuntime, pollers: list[SqsPoller]
) -> None:
    # Given a FIFO queue with maxReceiveCount 2 and a worker that reports the record "fail" as failed
    queue, arn, dlq = fifo_with_dlq(aws, max_receive_count=2)
    runtime.register(local_function("worker", "tests.local.fake_handlers.worker.handler"))
    start_poller(pollers, aws, runtime, "worker", url=queue, arn=arn, batch_size=5, report_batch_item_failures=True)

    # When a good and a bad record arrive in different groups
    send(aws, queue, "ok", group="a")
    send(aws, queue, "fail", group="b")

    # Then the bad one is received twice (maxReceiveCount) and then moved to the DLQ; the good one once
    sqs = aws.client("sqs")

    def in_dlq() -> list[dict[str, Any]]:
        return sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0, VisibilityTimeout=0).get("Messages", [])

    assert wait_for(lambda: bool(in_dlq()))
    bodies = [record["body"] for record, _ in recorder.of("worker")]
    assert bodies.count("ok") == 1
    assert bodies.count("fail") == 2
    (parked,) = in_dlq()
    assert parked["Body"] == "fail"
    receive_counts = [
        record["attributes"]["ApproximateReceiveCount"]
        for record, _ in recorder.of("worker")
        if record["body"] == "fail"
    ]
    assert receive_counts == ["1", "2"]


def test_the_event_is_the_lambda_sqs_event(aws: AwsEmulator, runtime: LambdaRuntime, pollers: list[SqsPoller]) -> None:
    queue, arn, _ = fifo_with_dlq(aws)
    runtime.register(local_function("worker", "tests.local.fake_handlers.worker.handler"))
    start_poller(pollers, aws, runtime, "worker", url=queue, arn=arn, report_batch_item_failures=True)
    send(
        aws,
        queue,
        '{"op": "create"}',
        group="r-1",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}},
    )
    assert wait_for(lambda: bool(recorder.of("worker")))

    ((record, _),) = recorder.of("worker")
    SqsModel.model_validate({"Records": [record]})  # Powertools' model of the Lambda SQS event
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["MessageGroupId"] == "r-1"
    assert record["attributes"]["MessageDeduplicationId"].startswith("dedup-")
    assert {"SequenceNumber", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["messageAttributes"]["kind"]["stringValue"] == "x"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"
    assert record["md5OfBody"]


def test_a_function_error_fails_the_whole_batch(
    aws: AwsEmulator, runtime: LambdaRuntime, pollers: list[SqsPoller]
) -> None:
    queue, arn, _ = fifo_with_dlq(aws, max_receive_count=3)
    runtime.register(local_function("flaky", "tests.local.fake_handlers.flaky.handler"))
    send(aws, queue, "one", group="g")
    send(aws, queue, "two", group="g")
    poller = start_poller(
        pollers, aws, runtime, "flaky", url=queue, arn=arn, batch_size=5, report_batch_item_failures=True
    )

    assert wait_for(lambda: poller.stats.deleted == 2)
    deliveries = [record["body"] for record, _ in recorder.of("flaky")]
    assert deliveries == ["one", "two", "one", "two"]  # the whole batch, twice, in order (also when redelivered)
    assert poller.stats.failed_batches == 1


def test_records_of_one_group_arrive_in_order(
    aws: AwsEmulator, runtime: LambdaRuntime, pollers: list[SqsPoller]
) -> None:
    queue, arn, _ = fifo_with_dlq(aws)
    runtime.register(local_function("worker", "tests.local.fake_handlers.worker.handler"))
    for index in range(12):
        send(aws, queue, f"step-{index:02d}", group="request-1")
    start_poller(
        pollers,
        aws,
        runtime,
        "worker",
        url=queue,
        arn=arn,
        batch_size=5,
        report_batch_item_failures=True,
        max_concurrency=3,
    )

    assert wait_for(lambda: len(recorder.of("worker")) == 12)
    assert [record["body"] for record, _ in recorder.of("worker")] == [f"step-{index:02d}" for index in range(12)]


def test_maximum_concurrency_is_respected(aws: AwsEmulator, runtime: LambdaRuntime, pollers: list[SqsPoller]) -> None:
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName=unique("plain"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    runtime.register(local_function("slow", "tests.local.fake_handlers.slow.handler"))
    for index in range(8):
        sqs.send_message(QueueUrl=queue, MessageBody=str(index))
    start_poller(pollers, aws, runtime, "slow", url=queue, arn=arn, batch_size=1, max_concurrency=2)

    assert wait_for(lambda: len(recorder.of("slow")) == 8)
    peak = max(facts["running"] for _, facts in recorder.of("slow"))
    assert peak == 2


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}]}, {"m1"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"id": "m1"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, None),
        ("not an object", None),
    ],
)
def test_partial_batch_responses_are_read_as_lambda_reads_them(answer: Any, expected: set[str] | None) -> None:
    assert parse_batch_item_failures(answer, {"m1", "m2"}) == expected
