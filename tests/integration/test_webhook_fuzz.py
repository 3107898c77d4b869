"""A hypothesis fuzzer for both webhooks, through the real handlers against moto: arbitrary bodies and headers never
get a 5xx, and without the secret nothing is stored in S3 or queued in SQS.

Bounded for `make test` (`FUZZ_WEBHOOK_EXAMPLES`, 40 per property by default); `make fuzz` runs it larger and
prints the tallies."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signbridge.domain.messages import OperationMessage
from signbridge.handlers import oneshot_webhook
from tests.support.aws import SAMPLE_WEBHOOK_SECRET
from tests.support.events import load_event
from tests.support.lambda_context import FakeLambdaContext
from tests.support.zapsign import WEBHOOK_SECRET, ZapSignHandlers, webhook_event

EXAMPLES = int(os.environ.get("FUZZ_WEBHOOK_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
Queued = Callable[[str], list[OperationMessage]]
Keys = Callable[[], list[str]]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
# Bodies: JSON of any shape (with the keys the webhooks read), deep nesting, long numbers, and bytes that are no JSON.
bodies = st.one_of(
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"event_type": st.sampled_from(["doc_signed", "doc_refused", "x"]) | st.text(max_size=8), "token": json_values},
    ).map(json.dumps),
    st.fixed_dictionaries({"request": json_values, "event_type": json_values}).map(json.dumps),
    st.integers(min_value=1, max_value=3000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=1, max_value=6000).map(lambda digits: "9" * digits),
    st.text(max_size=200),
)
headers = st.dictionaries(
    st.sampled_from(["content-type", "x-webhook-token", "x-forwarded-for", "user-agent"])
    | st.text(min_size=1, max_size=20),
    st.text(max_size=60),
    max_size=4,
)
secrets = st.text(max_size=80)


def status_of(answer: dict[str, Any]) -> int:
    status = int(answer["statusCode"])
    assert status < 500, answer
    return status


def test_the_zapsign_webhook_never_fails_and_stores_nothing_without_the_secret(
    zapsign_handlers: ZapSignHandlers, bucket_keys: Keys, queued: Queued
) -> None:
    tally: Counter[int] = Counter()

    @FUZZ
    @given(body=bodies, headers=headers)
    def without_secret(body: str, headers: dict[str, str]) -> None:
        given_headers = {name: value for name, value in headers.items() if name.lower() != "x-webhook-token"}
        given_headers["x-webhook-token"] = (
            headers.get("x-webhook-token", "") if headers.get("x-webhook-token") != WEBHOOK_SECRET else ""
        )
        event = webhook_event(body, x_webhook_token=None)
        event["headers"].update(given_headers)
        tally[status_of(zapsign_handlers.webhook(event))] += 1

    without_secret()
    # Then every call was refused, and nothing was stored or queued
    assert set(tally) == {401}, tally
    assert bucket_keys() == []
    assert queued("zapsign") == []

    @FUZZ
    @given(body=bodies)
    def with_secret(body: str) -> None:
        tally[status_of(zapsign_handlers.webhook(webhook_event(body)))] += 1

    with_secret()
    print(f"\nzapsign webhook: {sum(tally.values())} calls, by status: {dict(sorted(tally.items()))}")


def test_the_oneshot_callback_never_fails_and_stores_nothing_without_the_secret(
    oneshot_services: Any, bucket_keys: Keys, queued: Queued
) -> None:
    secret = SAMPLE_WEBHOOK_SECRET["oneshot"][0]
    tally: Counter[int] = Counter()

    def call(path_secret: str, body: str) -> int:
        event = load_event("apigw/oneshot_callback_request_enrolled.json")
        event["pathParameters"] = {"secret": path_secret}
        event["rawPath"] = f"/webhooks/oneshot/{path_secret}"
        event["body"] = body
        return status_of(oneshot_webhook.handler(event, FakeLambdaContext()))

    @FUZZ
    @given(path_secret=secrets.filter(lambda value: value != secret), body=bodies)
    def without_secret(path_secret: str, body: str) -> None:
        tally[call(path_secret, body)] += 1

    without_secret()
    assert set(tally) == {401}, tally
    assert bucket_keys() == []
    assert queued("oneshot") == []

    @FUZZ
    @given(body=bodies)
    def with_secret(body: str) -> None:
        tally[call(secret, body)] += 1

    with_secret()
    print(f"\nOne-Shot callback: {sum(tally.values())} calls, by status: {dict(sorted(tally.items()))}")


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
