"""The local API Gateway: route precedence, the payload format 2.0 event, and the mapping of answers to HTTP."""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from local.gateway import ApiGateway, GatewayRoute, RouteTable, build_event, build_response
from local.runtime import Invocation, PayloadTooLargeError
from local.template.names import AwsIdentity

# The keys of the documented event (Powertools' tests/events/apiGatewayProxyV2Event.json, minus stageVariables and
# the mTLS `authentication`, which a plain HTTP API without them does not send).
DOCUMENTED_KEYS = {
    "version",
    "routeKey",
    "rawPath",
    "rawQueryString",
    "cookies",
    "headers",
    "queryStringParameters",
    "requestContext",
    "body",
    "pathParameters",
    "isBase64Encoded",
}
DOCUMENTED_CONTEXT_KEYS = {
    "accountId",
    "apiId",
    "domainName",
    "domainPrefix",
    "http",
    "requestId",
    "routeKey",
    "stage",
    "time",
    "timeEpoch",
}


def route(method: str, path: str, function: str = "fn") -> GatewayRoute:
    return GatewayRoute(method=method, path=path, function=function)


def test_route_precedence_literal_then_parameter_then_greedy() -> None:
    table = RouteTable(
        [
            route("GET", "/v1/{proxy+}", "greedy"),
            route("GET", "/v1/requests/{request_id}", "parameter"),
            route("GET", "/v1/requests/special", "literal"),
            route("ANY", "/v1/requests/special", "any-literal"),
            route("POST", "/v1/requests/{request_id}/signers/{signer}/otp", "otp"),
        ]
    )

    def pick(method: str, path: str) -> tuple[str, dict[str, str]] | None:
        found = table.match(method, path)
        return None if found is None else (found[0].function, found[1])

    assert pick("GET", "/v1/requests/special") == ("literal", {})
    assert pick("DELETE", "/v1/requests/special") == ("any-literal", {})
    assert pick("GET", "/v1/requests/r-1") == ("parameter", {"request_id": "r-1"})
    assert pick("GET", "/v1/requests/a%20b") == ("parameter", {"request_id": "a b"})
    assert pick("GET", "/v1/other/deep/path") == ("greedy", {"proxy": "other/deep/path"})
    assert pick("POST", "/v1/requests/r-1/signers/0/otp") == ("otp", {"request_id": "r-1", "signer": "0"})
    assert pick("POST", "/v1/requests/r-1") is None
    assert pick("GET", "/v1") is None
    assert pick("GET", "/v1/requests/r-1/") == ("greedy", {"proxy": "requests/r-1/"})  # no trailing-slash folding
    assert RouteTable([route("GET", "/v1/requests/{request_id}")]).match("GET", "/v1/requests/r-1/") is None


def test_default_route_catches_the_rest() -> None:
    table = RouteTable([route("GET", "/a"), GatewayRoute(method="", path="$default", function="default")])
    found = table.match("POST", "/anything")
    assert found is not None
    assert found[0].function == "default"
    assert found[0].route_key == "$default"


def _event(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "method": "POST",
        "raw_path": "/v1/requests/r-1/signers/0/otp",
        "raw_query": "a=1&a=2&b=",
        "headers": [
            ("Content-Type", "application/json"),
            ("X-Multi", "one"),
            ("x-multi", "two"),
            ("Cookie", "session=abc; theme=dark"),
            ("Host", "127.0.0.1:8000"),
            ("User-Agent", "pytest"),
        ],
        "body": b'{"code": "123456"}',
        "source_ip": "127.0.0.1",
        "route": GatewayRoute(
            method="POST",
            path="/v1/requests/{request_id}/signers/{signer}/otp",
            function="api",
            authorization_type="AWS_IAM",
        ),
        "path_parameters": {"request_id": "r-1", "signer": "0"},
        "identity": AwsIdentity(),
        "api_id": "abc123",
    }
    arguments.update(overrides)
    return build_event(**arguments)


def test_the_event_has_the_documented_v2_shape() -> None:
    event = _event()

    APIGatewayProxyEventV2Model.model_validate(event)  # Powertools' model of the documented event
    assert set(event) == DOCUMENTED_KEYS
    assert set(event["requestContext"]) >= DOCUMENTED_CONTEXT_KEYS
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /v1/requests/{request_id}/signers/{signer}/otp"
    assert event["requestContext"]["routeKey"] == event["routeKey"]
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"] == {
        "method": "POST",
        "path": "/v1/requests/r-1/signers/0/otp",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest",
    }
    assert event["headers"]["x-multi"] == "one,two"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["pathParameters"] == {"request_id": "r-1", "signer": "0"}
    assert event["body"] == '{"code": "123456"}'
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["authorizer"]["iam"]["accountId"] == "123456789012"
    assert abs(event["requestContext"]["timeEpoch"] / 1000 - time.time()) < 5


def test_a_binary_body_is_base64_and_an_empty_request_has_no_optional_keys() -> None:
    pdf = b"%PDF-1.7\x00\xff"
    binary = _event(headers=[("Content-Type", "application/pdf")], body=pdf)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == pdf

    bare = _event(headers=[], body=b"", raw_query="", path_parameters={}, route=route("GET", "/v1/openapi.json"))
    APIGatewayProxyEventV2Model.model_validate(bare)
    assert not {"body", "cookies", "queryStringParameters", "pathParameters"} & set(bare)
    assert "authorizer" not in bare["requestContext"]


def test_answers_map_to_http_as_api_gateway_maps_them() -> None:
    structured = build_response({"statusCode": 202, "headers": {"x-a": "1"}, "cookies": ["c=1"], "body": "accepted"})
    assert (structured.status, structured.body) == (202, b"accepted")
    assert ("Set-Cookie", "c=1") in structured.headers

    plain = build_response({"id": "r-1"})
    assert (plain.status, json.loads(plain.body)) == (200, {"id": "r-1"})
    assert ("Content-Type", "application/json") in plain.headers

    binary = build_response(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
    )
    assert binary.body == b"\x00\x01"

    malformed = build_response({"statusCode": 200, "body": {"not": "a string"}})
    assert malformed.status == 500


def _invocation(result: Any = None, outcome: str = "success") -> Invocation:
    return Invocation(function="api", trigger="apigw", request_id="r", started_at=0.0, outcome=outcome, result=result)


@pytest.fixture
def gateway() -> Iterator[tuple[ApiGateway, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    def invoke(function: str, event: dict[str, Any]) -> Invocation:
        seen.append(event)
        path = event["rawPath"]
        if path == "/boom":
            return _invocation(outcome="error")
        if path == "/huge":
            raise PayloadTooLargeError("too big")
        return _invocation({"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": f"hi {function}"})

    server = ApiGateway(
        [route("GET", "/hello", "api"), route("GET", "/boom"), route("POST", "/huge")], invoke, port=0
    ).serve()
    yield server, seen
    server.stop()


def test_the_server_answers_like_api_gateway(gateway: tuple[ApiGateway, list[dict[str, Any]]]) -> None:
    server, seen = gateway
    assert server.url.startswith("http://127.0.0.1:")

    ok = requests.get(f"{server.url}/hello?x=1", timeout=5)
    assert (ok.status_code, ok.text) == (200, "hi api")
    assert ok.headers["apigw-requestid"] == seen[-1]["requestContext"]["requestId"]

    missing = requests.get(f"{server.url}/nowhere", timeout=5)
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    assert requests.post(f"{server.url}/hello", timeout=5).status_code == 404  # wrong method: no route

    failed = requests.get(f"{server.url}/boom", timeout=5)
    assert (failed.status_code, failed.json()) == (500, {"message": "Internal Server Error"})

    too_big = requests.post(f"{server.url}/huge", data=b"x", timeout=5)
    assert too_big.status_code == 413


def test_the_server_stops_and_frees_its_port(gateway: tuple[ApiGateway, list[dict[str, Any]]]) -> None:
    server, _ = gateway
    url = server.url
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/hello", timeout=2)


def test_the_gateway_never_logs_a_secret_path_segment(caplog: pytest.LogCaptureFixture) -> None:
    # Given a route whose path carries a secret (the One-Shot webhook)
    secret = "s3cr3t-webhook-value-42"

    def invoke(function: str, event: dict[str, Any]) -> Invocation:
        return _invocation({"statusCode": 200, "body": "ok"})

    server = ApiGateway(
        [route("POST", "/webhooks/oneshot/{secret}"), route("GET", "/v1/requests/{id}")], invoke, port=0
    )
    server.serve()
    try:
        # When it is called with the secret, and with a malformed request line quoting it
        with caplog.at_level(logging.DEBUG):
            assert requests.post(f"{server.url}/webhooks/oneshot/{secret}?a=1", data=b"{}", timeout=5).ok
            assert requests.get(f"{server.url}/v1/requests/r-7", timeout=5).ok
            with socket.create_connection((server.host, server.port), timeout=5) as raw:
                raw.sendall(f"POST /webhooks/oneshot/{secret} HTTP/1.1 junk\r\n\r\n".encode())
                raw.recv(1024)
            time.sleep(0.2)  # the request lines are logged after the answers
    finally:
        server.stop()

    # Then no record of the gateway's server holds the secret (the test's own HTTP client logs what it sent), while
    # the request lines are still there (other parameters as sent)
    served = "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("urllib3"))
    assert secret not in served
    assert "POST /webhooks/oneshot/***?a=1" in served
    assert "GET /v1/requests/r-7" in served
