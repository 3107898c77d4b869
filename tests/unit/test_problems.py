"""The HTTP edge's one problem table (`signbridge.handlers.problems`) and the webhook handlers' answer
(`signbridge.handlers.http`): each domain error to its status, type and title; each webhook outcome to its answer."""

from __future__ import annotations

import base64
import importlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError

from signbridge.domain.errors import (
    IdempotencyConflictError,
    IdempotencyInProgressError,
    InvalidCursorError,
    InvalidIdempotencyKeyError,
    RequestNotFoundError,
    SignerNotFoundError,
)
from signbridge.domain.models import RequestStatus
from signbridge.handlers.api.views import Problem
from signbridge.handlers.http import WebhookCall, answer_webhook
from signbridge.handlers.problems import (
    PROBLEM_CONTENT_TYPE,
    PROBLEM_TYPE_BASE,
    PROBLEMS,
    NoRouteError,
    problem_for,
)
from signbridge.workflow.errors import (
    InvalidFieldError,
    InvalidQueryError,
    MalformedCallbackError,
    MalformedWebhookError,
    NotAwaitingOtpError,
    OtpRejectedError,
    OtpResendTooSoonError,
    PayloadTooLargeError,
    ProviderUnavailableError,
    RequestNotCancellableError,
    RequestStateError,
    UnknownCallbackAddressError,
    WorkflowError,
    WrongWebhookSecretError,
)
from signbridge.workflow.services import Services
from signbridge.workflow.webhooks import Disposition, WebhookOutcome
from tests.support.lambda_context import FakeLambdaContext

# (error, status, type slug, title, headers)
CASES: list[tuple[Exception, int, str, str, dict[str, str]]] = [
    (WorkflowError("x"), 400, "workflow-error", "Workflow error", {}),
    (PayloadTooLargeError("x"), 413, "payload-too-large", "The body is too large", {}),
    (RequestStateError("x"), 409, "conflict", "The request's state does not allow this", {}),
    (
        RequestNotCancellableError("r1", RequestStatus.COMPLETED),
        409,
        "not-cancellable",
        "The request can no longer be cancelled",
        {},
    ),
    (NotAwaitingOtpError("x"), 409, "not-awaiting-otp", "No SMS code is awaited from this signer", {}),
    (OtpRejectedError("x"), 422, "otp-rejected", "The SMS code was not accepted", {}),
    (
        OtpResendTooSoonError("x", retry_after_seconds=42),
        429,
        "otp-too-soon",
        "Another SMS code cannot be sent yet",
        {"Retry-After": "42"},
    ),
    (
        ProviderUnavailableError("x", retry_after_seconds=7),
        503,
        "provider-unavailable",
        "The signing service is unavailable",
        {"Retry-After": "7"},
    ),
    (ProviderUnavailableError("x"), 503, "provider-unavailable", "The signing service is unavailable", {}),
    (InvalidFieldError("documents.0.content", "too big"), 422, "validation-error", "The request is not valid", {}),
    (InvalidQueryError("x"), 400, "invalid-query", "The query is not valid", {}),
    (UnknownCallbackAddressError("x"), 401, "unauthorized", "Unknown callback address", {}),
    (WrongWebhookSecretError("x"), 401, "unauthorized", "Missing or wrong webhook secret", {}),
    (MalformedCallbackError("x", raw_key="k"), 400, "malformed-callback", "The callback body is not JSON", {}),
    (
        MalformedWebhookError("x", raw_key="k"),
        400,
        "malformed-webhook",
        "The webhook body is not a JSON object",
        {},
    ),
    (RequestNotFoundError("r1"), 404, "request-not-found", "No such request", {}),
    (SignerNotFoundError("r1", 3), 404, "signer-not-found", "No such signer", {}),
    (
        IdempotencyConflictError("create_request"),
        409,
        "idempotency-key-reused",
        "The Idempotency-Key was used with another body",
        {},
    ),
    (
        IdempotencyInProgressError("create_request", 5),
        409,
        "idempotency-in-progress",
        "A request with this Idempotency-Key is in progress",
        {"Retry-After": "5"},
    ),
    (InvalidIdempotencyKeyError("x"), 400, "invalid-idempotency-key", "The Idempotency-Key header is not valid", {}),
    (InvalidCursorError("x"), 400, "invalid-cursor", "The cursor is not valid", {}),
    (NoRouteError("GET", "/v1/nothing", []), 404, "not-found", "No such resource", {}),
    (
        NoRouteError("DELETE", "/v1/requests", ["GET", "POST"]),
        405,
        "method-not-allowed",
        "Method not allowed",
        {"Allow": "GET, POST"},
    ),
]


@pytest.mark.parametrize(("error", "status", "slug", "title", "headers"), CASES, ids=lambda v: type(v).__name__)
def test_each_error_is_one_problem(
    error: Exception, status: int, slug: str, title: str, headers: dict[str, str]
) -> None:
    problem = problem_for(error)
    assert problem is not None
    assert (problem.status, problem.slug, problem.title, problem.headers) == (status, slug, title, headers)
    body = json.loads(problem.json(instance="/v1/x", correlation_id="c-1"))
    assert body["type"] == PROBLEM_TYPE_BASE + slug
    assert (body["title"], body["status"], body["instance"], body["correlation_id"]) == (title, status, "/v1/x", "c-1")


WITH_FIELD_ERRORS: list[Exception] = [
    InvalidFieldError("documents.0.content", "larger than 10 bytes"),
    RequestValidationError([{"loc": ("body", "signers", 0, "phone"), "msg": "not a phone", "type": "phone_e164"}]),
]


@pytest.mark.parametrize("error", [case[0] for case in CASES] + WITH_FIELD_ERRORS, ids=lambda v: type(v).__name__)
def test_a_problem_body_is_the_documented_problem(error: Exception) -> None:
    """The plain body the table answers is exactly what the OpenAPI document's `Problem` model describes and dumps."""
    problem = problem_for(error)
    assert problem is not None
    document = Problem(
        type=PROBLEM_TYPE_BASE + problem.slug,
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        instance="/v1/x",
        correlation_id="c-1",
        errors=problem.errors,  # validated into ProblemFieldError
    )
    assert problem.json(instance="/v1/x", correlation_id="c-1") == document.model_dump_json(
        by_alias=True, exclude_none=True
    )


def test_details_name_identifiers_only() -> None:
    assert problem_for(RequestNotFoundError("r1")).detail == "there is no request r1"  # type: ignore[union-attr]
    assert problem_for(SignerNotFoundError("r1", 3)).detail == "request r1 has no signer 3"  # type: ignore[union-attr]
    assert problem_for(OtpRejectedError("try again")).detail == "try again"  # type: ignore[union-attr]


def test_a_field_limit_names_its_field() -> None:
    problem = problem_for(InvalidFieldError("documents.0.content", "larger than 10 bytes"))
    assert problem is not None
    assert problem.errors == [
        {"field": "documents.0.content", "message": "larger than 10 bytes", "in": "body", "type": "limit"}
    ]


def test_powertools_request_errors_are_known_by_their_dotted_name() -> None:
    """The table names Powertools' request-validation errors without importing them (the webhooks' cold start): each
    name resolves to the class the API's resolver raises, and that class is answered."""
    for key in PROBLEMS:
        if isinstance(key, str):
            module, _, name = key.rpartition(".")
            kind = getattr(importlib.import_module(module), name)
            assert issubclass(kind, Exception)
            assert f"{kind.__module__}.{kind.__qualname__}" == key
    invalid = problem_for(
        RequestValidationError([{"loc": ("body", "signers"), "msg": "Field required", "type": "missing"}])
    )
    assert invalid is not None
    assert (invalid.status, invalid.slug) == (422, "validation-error")
    assert invalid.errors == [{"field": "signers", "in": "body", "message": "Field required", "type": "missing"}]
    unsupported = problem_for(RequestUnsupportedContentType("text/plain", []))
    assert unsupported is not None
    assert (unsupported.status, unsupported.slug) == (415, "unsupported-media-type")


def test_an_error_the_table_does_not_know_is_no_problem_of_ours() -> None:
    assert problem_for(RuntimeError("boom")) is None
    assert problem_for(KeyError("k")) is None


# ------------------------------------------------------------------------------------------------ webhooks


def _event() -> dict[str, Any]:
    return {"body": "{}", "isBase64Encoded": False, "requestContext": {"requestId": "req-1", "timeEpoch": 0}}


def _answer(result: WebhookOutcome | Exception) -> dict[str, Any]:
    def accept(services: Services, call: WebhookCall, correlation_id: str) -> WebhookOutcome:
        assert (call.body, correlation_id) == (b"{}", "req-1")
        if isinstance(result, Exception):
            raise result
        return result

    services: Any = object()
    context: Any = FakeLambdaContext(function_name="webhook")
    return answer_webhook(_event(), context, services, provider="p", accept=accept)


@pytest.mark.parametrize("disposition", list(Disposition))
def test_an_accepted_call_is_exactly_200_whatever_became_of_it(disposition: Disposition) -> None:
    answer = _answer(WebhookOutcome(disposition, "raw/p/2026-01-01/abc.json", enqueued=1))
    assert answer == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"received": true}',
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("error", "status", "slug", "title"),
    [
        (UnknownCallbackAddressError("unknown callback address"), 401, "unauthorized", "Unknown callback address"),
        (WrongWebhookSecretError("missing"), 401, "unauthorized", "Missing or wrong webhook secret"),
        (PayloadTooLargeError("too big"), 413, "payload-too-large", "The body is too large"),
        (MalformedCallbackError("not JSON", raw_key="k"), 400, "malformed-callback", "The callback body is not JSON"),
        (
            MalformedWebhookError("not an object", raw_key="k"),
            400,
            "malformed-webhook",
            "The webhook body is not a JSON object",
        ),
    ],
)
def test_a_refused_call_is_a_problem_without_instance(error: Exception, status: int, slug: str, title: str) -> None:
    answer = _answer(error)
    assert (answer["statusCode"], answer["headers"]) == (status, {"Content-Type": PROBLEM_CONTENT_TYPE})
    assert json.loads(answer["body"]) == {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": str(error),
        "correlation_id": "req-1",
    }


def test_an_unexpected_error_is_not_answered_but_raised() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        _answer(RuntimeError("boom"))


def test_a_webhook_call_is_read_from_the_http_api_event() -> None:
    event = {
        "headers": {"x-zapsign-secret": "s"},
        "pathParameters": {"secret": "p"},
        "body": base64.b64encode(b"\x00raw{}").decode(),
        "isBase64Encoded": True,
        "requestContext": {"requestId": "req-9", "timeEpoch": 1767225600123},
    }
    call = WebhookCall.from_event(event)
    assert (call.headers, call.path_parameters, call.body) == ({"x-zapsign-secret": "s"}, {"secret": "p"}, b"\x00raw{}")
    assert (call.received_at, call.request_id) == (datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC), "req-9")
    # a bare event (an operator's test invocation): no headers, no body, received now, the Lambda's request id
    bare = WebhookCall.from_event({})
    assert (bare.headers, bare.path_parameters, bare.body, bare.request_id) == ({}, {}, b"", None)
    assert abs((datetime.now(UTC) - bare.received_at).total_seconds()) < 60
