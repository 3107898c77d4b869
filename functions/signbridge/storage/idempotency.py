"""Idempotency: one mechanism for the API's `Idempotency-Key` header and for the worker's operations.

A record `IDEMPOTENCY#{scope}#{key}` (sk `IDEMPOTENCY`) in the single table, written with a conditional put:

- `claim()` creates it `in_progress` with a hash of the payload, a lease and a random claim id. If it already exists:
  same payload and `completed` → the stored result comes back (`CompletedResult`); same payload and `in_progress` with
  a live lease → `IdempotencyInProgressError` (try later); a different payload → `IdempotencyConflictError`.
- A crashed attempt leaves an `in_progress` record whose lease runs out; the next attempt with the *same* payload takes
  it over (the condition allows it), so a crash is retried, not stuck.
- `complete()` stores the result, conditional on still holding the claim; `release()` deletes the record after a
  failure so the caller may retry at once. `expires_at` is the table's TTL attribute: DynamoDB removes old records,
  and a record past `expires_at` that TTL has not yet removed counts as absent.

Why not Powertools idempotency: its DynamoDB layer owns the key layout (`{function}#{hash}` as the partition key, or
a static partition with the hash as sort key), which does not fit this table's `IDEMPOTENCY#{scope}#{key}` /
`IDEMPOTENCY` items; its in-progress expiry is tied to the Lambda context's remaining time, while the worker wants a
lease per operation; and the API needs to answer "in progress" and "conflict" distinctly. A few conditional writes
cover exactly that, and the same code serves the API, the worker and the local stack.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import ClientError
from pydantic import BaseModel

from signbridge.config import Settings, get_settings
from signbridge.domain.errors import (
    IdempotencyClaimLostError,
    IdempotencyConflictError,
    IdempotencyInProgressError,
    InvalidIdempotencyKeyError,
)
from signbridge.domain.idempotency import CompletedResult, IdempotencyClaim, JsonObject
from signbridge.domain.models import utc_now
from signbridge.storage import schema
from signbridge.storage.attributes import Item, format_timestamp, from_item, to_attribute, to_item
from signbridge.storage.clients import dynamodb_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

IN_PROGRESS: Final = "in_progress"
COMPLETED: Final = "completed"

DEFAULT_RECORD_TTL: Final = timedelta(hours=24)
DEFAULT_LEASE: Final = timedelta(minutes=2)
MAX_KEY_CHARS: Final = 255

_SCOPE = re.compile(r"^[a-z0-9][a-z0-9_.:\-]{0,63}$")
_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_KEY_CHARS}}}$")  # visible ASCII, as an HTTP header value would carry
_CLAIM_ATTEMPTS: Final = 3


def payload_hash(payload: object) -> str:
    """sha256 of the payload: bytes as they are, text as UTF-8, anything else as canonical JSON."""
    if isinstance(payload, bytes):
        data = payload
    elif isinstance(payload, str):
        data = payload.encode()
    else:
        plain = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        data = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    return hashlib.sha256(data).hexdigest()


class IdempotencyStore:
    def __init__(
        self,
        *,
        table_name: str,
        client: DynamoDBClient,
        record_ttl: timedelta = DEFAULT_RECORD_TTL,
        default_lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._table = table_name
        self._client = client
        self._record_ttl = record_ttl
        self._default_lease = default_lease
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, client: DynamoDBClient | None = None
    ) -> IdempotencyStore:
        settings = settings or get_settings()
        return cls(table_name=settings.table_name, client=client or dynamodb_client())

    def claim(
        self, scope: str, key: str, payload: object, *, lease: timedelta | None = None
    ) -> IdempotencyClaim | CompletedResult:
        """Hold `key` in `scope` for this attempt, or learn what an earlier attempt returned."""
        _check_scope_and_key(scope, key)
        claim = IdempotencyClaim(scope, key, payload_hash(payload), uuid.uuid4().hex)
        for _ in range(_CLAIM_ATTEMPTS):
            existing = self._try_put(claim, lease or self._default_lease)
            if existing is None:
                return claim
            outcome = self._judge(claim, existing)
            if outcome is not None:
                return outcome
            # The record vanished or expired between the put and the read: try again.
        raise IdempotencyInProgressError(scope, retry_after_seconds=1)

    def complete(self, claim: IdempotencyClaim, result: Mapping[str, Any]) -> None:
        """Record `result` (JSON-serialisable) as the answer for this key; later claims get it back."""
        now = self._clock()
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(claim),
                UpdateExpression=(
                    "SET #status = :completed, #result = :result, completed_at = :now, #expires = :expires"
                    " REMOVE lease_expires_at"
                ),
                ConditionExpression="#claim = :claim AND #status = :in_progress",
                ExpressionAttributeNames={
                    "#status": "status",
                    "#result": "result",
                    "#expires": schema.TTL_ATTRIBUTE,
                    "#claim": "claim_id",
                },
                ExpressionAttributeValues=cast(
                    "Any",
                    {
                        ":completed": to_attribute(COMPLETED),
                        ":in_progress": to_attribute(IN_PROGRESS),
                        ":result": to_attribute(json.dumps(dict(result), separators=(",", ":"), default=str)),
                        ":now": to_attribute(format_timestamp(now)),
                        ":expires": to_attribute(_epoch(now + self._record_ttl)),
                        ":claim": to_attribute(claim.claim_id),
                    },
                ),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise IdempotencyClaimLostError(claim.scope) from None
            raise

    def release(self, claim: IdempotencyClaim) -> None:
        """Give the key back after a failed attempt, so a retry need not wait for the lease to run out."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=_key(claim),
                ConditionExpression="#claim = :claim AND #status = :in_progress",
                ExpressionAttributeNames={"#claim": "claim_id", "#status": "status"},
                ExpressionAttributeValues=cast(
                    "Any", {":claim": to_attribute(claim.claim_id), ":in_progress": to_attribute(IN_PROGRESS)}
                ),
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            # Someone else holds it now, or it completed: nothing of ours to release.

    def run(
        self,
        scope: str,
        key: str,
        payload: object,
        operation: Callable[[], Mapping[str, Any]],
        *,
        lease: timedelta | None = None,
    ) -> JsonObject:
        """Run `operation` at most once per (scope, key, payload); a repeat returns the first result."""
        outcome = self.claim(scope, key, payload, lease=lease)
        if isinstance(outcome, CompletedResult):
            return outcome.result
        try:
            result = dict(operation())
        except BaseException:
            self.release(outcome)
            raise
        self.complete(outcome, result)
        return result

    # ------------------------------------------------------------------------------------------------ internals

    def _try_put(self, claim: IdempotencyClaim, lease: timedelta) -> dict[str, Any] | None:
        """Put the in-progress record; None on success, else the record that is in the way."""
        now = self._clock()
        item = to_item(
            {
                schema.PK: schema.idempotency_pk(claim.scope, claim.key),
                schema.SK: schema.IDEMPOTENCY_SK,
                schema.ITEM_TYPE: "idempotency",
                "status": IN_PROGRESS,
                "payload_hash": claim.payload_hash,
                "claim_id": claim.claim_id,
                "lease_expires_at": _epoch(now + lease),
                schema.TTL_ATTRIBUTE: _epoch(now + self._record_ttl),
                "created_at": format_timestamp(now),
            }
        )
        try:
            self._client.put_item(
                TableName=self._table,
                Item=cast("Any", item),
                ConditionExpression=(
                    "attribute_not_exists(#pk) OR #expires < :now"
                    " OR (#status = :in_progress AND lease_expires_at < :now AND payload_hash = :hash)"
                ),
                ExpressionAttributeNames={"#pk": schema.PK, "#expires": schema.TTL_ATTRIBUTE, "#status": "status"},
                ExpressionAttributeValues=cast(
                    "Any",
                    {
                        ":now": to_attribute(_epoch(now)),
                        ":in_progress": to_attribute(IN_PROGRESS),
                        ":hash": to_attribute(claim.payload_hash),
                    },
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            old = cast("Item | None", error.response.get("Item"))
            return from_item(old) if old else {}
        return None

    def _judge(self, claim: IdempotencyClaim, existing: dict[str, Any]) -> CompletedResult | None:
        if not existing:
            return None
        if existing.get("payload_hash") != claim.payload_hash:
            raise IdempotencyConflictError(claim.scope)
        if existing.get("status") == COMPLETED:
            return CompletedResult(result=json.loads(str(existing.get("result", "{}"))))
        retry_after = max(1, int(existing.get("lease_expires_at", 0)) - _epoch(self._clock()))
        raise IdempotencyInProgressError(claim.scope, retry_after_seconds=retry_after)


def _check_scope_and_key(scope: str, key: str) -> None:
    if not _SCOPE.match(scope):
        raise InvalidIdempotencyKeyError("idempotency scope: 1 to 64 of a-z, 0-9, '_', '.', ':' or '-'")
    if not _KEY.match(key):
        raise InvalidIdempotencyKeyError(f"idempotency key: 1 to {MAX_KEY_CHARS} visible ASCII characters")


def _key(claim: IdempotencyClaim) -> Any:
    return {
        schema.PK: {"S": schema.idempotency_pk(claim.scope, claim.key)},
        schema.SK: {"S": schema.IDEMPOTENCY_SK},
    }


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
