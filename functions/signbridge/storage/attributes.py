"""Python values ⇄ DynamoDB attribute values, with one timestamp format.

Timestamps are stored as fixed-width ISO 8601 UTC strings (`2025-01-31T09:05:00.000000Z`) so that string order is time
order: the `EVENT#{time}` sort keys and the `gsi_status_since` / `created_at` index keys depend on it. (Pydantic's own
JSON form drops zero microseconds, and `…:00Z` would sort after `…:00.5Z`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]


def format_timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_plain(value: object) -> object:
    """A value DynamoDB can hold: enums by value, timestamps formatted, map keys as strings, no floats."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, Mapping):
        return {str(key.value if isinstance(key, Enum) else key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def to_attribute(value: object) -> AttributeValue:
    return dict(_SERIALIZER.serialize(to_plain(value)))


def to_item(values: Mapping[str, object]) -> Item:
    """Attributes for a PutItem; None values are left out (an absent attribute reads back as None)."""
    return {name: to_attribute(value) for name, value in values.items() if value is not None}


def _from_plain(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_plain(item) for item in value]
    return value


def from_item(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    return {name: _from_plain(_DESERIALIZER.deserialize(cast("Any", value))) for name, value in item.items()}
