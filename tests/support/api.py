"""Calling the real `api` handler in tests, with HTTP API (payload 2.0) events built from `events/apigw/*.json`.

`ApiClient` turns a call into the event API Gateway would send (route key, raw path, path parameters, query, headers,
body) and answers an `ApiAnswer` (status, lower-cased headers, parsed JSON body). Fixtures (registered in
tests/integration/conftest.py): `api_client`, wired to the test's moto resources (the `settings` fixture);
`queued`, the messages waiting on a queue (`queued("zapsign")`); `bucket_keys`, the keys in the test bucket;
`captured_logs`, the log lines written during a test.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from signbridge.config import Settings
from signbridge.domain.messages import OperationMessage
from signbridge.handlers import api
from tests.support.aws import Queues
from tests.support.events import load_event
from tests.support.lambda_context import FakeLambdaContext

CREATE_EVENT = "apigw/create_request_zapsign.json"
ROUTE_EVENTS = {
    ("POST", "/v1/requests"): CREATE_EVENT,
    ("GET", "/v1/requests"): "apigw/list_requests.json",
    ("GET", "/v1/requests/{request_id}"): "apigw/get_request.json",
    ("POST", "/v1/requests/{request_id}/cancel"): "apigw/cancel_request.json",
    ("POST", "/v1/requests/{request_id}/documents/{document}/upload"): "apigw/upload_again.json",
    ("GET", "/v1/openapi.json"): "apigw/openapi.json",
    ("POST", "/v1/requests/{request_id}/signers/{signer}/otp"): "apigw/otp_submit.json",
    ("POST", "/v1/requests/{request_id}/signers/{signer}/otp/resend"): "apigw/otp_resend.json",
    ("POST", "/v1/requests/{request_id}/signers/{signer}/otp/unlock"): "apigw/otp_unlock.json",
}


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    headers: dict[str, str]
    raw_body: str

    @property
    def body(self) -> Any:
        return json.loads(self.raw_body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def api_event(
    method: str,
    route: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event for `method route` (API Gateway's `{name}` syntax), from the route's sample event (the
    create sample for a route that has none, e.g. an unknown one), with a unique request id."""
    sample = ROUTE_EVENTS.get((method, route), CREATE_EVENT)
    raw_path = route
    for name, value in (path_parameters or {}).items():
        raw_path = raw_path.replace("{" + name + "}", value)
    event = load_event(
        sample,
        routeKey=f"{method} {route}",
        rawPath=raw_path,
        rawQueryString=urlencode(query or {}),
        requestContext={
            "http": {"method": method, "path": raw_path},
            "requestId": uuid.uuid4().hex[:16] + "=",
            "routeKey": f"{method} {route}",
        },
    )
    event.pop("pathParameters", None)
    event.pop("queryStringParameters", None)
    event.pop("body", None)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if query:
        event["queryStringParameters"] = dict(query)
    event["headers"].pop("idempotency-key", None)
    event["headers"].pop("content-type", None)
    if body is not None or raw_body is not None:
        event["body"] = raw_body if raw_body is not None else json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    event["headers"].update({name.lower(): value for name, value in (headers or {}).items()})
    return event


class ApiClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._handler = api.handler

    def call(self, event: dict[str, Any]) -> ApiAnswer:
        response = self._handler(event, FakeLambdaContext())
        return ApiAnswer(
            status=response["statusCode"],
            headers={name.lower(): value for name, value in (response.get("headers") or {}).items()},
            raw_body=response.get("body") or "",
        )

    def request(self, method: str, route: str, **kwargs: Any) -> ApiAnswer:
        return self.call(api_event(method, route, **kwargs))

    def create(self, body: Any, *, headers: dict[str, str] | None = None) -> ApiAnswer:
        return self.request("POST", "/v1/requests", body=body, headers=headers)

    def get(self, request_id: str) -> ApiAnswer:
        return self.request("GET", "/v1/requests/{request_id}", path_parameters={"request_id": request_id})

    def list(self, **query: str) -> ApiAnswer:
        return self.request("GET", "/v1/requests", query=query)

    def cancel(self, request_id: str, body: Any = None) -> ApiAnswer:
        return self.request(
            "POST", "/v1/requests/{request_id}/cancel", path_parameters={"request_id": request_id}, body=body
        )

    def upload_again(self, request_id: str, document: int) -> ApiAnswer:
        return self.request(
            "POST",
            "/v1/requests/{request_id}/documents/{document}/upload",
            path_parameters={"request_id": request_id, "document": str(document)},
        )

    def submit_otp(self, request_id: str, signer: int, code: str) -> ApiAnswer:
        return self.request(
            "POST",
            "/v1/requests/{request_id}/signers/{signer}/otp",
            path_parameters={"request_id": request_id, "signer": str(signer)},
            body={"code": code},
        )

    def unlock_otp(self, request_id: str, signer: int) -> ApiAnswer:
        return self.request(
            "POST",
            "/v1/requests/{request_id}/signers/{signer}/otp/unlock",
            path_parameters={"request_id": request_id, "signer": str(signer)},
        )

    def resend_otp(self, request_id: str, signer: int) -> ApiAnswer:
        return self.request(
            "POST",
            "/v1/requests/{request_id}/signers/{signer}/otp/resend",
            path_parameters={"request_id": request_id, "signer": str(signer)},
        )


@pytest.fixture
def api_client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> ApiClient:
    # The OpenAPI document is cached per process; each test's settings give it its own server URL.
    api.openapi_json.cache_clear()
    api.docs_html.cache_clear()
    return ApiClient(settings)


def queued_messages(sqs_client: Any, queue_url: str) -> list[OperationMessage]:
    """Every message waiting on `queue_url`, as `OperationMessage`s (received with a long visibility timeout, so a
    second call only sees what was sent since)."""
    messages = []
    while True:
        batch = sqs_client.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300, WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(OperationMessage.from_body(message["Body"]) for message in batch)


@pytest.fixture
def queued(sqs_client: Any, queues: Queues) -> Callable[[str], list[OperationMessage]]:
    """`queued("zapsign")` / `queued("oneshot")`: the messages waiting on that queue since the last look."""
    return lambda queue: queued_messages(sqs_client, getattr(queues, queue).url)


@pytest.fixture
def bucket_keys(s3_client: Any, bucket: str) -> Callable[[], list[str]]:
    """Every key in the test bucket (a handful in a test: one page)."""
    return lambda: [item["Key"] for item in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])]


class _Lines(logging.Handler):
    def __init__(self, lines: list[str], formatter: logging.Formatter) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines = lines
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured_logs() -> Iterator[list[str]]:
    """Every log line written while the test runs, as rendered: the Powertools logger of the api handler (its JSON
    lines, with the appended keys and exception fields) and anything else that reaches the root logger."""
    lines: list[str] = []
    powertools = _Lines(lines, api.logger.registered_formatter)
    root = _Lines(lines, logging.Formatter("%(name)s %(levelname)s %(message)s"))
    service_logger = logging.getLogger(api.logger.name)
    service_logger.addHandler(powertools)
    logging.getLogger().addHandler(root)
    try:
        yield lines
    finally:
        service_logger.removeHandler(powertools)
        logging.getLogger().removeHandler(root)
