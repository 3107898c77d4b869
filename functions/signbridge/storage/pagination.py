"""Opaque pagination cursors for listings over a GSI.

A cursor is DynamoDB's `LastEvaluatedKey`, wrapped with the index it came from and encoded as URL-safe base64. On the
way back in it is checked: same index, exactly the expected key attributes, string values only, and the same partition
the caller is listing, so a cursor cannot be edited to read another client's partition.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from signbridge.domain.errors import InvalidCursorError

_CURSOR_VERSION = 1


def encode_cursor(index_name: str, last_evaluated_key: Mapping[str, Mapping[str, Any]] | None) -> str | None:
    if not last_evaluated_key:
        return None
    key = {name: value["S"] for name, value in last_evaluated_key.items()}
    document = json.dumps({"v": _CURSOR_VERSION, "i": index_name, "k": key}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str, *, index_name: str, key_attributes: frozenset[str], partition_attribute: str, partition_value: str
) -> dict[str, dict[str, str]]:
    """The `ExclusiveStartKey` for the next page, or `InvalidCursorError`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise InvalidCursorError("the cursor is not one this API produced") from error
    if not isinstance(document, dict) or document.get("v") != _CURSOR_VERSION or document.get("i") != index_name:
        raise InvalidCursorError("the cursor belongs to another listing")
    key = document.get("k")
    if (
        not isinstance(key, dict)
        or set(key) != key_attributes
        or not all(isinstance(value, str) for value in key.values())
        or key.get(partition_attribute) != partition_value
    ):
        raise InvalidCursorError("the cursor belongs to another listing")
    return {name: {"S": value} for name, value in key.items()}
