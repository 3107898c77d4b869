"""How big a completed request is in DynamoDB: its items by kind and their size, as DynamoDB sizes items.

DynamoDB sizes an item as the UTF-8 length of each attribute name plus its value: a string its UTF-8 bytes, a binary
its bytes, a number about 1 byte per 2 significant digits + 1, a boolean or null 1 byte, a map or list 3 bytes + 1
byte per element + its elements (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
The figure is that rule applied to the low-level items a `Query` on the request's partition returns; it is what the
400 KB item limit, the 1 MB Query page and read/write units are measured against.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from signbridge.storage import schema

READ_UNIT_BYTES = 4096  # one strongly consistent read unit reads up to 4 KB


def attribute_size(value: dict[str, Any]) -> int:
    """The size of one low-level attribute value (`{"S": ...}`, `{"N": ...}`, ...)."""
    (kind, content), *_ = value.items()
    sizer = _SIZERS.get(kind)
    if sizer is None:
        raise ValueError(f"unknown attribute type {kind!r}")
    return sizer(content)


def _number_size(content: Any) -> int:
    digits = str(content).lstrip("-").replace(".", "").lstrip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def _map_size(content: dict[str, Any]) -> int:
    return 3 + sum(len(name.encode("utf-8")) + attribute_size(inner) + 1 for name, inner in content.items())


def _list_size(content: list[Any]) -> int:
    return 3 + sum(attribute_size(inner) + 1 for inner in content)


def _string_size(content: Any) -> int:
    return len(str(content).encode("utf-8"))


_SIZERS: dict[str, Callable[[Any], int]] = {
    "S": _string_size,
    "N": _number_size,
    "B": len,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
    "M": _map_size,
    "L": _list_size,
    "SS": lambda members: sum(_string_size(member) for member in members),
    "NS": lambda members: sum(_number_size(member) for member in members),
    "BS": lambda members: sum(len(member) for member in members),
}


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


def item_kind(sort_key: str) -> str:
    for prefix, kind in (
        (schema.DOCUMENT_SK_PREFIX, "document"),
        (schema.SIGNER_SK_PREFIX, "signer"),
        (schema.EVENT_SK_PREFIX, "timeline"),
    ):
        if sort_key.startswith(prefix):
            return kind
    return "request" if sort_key == schema.REQUEST_SK else "other"


def measure(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Items and bytes by kind for one request's partition (the low-level items of its Query)."""
    count: Counter[str] = Counter()
    size: Counter[str] = Counter()
    largest = 0
    for item in items:
        kind = item_kind(str(item.get(schema.SK, {}).get("S", "")))
        bytes_ = item_size(item)
        count[kind] += 1
        size[kind] += bytes_
        largest = max(largest, bytes_)
    total = sum(size.values())
    return {
        "items": dict(count),
        "bytes": dict(size),
        "total_bytes": total,
        "largest_item_bytes": largest,
        "consistent_read_units": math.ceil(total / READ_UNIT_BYTES) if total else 0,
    }


def request_partition(dynamodb: Any, table: str, request_id: str) -> list[dict[str, Any]]:
    """Every low-level item under `REQUEST#{id}` (strongly consistent Query pages)."""
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="#pk = :pk",
        ExpressionAttributeNames={"#pk": schema.PK},
        ExpressionAttributeValues={":pk": {"S": schema.request_pk(request_id)}},
        ConsistentRead=True,
    )
    return [item for page in pages for item in page.get("Items", [])]
