"""Lambda `signer_page`: the One-Shot signing page (docs/signer-page.md), public, the link's token as credential.

Routes (`signbridge.api_routes.ROUTES`, function `signer_page`): the page itself (`GET /sign/{token}`, one HTML
document, the same for every link), its script and style (`GET /sign-assets/{asset}`), and the JSON endpoints the
script calls under the same token: `GET …/state`, `POST …/accept`, `POST …/otp`, `POST …/otp/resend`. Each endpoint
parses, calls one use case of `signbridge.workflow.signer_page` and answers; errors are problem+json from the one
table (`signbridge.handlers.problems`).

Every answer carries strict headers (`SECURITY_HEADERS`): a CSP with no inline script or style, no framing, no
referrer (the token is in the URL), no caching, no MIME sniffing. The token never reaches a log line: the log records
the route's template (`GET /sign/{token}/state`), the status and the correlation id; problems name the route's
template as their `instance`.
"""

from __future__ import annotations

import base64
import binascii
import json
import traceback
from functools import lru_cache
from importlib.resources import files
from typing import Any, Final, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from signbridge import telemetry
from signbridge.domain.json_limits import JsonLimitError, check_json_limits
from signbridge.domain.oneshot import OTP_CODE_PATTERN
from signbridge.handlers.problems import (
    INTERNAL_ERROR,
    PROBLEM_CONTENT_TYPE,
    VALIDATION,
    ProblemAnswer,
    UnsupportedMediaTypeError,
    problem_for,
)
from signbridge.handlers.signer_page.views import page_state
from signbridge.observability import API_RESPONSES
from signbridge.wiring import get_services
from signbridge.workflow import signer_page
from signbridge.workflow.errors import PayloadTooLargeError, SigningLinkInvalidError, WorkflowError

logger = Logger()
_Model = TypeVar("_Model", bound=BaseModel)

MAX_BODY_BYTES: Final = 1024
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Strict-Transport-Security": "max-age=31536000",
}
ASSETS: Final = {
    "page.js": "application/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}
HTML_CONTENT_TYPE: Final = "text/html; charset=utf-8"
JSON_CONTENT_TYPE: Final = "application/json"


class AcceptBody(BaseModel):
    """`POST /sign/{token}/accept`: the signer's explicit acceptance of the One-Shot service contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accepted: bool = Field(description="Must be true: the signer ticked the acceptance and pressed the button.")


class CodeBody(BaseModel):
    """`POST /sign/{token}/otp`: the SMS code, as the API's `POST …/otp` takes it (`OTP_CODE_PATTERN`). Its own model
    so this function does not import the api function's package."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(repr=False, pattern=OTP_CODE_PATTERN, description="The code from the SMS: 4 to 8 digits.")


@lru_cache(maxsize=4)
def asset(name: str) -> str:
    return files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _answer(status: int, body: str, content_type: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {**SECURITY_HEADERS, "Content-Type": content_type, **(extra or {})},
        "body": body,
        "isBase64Encoded": False,
    }


def _problem(event: dict[str, Any], problem: ProblemAnswer) -> dict[str, Any]:
    context = event.get("requestContext") or {}
    # The route's template, never the path: the path carries the token.
    instance = str(event.get("routeKey", "")).partition(" ")[2] or None
    body = problem.json(instance=instance, correlation_id=context.get("requestId"))
    return _answer(problem.status, body, PROBLEM_CONTENT_TYPE, problem.headers)


def _json_body(event: dict[str, Any]) -> Any:
    """The JSON body of a POST: at most `MAX_BODY_BYTES`, `application/json`, within the JSON limits."""
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != JSON_CONTENT_TYPE:
        raise UnsupportedMediaTypeError(media_type or "(none)")
    raw = event.get("body") or ""
    try:
        data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    except binascii.Error:
        raise JsonLimitError("the body is not valid base64") from None
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"the body may have at most {MAX_BODY_BYTES} bytes")
    check_json_limits(data)
    try:
        return json.loads(data)
    except ValueError:
        raise _invalid("(body)", "the body is not valid JSON") from None


class _InvalidBodyError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.answer = VALIDATION.answer(
            f"{field}: {message}", errors=[{"field": field, "in": "body", "message": message, "type": "invalid"}]
        )


def _invalid(field: str, message: str) -> _InvalidBodyError:
    return _InvalidBodyError(field, message)


def _parsed(model: type[_Model], data: Any) -> _Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_input=False)[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or "(body)"
        raise _invalid(field, str(first.get("msg", "not valid"))) from None


def _route(event: dict[str, Any]) -> dict[str, Any]:
    route = str(event.get("routeKey", ""))
    parameters = event.get("pathParameters") or {}
    context = event.get("requestContext") or {}
    correlation_id = str(context.get("requestId", ""))
    if route == "GET /sign-assets/{asset}":
        name = str(parameters.get("asset", ""))
        if name not in ASSETS:
            raise SigningLinkInvalidError("no such asset")
        return _answer(200, asset(name), ASSETS[name])
    if route == "GET /sign/{token}":
        return _answer(200, asset("page.html"), HTML_CONTENT_TYPE)
    token = str(parameters.get("token", ""))
    services = get_services()
    if route == "GET /sign/{token}/state":
        access = signer_page.open_link(services, token)
    elif route == "POST /sign/{token}/accept":
        body = _parsed(AcceptBody, _json_body(event))
        if not body.accepted:
            raise _invalid("accepted", "must be true to accept the contract")
        http = context.get("http") or {}
        access = signer_page.accept_contract(
            services,
            token,
            ip=str(http.get("sourceIp", "")),
            user_agent=str(http.get("userAgent", "")),
            correlation_id=correlation_id,
        )
    elif route == "POST /sign/{token}/otp":
        code = _parsed(CodeBody, _json_body(event)).code
        access = signer_page.submit_code(services, token, code, correlation_id=correlation_id)
    elif route == "POST /sign/{token}/otp/resend":
        signer_page.resend_code(services, token, correlation_id=correlation_id)
        access = signer_page.open_link(services, token)
    else:
        raise SigningLinkInvalidError("no such page")
    return _answer(200, page_state(services, access).model_dump_json(), JSON_CONTENT_TYPE)


def _unexpected(error: Exception) -> ProblemAnswer:
    ours = isinstance(error, WorkflowError)
    logger.error(
        "unhandled error",
        extra={
            "error_type": type(error).__qualname__,
            "error_message": str(error) if ours else None,
            "traceback": "".join(traceback.format_tb(error.__traceback__)),
        },
    )
    return INTERNAL_ERROR.answer("something went wrong on our side; quote the correlation_id")


# log_event stays off: the event's path carries the token.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        response = _route(event)
    except _InvalidBodyError as error:
        response = _problem(event, error.answer)
    except Exception as error:  # every error becomes a problem answer; an unknown one a 500
        response = _problem(event, problem_for(error) or _unexpected(error))
    status = int(response["statusCode"])
    logger.info("answered", extra={"route": event.get("routeKey"), "status": status})
    telemetry.count(API_RESPONSES, status_class=f"{status // 100}xx")
    return response
