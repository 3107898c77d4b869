"""bench/stored.py sizes a request's DynamoDB items the way DynamoDB does (names + values)."""

from __future__ import annotations

from bench import stored


def test_attribute_values_are_sized_by_dynamodb_rules() -> None:
    # Given one value of each kind  When sized  Then each follows DynamoDB's item size rules
    assert stored.attribute_size({"S": "héllo"}) == 6  # UTF-8 bytes
    assert stored.attribute_size({"N": "12345"}) == 4  # ceil(5 digits / 2) + 1
    assert stored.attribute_size({"N": "-0.5"}) == 2
    assert stored.attribute_size({"BOOL": True}) == 1
    assert stored.attribute_size({"NULL": True}) == 1
    assert stored.attribute_size({"B": b"\x00\x01\x02"}) == 3
    assert stored.attribute_size({"L": [{"S": "ab"}, {"S": "c"}]}) == 3 + (2 + 1) + (1 + 1)
    assert stored.attribute_size({"M": {"k": {"S": "v"}}}) == 3 + (1 + 1 + 1)
    assert stored.attribute_size({"SS": ["a", "bc"]}) == 3


def test_a_partition_is_measured_by_item_kind() -> None:
    # Given the low-level items of one request's partition
    items = [
        {"pk": {"S": "REQUEST#r1"}, "sk": {"S": "REQUEST"}, "status": {"S": "completed"}},
        {"pk": {"S": "REQUEST#r1"}, "sk": {"S": "SIGNER#000"}},
        {"pk": {"S": "REQUEST#r1"}, "sk": {"S": "EVENT#2026-12-01T10:00:00.000000Z#e1"}},
        {"pk": {"S": "REQUEST#r1"}, "sk": {"S": "EVENT#2026-12-01T10:00:01.000000Z#e2"}},
    ]
    # When measured
    figures = stored.measure(items)
    # Then items and bytes are counted per kind, with the read units of one strongly consistent read of them all
    assert figures["items"] == {"request": 1, "signer": 1, "timeline": 2}
    request_bytes = (2 + 10) + (2 + 7) + (6 + 9)
    assert figures["bytes"]["request"] == request_bytes
    assert figures["total_bytes"] == sum(figures["bytes"].values())
    assert figures["largest_item_bytes"] == max(stored.item_size(item) for item in items)
    assert figures["consistent_read_units"] == 1
    assert stored.measure([]) == {
        "items": {},
        "bytes": {},
        "total_bytes": 0,
        "largest_item_bytes": 0,
        "consistent_read_units": 0,
    }
