"""The emulation's DynamoDB transactions: all or nothing, and a cost that does not grow with the table (moto 5.2
deep-copies every table a transaction names; `local.aws` snapshots only the items it touches)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.dynamo_type import Item

from local.aws import AwsEmulator


@pytest.fixture
def table(aws: AwsEmulator) -> Iterator[str]:
    name = f"transactions-{uuid.uuid4().hex[:8]}"
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    dynamodb.delete_table(TableName=name)


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the DynamoDB items moto deep-copies."""
    counted = [0]
    original = Item.__deepcopy__

    def counting(self: Item, memo: dict[int, Any]) -> Item:
        counted[0] += 1
        return original(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counting)
    return counted


def fill(aws: AwsEmulator, table: str, count: int) -> None:
    dynamodb = aws.client("dynamodb")
    for index in range(count):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"filler-{index}"}, "sk": {"S": "x"}})


def move(table: str, pk: str, expected: str, new: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": pk}, "sk": {"S": "state"}},
            "UpdateExpression": "SET #s = :new",
            "ConditionExpression": "#s = :expected",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":new": {"S": new}, ":expected": {"S": expected}},
        }
    }


def state(aws: AwsEmulator, table: str, pk: str) -> dict[str, Any] | None:
    answer = aws.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "state"}})
    return answer.get("Item")


def test_a_failing_condition_leaves_every_item_unchanged(aws: AwsEmulator, table: str) -> None:
    # Given two items, and a transaction that updates one, adds a third, deletes the second and ends on a false
    # condition
    dynamodb = aws.client("dynamodb")
    for pk in ("a", "b"):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "state"}, "status": {"S": "old"}})
    items = [
        move(table, "a", "old", "new"),
        {"Put": {"TableName": table, "Item": {"pk": {"S": "c"}, "sk": {"S": "state"}, "status": {"S": "new"}}}},
        {"Delete": {"TableName": table, "Key": {"pk": {"S": "b"}, "sk": {"S": "state"}}}},
        move(table, "d", "missing", "new"),  # no item d: the condition fails
    ]

    # When it runs
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=items)

    # Then it was cancelled and nothing it touched changed
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert state(aws, table, "a") == {"pk": {"S": "a"}, "sk": {"S": "state"}, "status": {"S": "old"}}
    assert state(aws, table, "b") == {"pk": {"S": "b"}, "sk": {"S": "state"}, "status": {"S": "old"}}
    assert state(aws, table, "c") is None
    assert state(aws, table, "d") is None

    # and the same transaction with a true condition applies every item
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "d"}, "sk": {"S": "state"}, "status": {"S": "missing"}})
    dynamodb.transact_write_items(TransactItems=items)
    assert state(aws, table, "a") == {"pk": {"S": "a"}, "sk": {"S": "state"}, "status": {"S": "new"}}
    assert state(aws, table, "b") is None
    assert state(aws, table, "c") == {"pk": {"S": "c"}, "sk": {"S": "state"}, "status": {"S": "new"}}


def test_a_transaction_copies_the_items_it_touches_not_the_table(
    aws: AwsEmulator, table: str, copies: list[int]
) -> None:
    dynamodb = aws.client("dynamodb")
    for pk in ("a", "b"):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "state"}, "status": {"S": "s0"}})

    def copied_by_one_transaction(step: int) -> int:
        copies[0] = 0
        dynamodb.transact_write_items(
            TransactItems=[move(table, "a", f"s{step}", f"s{step + 1}"), move(table, "b", f"s{step}", f"s{step + 1}")]
        )
        return copies[0]

    # Given a small table, then the same table 300 items larger
    small = copied_by_one_transaction(0)
    fill(aws, table, 300)
    large = copied_by_one_transaction(1)

    # Then a transaction of two items copies the same few items either way
    assert large == small
    assert small <= 4  # the two touched items (and moto's copy of an updated item's previous state)
