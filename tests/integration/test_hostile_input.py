"""Hostile bodies on the routes that read one (the API's JSON routes and both webhooks, the secret given): JSON nested
far too deep, a number of thousands of digits, form and multipart bodies (one without a boundary). Each is a 4xx
problem+json, and nothing is stored or queued."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from signbridge.domain.json_limits import MAX_JSON_DEPTH, MAX_JSON_NUMBER_CHARS, JsonLimitError, check_json_limits
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import RequestStatus, Workflow
from signbridge.handlers import oneshot_webhook
from signbridge.storage.records import RecordStore
from signbridge.workflow.services import Services
from tests.support.api import ApiClient, api_event
from tests.support.aws import SAMPLE_WEBHOOK_SECRET
from tests.support.events import load_event
from tests.support.lambda_context import FakeLambdaContext
from tests.support.samples import create_body
from tests.support.zapsign import ZapSignHandlers, webhook_event

PROBLEM = "application/problem+json"
Queued = Callable[[str], list[OperationMessage]]
Keys = Callable[[], list[str]]

DEEP = "[" * 1000 + "]" * 1000
DEEP_IN_OBJECT = '{"workflow": "zapsign", "metadata": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}"
HUGE_INTEGER = '{"workflow": "zapsign", "size": ' + "9" * 5000 + "}"
HOSTILE_JSON = {"deep": DEEP, "deep-in-object": DEEP_IN_OBJECT, "huge-integer": HUGE_INTEGER}

JSON_ROUTES = {
    "create": ("POST", "/v1/requests", {}),
    "cancel": ("POST", "/v1/requests/{request_id}/cancel", {"request_id": "req_0000000000000000000000"}),
    "otp": (
        "POST",
        "/v1/requests/{request_id}/signers/{signer}/otp",
        {"request_id": "req_0000000000000000000000", "signer": "0"},
    ),
}


def problem(status: int, headers: dict[str, Any], body: str) -> dict[str, Any]:
    assert {name.lower(): value for name, value in headers.items()}["content-type"] == PROBLEM
    loaded: dict[str, Any] = json.loads(body)
    assert loaded["status"] == status
    return loaded


def assert_nothing_stored(bucket_keys: Keys, queued: Queued) -> None:
    assert bucket_keys() == []
    assert queued("zapsign") == []
    assert queued("oneshot") == []


# ------------------------------------------------------------------------------------------------ the bounds


def test_the_bounds_let_every_real_body_through_and_stop_the_hostile_ones() -> None:
    # Given bodies at the bounds, with strings that look like what they bound (strings are not counted)
    at_depth = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    long_number = "1" * MAX_JSON_NUMBER_CHARS
    in_string = json.dumps({"s": "[" * 5000 + "9" * 5000, "escaped": '\\"[[[['})
    for body in (at_depth, long_number, in_string, json.dumps(create_body(Workflow.ZAPSIGN)), "not json", ""):
        check_json_limits(body)
    # When a body goes one past a bound, Then it is refused
    for body in ("[" * (MAX_JSON_DEPTH + 1), "1" * (MAX_JSON_NUMBER_CHARS + 1), *HOSTILE_JSON.values()):
        with pytest.raises(JsonLimitError):
            check_json_limits(body.encode())


# ------------------------------------------------------------------------------------------------ the API


@pytest.mark.parametrize("route", sorted(JSON_ROUTES))
@pytest.mark.parametrize("body", sorted(HOSTILE_JSON))
def test_hostile_json_on_an_api_route_is_a_400_and_nothing_is_stored(  # noqa: PLR0917
    api_client: ApiClient,
    bucket_keys: Keys,
    queued: Queued,
    record_store: RecordStore,
    route: str,
    body: str,
) -> None:
    method, path, parameters = JSON_ROUTES[route]
    # When a client sends JSON nested 1,000 deep or a 5,000-digit integer
    answer = api_client.request(method, path, path_parameters=parameters, raw_body=HOSTILE_JSON[body])

    # Then it is a 400 that says why, and nothing was stored or queued
    found = problem(400, answer.headers, answer.raw_body)
    assert found["type"].endswith("/json-too-complex")
    assert answer.body["instance"] == path.format(**parameters)
    assert all(
        record_store.list_by_status(status).items == () for status in (RequestStatus.DRAFT, RequestStatus.SUBMITTED)
    )
    assert_nothing_stored(bucket_keys, queued)


FORM_BODIES = {
    "form": ("application/x-www-form-urlencoded", "workflow=zapsign&signers=1"),
    "multipart": (
        "multipart/form-data; boundary=x",
        '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--',
    ),
    "multipart-without-boundary": ("multipart/form-data", "--x\r\n\r\nb\r\n--x--"),
    "text": ("text/plain", json.dumps(create_body(Workflow.ZAPSIGN))),
}


@pytest.mark.parametrize("route", sorted(JSON_ROUTES))
@pytest.mark.parametrize("kind", sorted(FORM_BODIES))
def test_a_body_that_is_not_json_is_a_415_before_anything_parses_it(
    api_client: ApiClient, bucket_keys: Keys, queued: Queued, route: str, kind: str
) -> None:
    method, path, parameters = JSON_ROUTES[route]
    content_type, body = FORM_BODIES[kind]
    event = api_event(method, path, path_parameters=parameters, raw_body=body)
    event["headers"]["content-type"] = content_type

    answer = api_client.call(event)

    found = problem(415, answer.headers, answer.raw_body)
    assert found["type"].endswith("/unsupported-media-type")
    assert_nothing_stored(bucket_keys, queued)


def test_json_with_a_charset_is_still_json(api_client: ApiClient) -> None:
    event = api_event("POST", "/v1/requests", body=create_body(Workflow.ZAPSIGN))
    event["headers"]["content-type"] = "application/json; charset=utf-8"

    assert api_client.call(event).status == 201


# ------------------------------------------------------------------------------------------------ the webhooks


@pytest.mark.parametrize("body", sorted(HOSTILE_JSON))
def test_hostile_json_on_the_zapsign_webhook_is_a_400_and_nothing_is_stored(
    zapsign_handlers: ZapSignHandlers, bucket_keys: Keys, queued: Queued, body: str
) -> None:
    # Given a delivery with the right secret and a hostile body
    answer = zapsign_handlers.webhook(webhook_event(HOSTILE_JSON[body]))

    found = problem(400, answer["headers"], answer["body"])
    assert found["type"].endswith("/json-too-complex")
    assert_nothing_stored(bucket_keys, queued)


@pytest.mark.parametrize("body", sorted(HOSTILE_JSON))
def test_hostile_json_on_the_oneshot_callback_is_a_400_and_nothing_is_stored(
    oneshot_services: Services, bucket_keys: Keys, queued: Queued, body: str
) -> None:
    # Given a callback to the right address with a hostile body
    event = load_event("apigw/oneshot_callback_request_enrolled.json")
    assert event["pathParameters"]["secret"] == SAMPLE_WEBHOOK_SECRET["oneshot"][0]
    event["body"] = HOSTILE_JSON[body]

    answer = oneshot_webhook.handler(event, FakeLambdaContext())

    found = problem(400, answer["headers"], answer["body"])
    assert found["type"].endswith("/json-too-complex")
    assert_nothing_stored(bucket_keys, queued)
