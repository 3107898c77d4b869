"""The emulation's DynamoDB queries: a query on the table's key costs what its partition holds, not what the table
holds (moto 5.2 sorts every item of the table for each one; `local.aws` hands it the queried partition only), and
answers exactly as before."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto.dynamodb.models.table import Table

from local.aws import AwsEmulator


@pytest.fixture
def table(aws: AwsEmulator) -> Iterator[str]:
    name = f"queries-{uuid.uuid4().hex[:8]}"
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "kind", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-kind",
                "KeySchema": [
                    {"AttributeName": "kind", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    dynamodb.delete_table(TableName=name)


@pytest.fixture
def examined(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the items moto's `Table.all_items` hands to the queries (what a query walks through)."""
    counted = [0]
    patched = Table.all_items

    def counting(self: Table) -> Any:
        items = patched(self)
        counted[0] += len(items)
        return items

    monkeypatch.setattr(Table, "all_items", counting)
    return counted


def put(aws: AwsEmulator, table: str, pk: str, sk: str, kind: str = "step") -> None:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, "kind": {"S": kind}}
    aws.client("dynamodb").put_item(TableName=table, Item=item)


def fill(aws: AwsEmulator, table: str, count: int) -> None:
    for index in range(count):
        put(aws, table, f"filler-{index:04d}", "x", kind="filler")


def query(aws: AwsEmulator, table: str, pk: str, **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = aws.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        **extra,
    )
    return answer


def sks(answer: dict[str, Any]) -> list[str]:
    return [item["sk"]["S"] for item in answer["Items"]]


def test_a_query_on_the_table_key_walks_its_partition_not_the_table(
    aws: AwsEmulator, table: str, examined: list[int]
) -> None:
    for sk in ("a", "b", "c"):
        put(aws, table, "request-1", sk)

    def walked_by_one_query() -> int:
        examined[0] = 0
        assert sks(query(aws, table, "request-1")) == ["a", "b", "c"]
        return examined[0]

    # Given a small table, then the same table 300 items larger
    small = walked_by_one_query()
    fill(aws, table, 300)
    large = walked_by_one_query()

    # Then the query walked the same three items either way
    assert small == large == 3


def test_queries_answer_as_before_in_order_with_conditions_limits_and_pages(aws: AwsEmulator, table: str) -> None:
    for pk in ("request-1", "request-2"):
        for sk in ("d", "a", "c", "b"):
            put(aws, table, pk, sk)
    fill(aws, table, 20)

    assert sks(query(aws, table, "request-1")) == ["a", "b", "c", "d"]
    assert sks(query(aws, table, "request-1", ScanIndexForward=False)) == ["d", "c", "b", "a"]
    ranged = aws.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
        ExpressionAttributeValues={":pk": {"S": "request-2"}, ":low": {"S": "b"}, ":high": {"S": "c"}},
    )
    assert sks(ranged) == ["b", "c"]
    first = query(aws, table, "request-1", Limit=3)
    assert sks(first) == ["a", "b", "c"]
    rest = query(aws, table, "request-1", Limit=3, ExclusiveStartKey=first["LastEvaluatedKey"])
    assert sks(rest) == ["d"]
    assert query(aws, table, "nobody")["Items"] == []


def test_a_query_on_an_index_and_a_scan_still_see_the_whole_table(aws: AwsEmulator, table: str) -> None:
    put(aws, table, "request-1", "a")
    fill(aws, table, 5)

    by_kind = aws.client("dynamodb").query(
        TableName=table,
        IndexName="by-kind",
        KeyConditionExpression="kind = :kind",
        ExpressionAttributeValues={":kind": {"S": "filler"}},
    )
    assert len(by_kind["Items"]) == 5
    assert aws.client("dynamodb").scan(TableName=table)["Count"] == 6
