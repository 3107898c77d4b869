"""Idempotency records against a real moto server: replays, conflicts, crashed attempts, expiry, races."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from signbridge.domain.errors import (
    IdempotencyClaimLostError,
    IdempotencyConflictError,
    IdempotencyInProgressError,
    InvalidIdempotencyKeyError,
)
from signbridge.domain.idempotency import CompletedResult, IdempotencyClaim
from signbridge.storage import schema
from signbridge.storage.idempotency import IdempotencyStore
from tests.support.clock import FakeClock

BODY = {"workflow": "zapsign", "documents": [{"name": "a.pdf"}]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(table: str, dynamodb_client: Any, clock: FakeClock) -> IdempotencyStore:
    return IdempotencyStore(table_name=table, client=dynamodb_client, clock=clock, default_lease=timedelta(seconds=30))


def claimed(outcome: IdempotencyClaim | CompletedResult) -> IdempotencyClaim:
    assert isinstance(outcome, IdempotencyClaim)
    return outcome


def test_a_repeat_with_the_same_payload_gets_the_stored_result(store: IdempotencyStore) -> None:
    # Given a first attempt that completed
    claim = claimed(store.claim("api:create_request", "key-1", BODY))
    store.complete(claim, {"request_id": "r1", "status": 201})
    # When the client repeats it with the same key and body
    outcome = store.claim("api:create_request", "key-1", dict(reversed(BODY.items())))  # key order is irrelevant
    # Then the stored result comes back
    assert outcome == CompletedResult({"request_id": "r1", "status": 201})


def test_the_same_key_with_another_payload_is_a_conflict(store: IdempotencyStore) -> None:
    # Given a key used with one body
    # When it is reused with another, in progress and after completion
    # Then it is a conflict
    claim = claimed(store.claim("api:create_request", "key-1", BODY))
    with pytest.raises(IdempotencyConflictError):
        store.claim("api:create_request", "key-1", {**BODY, "workflow": "oneshot"})
    store.complete(claim, {"request_id": "r1"})
    with pytest.raises(IdempotencyConflictError):
        store.claim("api:create_request", "key-1", {**BODY, "workflow": "oneshot"})


def test_a_repeat_while_the_first_runs_is_told_to_wait(store: IdempotencyStore, clock: FakeClock) -> None:
    # Given an attempt in progress with a 30 s lease
    store.claim("worker", "r1:send_otp:0:-:0", b"message body")
    clock.advance(timedelta(seconds=10))
    # When a duplicate arrives
    with pytest.raises(IdempotencyInProgressError) as waiting:
        store.claim("worker", "r1:send_otp:0:-:0", b"message body")
    # Then it is told roughly how long the lease still runs
    assert waiting.value.retry_after_seconds == 20


def test_a_crashed_attempt_can_be_retried_after_its_lease(store: IdempotencyStore, clock: FakeClock) -> None:
    # Given an attempt that crashed holding the key (no complete, no release)
    crashed = claimed(store.claim("worker", "r1:sign:0:-:0", b"m"))
    # When its lease has run out and the message is redelivered
    clock.advance(timedelta(seconds=31))
    retry = claimed(store.claim("worker", "r1:sign:0:-:0", b"m"))
    # Then the retry holds the key; the crashed attempt, if it wakes up, cannot record a result
    with pytest.raises(IdempotencyClaimLostError):
        store.complete(crashed, {"signed": True})
    store.complete(retry, {"signed": True})
    assert store.claim("worker", "r1:sign:0:-:0", b"m") == CompletedResult({"signed": True})


def test_an_expired_lease_does_not_let_another_payload_in(store: IdempotencyStore, clock: FakeClock) -> None:
    # Given a crashed attempt whose lease ran out
    # When the key comes back with another payload
    # Then it is still a conflict
    store.claim("api:create_request", "key-1", BODY)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(IdempotencyConflictError):
        store.claim("api:create_request", "key-1", {"other": "body"})


def test_a_released_key_can_be_claimed_at_once(store: IdempotencyStore) -> None:
    # Given an attempt that failed and released the key
    # When the key is claimed again
    # Then it is free at once
    claim = claimed(store.claim("worker", "k", b"m"))
    store.release(claim)
    assert isinstance(store.claim("worker", "k", b"m"), IdempotencyClaim)
    store.release(claim)  # releasing a claim that is no longer ours does nothing


def test_records_carry_a_ttl_and_count_as_absent_once_expired(
    store: IdempotencyStore, clock: FakeClock, table: str, dynamodb_client: Any
) -> None:
    # Given a completed record
    claim = claimed(store.claim("api:create_request", "key-1", BODY))
    store.complete(claim, {"request_id": "r1"})
    # Then it carries the TTL attribute, 24 hours ahead
    item = dynamodb_client.get_item(
        TableName=table,
        Key={"pk": {"S": schema.idempotency_pk("api:create_request", "key-1")}, "sk": {"S": schema.IDEMPOTENCY_SK}},
    )["Item"]
    assert int(item[schema.TTL_ATTRIBUTE]["N"]) == int((clock() + timedelta(hours=24)).timestamp())
    assert item["status"]["S"] == "completed"
    # When the TTL has passed but DynamoDB has not removed the record yet
    clock.advance(timedelta(hours=25))
    # Then the key is free again, whatever the payload
    assert isinstance(store.claim("api:create_request", "key-1", {"new": "body"}), IdempotencyClaim)


def test_run_executes_once_and_replays_the_result(store: IdempotencyStore) -> None:
    # Given an operation run under a key
    # When it is run again with the same key and payload
    # Then it ran once and both got its result
    calls: list[int] = []

    def operation() -> dict[str, Any]:
        calls.append(1)
        return {"request_id": "r1"}

    first = store.run("api:create_request", "key-1", BODY, operation)
    second = store.run("api:create_request", "key-1", BODY, operation)
    assert first == second == {"request_id": "r1"}
    assert calls == [1]


class ProviderDownError(Exception):
    pass


def test_run_releases_the_key_when_the_operation_fails(store: IdempotencyStore) -> None:
    # Given an operation that fails
    # When it is run under a key
    # Then the error comes through and the key is free for a retry
    def failing() -> dict[str, Any]:
        raise ProviderDownError

    with pytest.raises(ProviderDownError):
        store.run("worker", "r1:create:-:-:0", b"m", failing)
    assert store.run("worker", "r1:create:-:-:0", b"m", lambda: {"ok": True}) == {"ok": True}


def test_concurrent_claims_of_one_key_let_exactly_one_through(store: IdempotencyStore) -> None:
    # Given several deliveries of the same message at the same instant
    barrier = threading.Barrier(5)
    outcomes: list[object] = []

    def attempt() -> None:
        barrier.wait()
        try:
            outcomes.append(store.claim("worker", "r1:otp:0:-:0", b"m"))
        except IdempotencyInProgressError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=attempt) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one holds the key and the others are told it is in progress
    assert sum(isinstance(outcome, IdempotencyClaim) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, IdempotencyInProgressError) for outcome in outcomes) == 4


def test_scopes_keep_keys_apart(store: IdempotencyStore) -> None:
    # Given the same key in two scopes
    # When both are claimed
    # Then they do not collide
    store.claim("api:create_request", "same", b"a")
    assert isinstance(store.claim("worker", "same", b"b"), IdempotencyClaim)


@pytest.mark.parametrize(("scope", "key"), [("api", ""), ("api", "x" * 256), ("api", "has space"), ("API!", "k")])
def test_malformed_keys_and_scopes_are_refused(store: IdempotencyStore, scope: str, key: str) -> None:
    # Given an empty, overlong or non-visible key, or a bad scope
    # When claimed
    # Then it is refused
    with pytest.raises(InvalidIdempotencyKeyError):
        store.claim(scope, key, b"m")
