"""An idempotency key as the use cases see it: the claim an attempt holds, or the result an earlier one recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class IdempotencyClaim:
    """This attempt holds the key: do the work, then `complete()` (or `release()` after a failure)."""

    scope: str
    key: str
    payload_hash: str
    claim_id: str


@dataclass(frozen=True)
class CompletedResult:
    """An earlier attempt with the same key and payload finished; this is what it returned."""

    result: JsonObject
