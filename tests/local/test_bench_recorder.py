"""bench/aws_calls.py records, per invocation of the in-process runtime, what the cost model prices: the function's
memory, its duration, its AWS calls with the items and units they carried, the bytes it logged, the request its
event names and the benchmark run it belongs to. Real runtime, real botocore clients, moto."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from bench import aws_calls, cost
from bench.stored import item_size
from local.aws import AwsEmulator
from local.runtime import LambdaRuntime
from tests.local.conftest import local_function
from tests.support.aws import create_table, unique_name


@pytest.fixture
def counter() -> Iterator[aws_calls.AwsCallCounter]:
    with aws_calls.AwsCallCounter().installed() as installed:
        yield installed


def test_an_invocation_is_recorded_with_what_its_calls_carried_and_what_it_logged(
    aws: AwsEmulator, runtime: LambdaRuntime, counter: aws_calls.AwsCallCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a table, and a function whose step puts one item, reads its partition consistently and logs one line
    def client() -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=aws.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    table = create_table(client(), unique_name("recorder"))
    item = {"pk": {"S": "REQUEST#r1"}, "sk": {"S": "DOCUMENT#000"}, "status": {"S": "pending"}}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        dynamodb = client()  # created while the counter is installed, as the functions' clients are
        dynamodb.put_item(TableName=table, Item=item)
        dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "REQUEST#r1"}},
            ConsistentRead=True,
        )
        print(json.dumps({"level": "INFO", "message": "stored"}))
        return {}

    runtime.register(local_function("worker", handler))
    counter.attach(runtime)
    logged = io.StringIO()
    monkeypatch.setattr(sys, "stdout", aws_calls.LogCounter(logged))
    event = {"Records": [{"eventSource": "aws:sqs", "body": json.dumps({"op": "store", "request_id": "r1"})}]}
    # When it is invoked by its queue during a benchmark run
    counter.run = "zapsign#1"
    invocation = runtime.invoke("worker", event, trigger="sqs")
    counter.run = None
    # Then its record has what the model prices
    (usage,) = counter.usages("zapsign#1")
    assert (usage.function, usage.step, usage.trigger) == ("worker", "worker:store", "sqs")
    assert (usage.memory_mb, usage.duration_ms) == (256, invocation.duration_ms)
    assert usage.request_id == "r1"
    assert usage.calls == {"dynamodb.PutItem": 1, "dynamodb.Query": 1}
    assert usage.dynamodb_writes == [
        cost.DynamoWrite("Put", "REQUEST#r1|DOCUMENT#000", transactional=False, size=item_size(item))
    ]
    assert usage.dynamodb_read_units == 1.0
    line = json.dumps({"level": "INFO", "message": "stored"})
    assert (usage.log_bytes, usage.log_events) == (len(line), 1)
    assert logged.getvalue() == line + "\n"
    # and nothing is recorded under another run
    assert counter.usages("zapsign#2") == []
