"""The one mapping from an exception to an RFC 9457 problem (`application/problem+json`), for the API and both
webhook handlers.

The workflow and the ports raise domain errors that know nothing of HTTP; `PROBLEMS` gives each its status, its
stable `type` (the slug clients branch on) and its title, once. Lookup walks the exception's classes, so the nearest
base class in the table wins. An exception the table does not know is not a problem of ours to describe:
`problem_for` answers None and the caller decides (the API answers 500 with a generic detail, a webhook lets the
Lambda fail).

The webhook handlers import this module too, so it imports only what every caller already loads: Powertools' own
request-validation errors, which only the API raises, are keyed by their dotted name rather than imported (importing
them loads Powertools' whole `event_handler` and OpenAPI packages, a large part of a webhook's cold start).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from signbridge.domain.errors import (
    DocumentNotFoundError,
    IdempotencyConflictError,
    IdempotencyInProgressError,
    InvalidCursorError,
    InvalidIdempotencyKeyError,
    RequestNotFoundError,
    SignerNotFoundError,
)
from signbridge.domain.json_limits import JsonLimitError
from signbridge.workflow.errors import (
    ContractNotAcceptedError,
    InvalidFieldError,
    InvalidQueryError,
    MalformedCallbackError,
    MalformedWebhookError,
    NotAwaitingOtpError,
    NotLockedError,
    OtpRejectedError,
    OtpResendTooSoonError,
    PayloadTooLargeError,
    ProviderUnavailableError,
    RequestNotCancellableError,
    RequestStateError,
    SignerLockedError,
    SigningLinkExpiredError,
    SigningLinkInvalidError,
    SigningLinkUsedError,
    UnknownCallbackAddressError,
    UploadClosedError,
    WorkflowError,
    WrongWebhookSecretError,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
PROBLEM_TYPE_BASE: Final = "https://signbridge.dev/problems/"

IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
IDEMPOTENCY_KEY_RULE: Final = "1 to 128 visible ASCII characters (no spaces), e.g. a UUID"

_POWERTOOLS_OPENAPI_ERRORS: Final = "aws_lambda_powertools.event_handler.openapi.exceptions."
REQUEST_VALIDATION_ERROR: Final = _POWERTOOLS_OPENAPI_ERRORS + "RequestValidationError"
REQUEST_UNSUPPORTED_CONTENT_TYPE: Final = _POWERTOOLS_OPENAPI_ERRORS + "RequestUnsupportedContentType"


# ------------------------------------------------------------------------------------------------ kinds


@dataclass(frozen=True)
class ProblemAnswer:
    """One problem to answer: the kind's status, slug and title, this occurrence's detail, field errors, headers."""

    status: int
    slug: str
    title: str
    detail: str
    errors: list[dict[str, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, *, instance: str | None, correlation_id: str | None) -> dict[str, Any]:
        """The problem+json document (its schema: `signbridge.handlers.api.views.Problem`), without the empty fields.
        A plain dict, so that the webhooks answer a problem without building the OpenAPI document's models."""
        errors = [
            {"field": error["field"], "message": error["message"], "in": error.get("in", "body"), "type": error["type"]}
            for error in self.errors or ()
        ]
        document = {
            "type": PROBLEM_TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "correlation_id": correlation_id,
            "errors": None if self.errors is None else errors,
        }
        return {name: value for name, value in document.items() if value is not None}

    def json(self, *, instance: str | None, correlation_id: str | None) -> str:
        """The problem+json body, compact."""
        return json.dumps(
            self.body(instance=instance, correlation_id=correlation_id), separators=(",", ":"), ensure_ascii=False
        )


@dataclass(frozen=True)
class ProblemKind:
    """A kind of problem: its HTTP status, the stable slug of its `type`, its title."""

    status: int
    slug: str
    title: str

    def answer(
        self, detail: str, *, errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None
    ) -> ProblemAnswer:
        return ProblemAnswer(self.status, self.slug, self.title, detail, errors=errors, headers=headers or {})


# Every kind of problem SignBridge answers, with its status and title: the one title table.
VALIDATION = ProblemKind(422, "validation-error", "The request is not valid")
MALFORMED_JSON = ProblemKind(400, "malformed-json", "The body is not valid JSON")
JSON_TOO_COMPLEX = ProblemKind(400, "json-too-complex", "The JSON body nests too deep or holds too long a number")
UNSUPPORTED_MEDIA_TYPE = ProblemKind(415, "unsupported-media-type", "The body must be JSON")
INVALID_QUERY = ProblemKind(400, "invalid-query", "The query is not valid")
INVALID_CURSOR = ProblemKind(400, "invalid-cursor", "The cursor is not valid")
INVALID_IDEMPOTENCY_KEY = ProblemKind(400, "invalid-idempotency-key", "The Idempotency-Key header is not valid")
NOT_FOUND = ProblemKind(404, "not-found", "No such resource")
REQUEST_NOT_FOUND = ProblemKind(404, "request-not-found", "No such request")
SIGNER_NOT_FOUND = ProblemKind(404, "signer-not-found", "No such signer")
DOCUMENT_NOT_FOUND = ProblemKind(404, "document-not-found", "No such document")
METHOD_NOT_ALLOWED = ProblemKind(405, "method-not-allowed", "Method not allowed")
IDEMPOTENCY_KEY_REUSED = ProblemKind(409, "idempotency-key-reused", "The Idempotency-Key was used with another body")
IDEMPOTENCY_IN_PROGRESS = ProblemKind(
    409, "idempotency-in-progress", "A request with this Idempotency-Key is in progress"
)
PAYLOAD_TOO_LARGE = ProblemKind(413, "payload-too-large", "The body is too large")
CONFLICT = ProblemKind(409, "conflict", "The request's state does not allow this")
NOT_CANCELLABLE = ProblemKind(409, "not-cancellable", "The request can no longer be cancelled")
NOT_AWAITING_OTP = ProblemKind(409, "not-awaiting-otp", "No SMS code is awaited from this signer")
OTP_REJECTED = ProblemKind(422, "otp-rejected", "The SMS code was not accepted")
SIGNER_LOCKED = ProblemKind(423, "signer-locked", "Too many wrong SMS codes: the signer is locked")
NOT_LOCKED = ProblemKind(409, "not-locked", "The signer is not locked")
UPLOAD_CLOSED = ProblemKind(409, "upload-closed", "The document can no longer be uploaded")
OTP_TOO_SOON = ProblemKind(429, "otp-too-soon", "Another SMS code cannot be sent yet")
PROVIDER_UNAVAILABLE = ProblemKind(503, "provider-unavailable", "The signing service is unavailable")
SIGNING_LINK_INVALID = ProblemKind(404, "signing-link-invalid", "This signing link is not valid")
SIGNING_LINK_EXPIRED = ProblemKind(410, "signing-link-expired", "This signing link has expired")
SIGNING_LINK_USED = ProblemKind(410, "signing-link-used", "This signing link has been used")
CONTRACT_NOT_ACCEPTED = ProblemKind(409, "contract-not-accepted", "The service contract has not been accepted")
WORKFLOW_ERROR = ProblemKind(400, "workflow-error", "Workflow error")
INTERNAL_ERROR = ProblemKind(500, "internal-error", "Internal error")
UNKNOWN_CALLBACK_ADDRESS = ProblemKind(401, "unauthorized", "Unknown callback address")
WRONG_WEBHOOK_SECRET = ProblemKind(401, "unauthorized", "Missing or wrong webhook secret")
MALFORMED_CALLBACK = ProblemKind(400, "malformed-callback", "The callback body is not JSON")
MALFORMED_WEBHOOK = ProblemKind(400, "malformed-webhook", "The webhook body is not a JSON object")


# ------------------------------------------------------------------------------------------------ the table


def _retry_after(seconds: int | None) -> dict[str, str]:
    return {} if seconds is None else {"Retry-After": str(seconds)}


def _validation_problem(error: RequestValidationError) -> ProblemAnswer:
    found = list(error.errors())
    malformed = next((item for item in found if item.get("type") == "json_invalid"), None)
    if malformed is not None:
        context = malformed.get("ctx") or {}
        position = malformed.get("loc", ("body", None))[-1]
        return MALFORMED_JSON.answer(
            f"the body is not valid JSON: {context.get('error', 'decode error')} (at character {position})"
        )
    fields = [_field_error(item) for item in found]
    summary = "; ".join(f"{item['field']}: {item['message']}" for item in fields[:3])
    more = f" (and {len(fields) - 3} more)" if len(fields) > 3 else ""
    return VALIDATION.answer(f"{summary}{more}", errors=fields)


def _field_error(error: dict[str, Any]) -> dict[str, str]:
    """`{"field": "signers.0.phone", "in": "body", "message": …, "type": …}`; never the input, which may be
    personal data or a whole document."""
    location = [str(part) for part in error.get("loc", ())]
    where = location[0] if location and location[0] in ("body", "query", "path", "header") else "body"
    path = location[1:] if location and location[0] == where else location
    message = str(error.get("msg", "not valid"))
    if where == "header" and path and path[0].lower() == IDEMPOTENCY_KEY_HEADER.lower():
        path, message = [IDEMPOTENCY_KEY_HEADER], IDEMPOTENCY_KEY_RULE
    return {"field": ".".join(path) or where, "in": where, "message": message, "type": str(error.get("type", ""))}


class UnsupportedMediaTypeError(Exception):
    """A body on a JSON route whose content type is not `application/json` (refused before anything parses it)."""

    def __init__(self, media_type: str) -> None:
        super().__init__(f"a {media_type} body")
        self.media_type = media_type


class NoRouteError(Exception):
    """The API has no route for this method and path (Powertools' `NotFoundError`, with what the API knows)."""

    def __init__(self, method: str, path: str, allowed: list[str]) -> None:
        super().__init__(f"no route for {method} {path}")
        self.method = method
        self.path = path
        self.allowed = allowed


def _no_route(error: NoRouteError) -> ProblemAnswer:
    if error.allowed and error.method not in error.allowed:
        allowed = ", ".join(error.allowed)
        return METHOD_NOT_ALLOWED.answer(f"{error.path} answers {allowed}", headers={"Allow": allowed})
    return NOT_FOUND.answer(f"no route for {error.method} {error.path}")


PROBLEMS: Final[dict[type[Exception] | str, Callable[[Any], ProblemAnswer]]] = {
    # The workflow's errors (signbridge.workflow.errors, the use cases)
    WorkflowError: lambda error: WORKFLOW_ERROR.answer(error.detail),
    PayloadTooLargeError: lambda error: PAYLOAD_TOO_LARGE.answer(error.detail),
    RequestStateError: lambda error: CONFLICT.answer(error.detail),
    RequestNotCancellableError: lambda error: NOT_CANCELLABLE.answer(error.detail),
    UploadClosedError: lambda error: UPLOAD_CLOSED.answer(error.detail),
    NotAwaitingOtpError: lambda error: NOT_AWAITING_OTP.answer(error.detail),
    OtpRejectedError: lambda error: OTP_REJECTED.answer(error.detail),
    SignerLockedError: lambda error: SIGNER_LOCKED.answer(error.detail),
    NotLockedError: lambda error: NOT_LOCKED.answer(error.detail),
    OtpResendTooSoonError: lambda error: OTP_TOO_SOON.answer(
        error.detail, headers=_retry_after(error.retry_after_seconds)
    ),
    ProviderUnavailableError: lambda error: PROVIDER_UNAVAILABLE.answer(
        error.detail, headers=_retry_after(error.retry_after_seconds)
    ),
    SigningLinkInvalidError: lambda error: SIGNING_LINK_INVALID.answer(error.detail),
    SigningLinkExpiredError: lambda error: SIGNING_LINK_EXPIRED.answer(error.detail),
    SigningLinkUsedError: lambda error: SIGNING_LINK_USED.answer(error.detail),
    ContractNotAcceptedError: lambda error: CONTRACT_NOT_ACCEPTED.answer(error.detail),
    InvalidFieldError: lambda error: VALIDATION.answer(
        error.detail, errors=[{"field": error.field, "message": error.message, "in": "body", "type": "limit"}]
    ),
    InvalidQueryError: lambda error: INVALID_QUERY.answer(error.detail),
    UnknownCallbackAddressError: lambda error: UNKNOWN_CALLBACK_ADDRESS.answer(error.detail),
    WrongWebhookSecretError: lambda error: WRONG_WEBHOOK_SECRET.answer(error.detail),
    MalformedCallbackError: lambda error: MALFORMED_CALLBACK.answer(error.detail),
    MalformedWebhookError: lambda error: MALFORMED_WEBHOOK.answer(error.detail),
    # The ports' errors (signbridge.domain.errors)
    RequestNotFoundError: lambda error: REQUEST_NOT_FOUND.answer(f"there is no request {error.request_id}"),
    SignerNotFoundError: lambda error: SIGNER_NOT_FOUND.answer(
        f"request {error.request_id} has no signer {error.index}"
    ),
    DocumentNotFoundError: lambda error: DOCUMENT_NOT_FOUND.answer(
        f"request {error.request_id} has no document {error.index}"
    ),
    IdempotencyConflictError: lambda _: IDEMPOTENCY_KEY_REUSED.answer(
        "this Idempotency-Key was already used with a different body; use a new key for a new request"
    ),
    IdempotencyInProgressError: lambda error: IDEMPOTENCY_IN_PROGRESS.answer(
        "an earlier attempt with this Idempotency-Key is still running; retry after the Retry-After delay",
        headers=_retry_after(error.retry_after_seconds),
    ),
    InvalidIdempotencyKeyError: lambda _: INVALID_IDEMPOTENCY_KEY.answer(IDEMPOTENCY_KEY_RULE),
    InvalidCursorError: lambda error: INVALID_CURSOR.answer(f"{error}; start again without a cursor"),
    # The HTTP edge's own (Powertools' request validation by dotted name, see the module docstring; routing)
    REQUEST_VALIDATION_ERROR: _validation_problem,
    REQUEST_UNSUPPORTED_CONTENT_TYPE: lambda _: UNSUPPORTED_MEDIA_TYPE.answer("send the body as application/json"),
    UnsupportedMediaTypeError: lambda _: UNSUPPORTED_MEDIA_TYPE.answer("send the body as application/json"),
    JsonLimitError: lambda error: JSON_TOO_COMPLEX.answer(error.detail),
    NoRouteError: _no_route,
}


def problem_for(error: Exception) -> ProblemAnswer | None:
    """The problem `error` is, by the nearest of its classes in `PROBLEMS` (by the class, or by its dotted name); None
    for an exception it does not know."""
    for kind in type(error).__mro__:
        mapping = PROBLEMS.get(kind) or PROBLEMS.get(f"{kind.__module__}.{kind.__qualname__}")
        if mapping is not None:
            return mapping(error)
    return None
