"""Lambda `api`: the client-facing HTTP API (`/v1/...`), Powertools' event handler with Pydantic validation.

Each route parses (Powertools validates the body, path, query and headers against the annotations), calls one use
case of `signbridge.workflow.signature_requests` / `signbridge.workflow.signing`, and maps the result to a view of
`signbridge.handlers.api.views`. The routes are exactly the `api` routes of `signbridge.api_routes.ROUTES` (a test
checks them against the resolver and the OpenAPI document served at `/v1/openapi.json`). This module is the Lambda
entry point and holds the routes (they register on its `app`); the response bodies are `views.py` beside it.

Every error is RFC 9457 `application/problem+json`, built by one function, `api_problem`, from the exception: the
table of `signbridge.handlers.problems` maps the workflow's, storage's, idempotency and validation errors to their
status, type and title; anything else is a 500 with a generic detail and the correlation id (the API Gateway request
id), logged with a traceback that carries no exception message (messages of foreign exceptions may quote personal
data).

Logs carry the route, the status and the request id, never a body: bodies hold names, emails, phone numbers, ID
numbers, ID images and SMS codes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import traceback
from functools import lru_cache
from importlib.resources import files
from typing import Annotated, Any, Final

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer, SecurityScheme, Server
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from signbridge import __version__, api_routes, observability, telemetry
from signbridge.config import ApiAuth, get_settings
from signbridge.domain.errors import StoreError
from signbridge.domain.json_limits import JsonLimitError, check_json_limits
from signbridge.domain.models import MAX_DOCUMENTS, MAX_SIGNERS, RequestStatus
from signbridge.domain.validation import MAX_EXTERNAL_ID_CHARS
from signbridge.handlers.api.bodies import CancelRequestBody, CreateRequestBody, SubmitOtpBody
from signbridge.handlers.api.views import (
    Accepted,
    CreatedRequestView,
    EvidencePackageView,
    LinkSigner,
    Problem,
    RequestList,
    RequestView,
    created_request_view,
    evidence_view,
    request_summary,
    request_view,
)
from signbridge.handlers.problems import (
    IDEMPOTENCY_KEY_HEADER,
    INTERNAL_ERROR,
    PROBLEM_CONTENT_TYPE,
    NoRouteError,
    ProblemAnswer,
    UnsupportedMediaTypeError,
    problem_for,
)
from signbridge.observability import METRICS_NAMESPACE, SERVICE_NAME
from signbridge.telemetry import Tracer
from signbridge.wiring import get_services
from signbridge.workflow import evidence, signature_requests, signer_page, signing
from signbridge.workflow.errors import PayloadTooLargeError, WorkflowError
from signbridge.workflow.services import Services

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)

IDEMPOTENCY_KEY_PATTERN: Final = r"^[\x21-\x7e]{1,128}$"  # visible ASCII, as RFC 9110 field values allow
REPLAYED_HEADER: Final = "Idempotent-Replayed"
# The JSON around the base64 documents (signers, names, metadata) gets this much room above the inline cap.
JSON_ENVELOPE_ALLOWANCE: Final = 256 * 1024
MAX_LIST_LIMIT: Final = 100
REQUEST_ID_MAX_CHARS: Final = 64

REQUESTS_CREATED: Final = "RequestsCreated"  # dimension workflow (the other names: signbridge.observability)

app = APIGatewayHttpResolver(enable_validation=True)

_API_ROUTES: Final = frozenset(
    (route.method, route.path) for route in api_routes.ROUTES if route.function == api_routes.API
)
_PARAMETER = re.compile(r"\{([a-z_]+)\}")


def _route(method: str, path: str) -> str:
    """The Powertools rule for an API Gateway route of `api_routes.ROUTES` (`{name}` → `<name>`); refuses, at import,
    a route the API construct does not create."""
    if (method, path) not in _API_ROUTES:
        raise LookupError(f"{method} {path} is not an api route of signbridge.api_routes.ROUTES")
    return _PARAMETER.sub(r"<\1>", path)


# ------------------------------------------------------------------------------------------------ problems


_ROUTE_PATTERNS: Final = tuple(
    (method, re.compile(_PARAMETER.sub(r"[^/]+", path))) for method, path in sorted(_API_ROUTES)
)


def api_problem(error: Exception) -> ProblemAnswer:
    """The problem `error` is (`signbridge.handlers.problems`); an exception the table does not know is a 500."""
    if isinstance(error, NotFoundError):
        error = _no_route()
    problem = problem_for(error)
    if problem is not None:
        return problem
    _log_unexpected(error)
    return INTERNAL_ERROR.answer("something went wrong on our side; quote the correlation_id")


def _no_route() -> NoRouteError:
    method = app.current_event.http_method.upper()
    path = app.current_event.path
    allowed = sorted({m for m, pattern in _ROUTE_PATTERNS if pattern.fullmatch(path)})
    return NoRouteError(method, path, allowed)


def _log_unexpected(error: Exception) -> None:
    # The frames and the type, not the message: a foreign exception's message (a Pydantic error, a botocore
    # error) can quote the values it failed on. Our own errors' messages name identifiers only.
    ours = isinstance(error, WorkflowError | StoreError)
    frames = "".join(traceback.format_tb(error.__traceback__))
    logger.error(
        "unhandled error",
        extra={
            "error_type": type(error).__qualname__,
            "error_message": str(error) if ours else None,
            "traceback": frames,
        },
    )


@app.exception_handler(Exception)
def _handle_error(error: Exception) -> Response[str]:
    problem = api_problem(error)
    event = app.current_event
    return Response(
        status_code=problem.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=problem.json(instance=event.path, correlation_id=event.request_context.request_id),
        headers=problem.headers,
    )


# ------------------------------------------------------------------------------------------------ routes


def _problems(*statuses: int) -> dict[int, Any]:
    return {
        status: {
            "description": f"A problem ({status}); see `type`",
            "content": {PROBLEM_CONTENT_TYPE: {"model": Problem}},
        }
        for status in statuses
    }


def _ok(status: int, description: str, model: type[Any]) -> dict[int, Any]:
    return {status: {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}}


def _with_headers(responses: dict[int, Any], status: int, headers: dict[str, Any]) -> dict[int, Any]:
    """`responses` with `headers` (OpenAPI header objects) documented on the answer `status`."""
    return {**responses, status: {**responses[status], "headers": headers}}


_CREATED_HEADERS: Final = {
    "Location": {
        "description": "The created request's path, `/v1/requests/{request_id}`.",
        "required": True,
        "schema": {"type": "string"},
    },
    REPLAYED_HEADER: {
        "description": "`true` when the answer replays the request an earlier call with the same Idempotency-Key "
        "created; absent otherwise.",
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    },
}
_RETRY_AFTER: Final = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": False,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}


def _correlation_id() -> str:
    return app.current_event.request_context.request_id


def _links(services: Services) -> LinkSigner:
    return LinkSigner(services.files, now=services.clock(), ttl_seconds=services.settings.presign_ttl_seconds)


# Request ids are 32 hex digits; the pattern keeps the document and the check on the same characters (a path parameter
# arrives percent-encoded, so "at most 64 characters" of anything else would not be what the document says).
REQUEST_ID_PATTERN: Final = rf"^[A-Za-z0-9_-]{{1,{REQUEST_ID_MAX_CHARS}}}$"
RequestId = Annotated[
    str,
    Path(min_length=1, max_length=REQUEST_ID_MAX_CHARS, pattern=REQUEST_ID_PATTERN, description="The request id."),
]
SignerIndex = Annotated[int, Path(ge=0, lt=MAX_SIGNERS, description="The signer's index (0 for the first).")]
DocumentIndex = Annotated[
    int, Path(ge=0, lt=MAX_DOCUMENTS, description="The document's index in the request (0 for the first).")
]


@app.post(
    _route("POST", "/v1/requests"),
    summary="Create a signature request",
    description="Inline documents (base64) are stored at once; declared documents get a presigned S3 POST each. "
    "Send an Idempotency-Key to make retries safe.",
    tags=["requests"],
    responses=_with_headers(
        _with_headers(
            {**_ok(201, "Created", CreatedRequestView), **_problems(400, 409, 413, 415, 422, 500)},
            201,
            _CREATED_HEADERS,
        ),
        409,
        _RETRY_AFTER,
    ),
)
def create_request(
    body: Annotated[CreateRequestBody, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_KEY_HEADER.lower(),
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="1 to 128 visible ASCII characters; the same key with the same body answers the same request.",
        ),
    ] = None,
) -> Response[CreatedRequestView]:
    services = get_services()
    created = signature_requests.create_request(
        services, body, idempotency_key=idempotency_key, correlation_id=_correlation_id()
    )
    request = created.aggregate.request
    logger.append_keys(request_id=request.id)
    if not created.replayed:
        _count(REQUESTS_CREATED, workflow=request.workflow.value)
    headers = {"Location": f"/v1/requests/{request.id}"}
    if created.replayed:
        headers[REPLAYED_HEADER] = "true"
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=created_request_view(created.aggregate, _links(services), created.uploads),
        headers=headers,
    )


@app.get(
    _route("GET", "/v1/requests"),
    summary="List requests by external_id or by status",
    tags=["requests"],
    responses={**_ok(200, "A page of requests", RequestList), **_problems(400, 422, 500)},
)
def list_requests(
    external_id: Annotated[
        str | None, Query(min_length=1, max_length=MAX_EXTERNAL_ID_CHARS, description="Your identifier.")
    ] = None,
    status: Annotated[RequestStatus | None, Query(description="Requests in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT, description="Page size.")] = 20,
    cursor: Annotated[str | None, Query(min_length=1, max_length=2048, description="From `next_cursor`.")] = None,
) -> RequestList:
    page = signature_requests.list_requests(
        get_services(), external_id=external_id, status=status, limit=limit, cursor=cursor
    )
    return RequestList(items=[request_summary(item) for item in page.items], next_cursor=page.next_cursor)


@app.get(
    _route("GET", "/v1/requests/{request_id}"),
    summary="Read a request: status, signers, documents with download links, timeline",
    tags=["requests"],
    responses={**_ok(200, "The request", RequestView), **_problems(404, 422, 500)},
)
def get_request(request_id: RequestId) -> RequestView:
    logger.append_keys(request_id=request_id)
    services = get_services()
    aggregate = signature_requests.get_request(services, request_id)
    return request_view(aggregate, _links(services), signer_page.page_urls(services, aggregate))


@app.post(
    _route("POST", "/v1/requests/{request_id}/cancel"),
    summary="Cancel a request",
    description="Cancels at the providers too. Cancelling a cancelled request answers 200; a finished one, 409.",
    tags=["requests"],
    responses={**_ok(200, "The cancelled request", RequestView), **_problems(400, 404, 409, 415, 422, 500)},
)
def cancel_request(request_id: RequestId, body: Annotated[CancelRequestBody | None, Body()] = None) -> RequestView:
    logger.append_keys(request_id=request_id)
    services = get_services()
    cancellation = signature_requests.cancel_request(
        services, request_id, reason=body.reason if body else None, correlation_id=_correlation_id()
    )
    return request_view(cancellation.aggregate, _links(services))


@app.post(
    _route("POST", "/v1/requests/{request_id}/documents/{document}/upload"),
    summary="Get a new upload link for a declared document (after a rejected upload, or an expired link)",
    description="While the request is a `draft`: a `rejected` document goes back to `awaiting_upload` (recorded on the "
    "timeline) and the answer carries a fresh presigned POST for it in `uploads`; a document still awaited just gets "
    "a new link, so calling again is safe. 409 upload-closed once the request has left `draft`, or when the "
    "document's upload was accepted.",
    tags=["requests"],
    responses={**_ok(200, "The request, and the new upload link", CreatedRequestView), **_problems(404, 409, 422, 500)},
)
def reopen_upload(request_id: RequestId, document: DocumentIndex) -> CreatedRequestView:
    logger.append_keys(request_id=request_id, document=document)
    services = get_services()
    reopened = signature_requests.reopen_upload(services, request_id, document, correlation_id=_correlation_id())
    return created_request_view(reopened.aggregate, _links(services), reopened.uploads)


@app.post(
    _route("POST", "/v1/requests/{request_id}/signers/{signer}/otp"),
    summary="Submit the SMS code a One-Shot signer received; signs at once",
    description="A wrong code answers 422 (otp-rejected): the signer may try again, up to "
    "`SIGNBRIDGE_OTP_MAX_FAILURES` wrong codes (5 by default); then the signer is locked (423 signer-locked) until "
    "an operator unlocks them (`…/otp/unlock`).",
    tags=["signing"],
    responses=_with_headers(
        {**_ok(200, "The request after signing", RequestView), **_problems(400, 404, 409, 415, 422, 423, 500, 503)},
        503,
        _RETRY_AFTER,
    ),
)
def submit_otp(request_id: RequestId, signer: SignerIndex, body: Annotated[SubmitOtpBody, Body()]) -> RequestView:
    logger.append_keys(request_id=request_id, signer=signer)
    services = get_services()
    aggregate = signing.submit_otp(services, request_id, signer, body.code, correlation_id=_correlation_id())
    return request_view(aggregate, _links(services))


@app.post(
    _route("POST", "/v1/requests/{request_id}/signers/{signer}/otp/resend"),
    summary="Send the One-Shot signer another SMS code",
    description="The Optimizer sends at most one SMS a minute: a resend too soon answers 429 with Retry-After.",
    tags=["signing"],
    responses=_with_headers(
        {**_ok(202, "Accepted", Accepted), **_problems(404, 409, 422, 429, 500)}, 429, _RETRY_AFTER
    ),
)
def resend_otp(request_id: RequestId, signer: SignerIndex) -> Response[Accepted]:
    logger.append_keys(request_id=request_id, signer=signer)
    signing.resend_otp(get_services(), request_id, signer, correlation_id=_correlation_id())
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=Accepted())


@app.post(
    _route("POST", "/v1/requests/{request_id}/signers/{signer}/otp/unlock"),
    summary="Unlock a One-Shot signer locked after too many wrong SMS codes (operators)",
    description="After `SIGNBRIDGE_OTP_MAX_FAILURES` wrong codes (5 by default) a code answers 423 signer-locked and "
    "the Optimizer is not called; this sets the count back to 0. A signer who is not locked answers 409.",
    tags=["signing"],
    responses={**_ok(200, "The request, the signer unlocked", RequestView), **_problems(404, 409, 422, 500)},
)
def unlock_otp(request_id: RequestId, signer: SignerIndex) -> RequestView:
    logger.append_keys(request_id=request_id, signer=signer)
    services = get_services()
    aggregate = signing.unlock_otp(
        services, request_id, signer, operator=f"api call {_correlation_id()}", correlation_id=_correlation_id()
    )
    return request_view(aggregate, _links(services))


@app.get(
    _route("GET", "/v1/requests/{request_id}/evidence"),
    summary="The request's sealed evidence package: a short-lived link to the ZIP",
    description="A completed request's evidence package (the signed PDFs, the originals, the One-Shot contracts, "
    "the provider webhooks, the validation reports, the timeline and a KMS-sealed manifest; docs/evidence.md). 202 "
    "with Retry-After while it is being built; 409 for a request that is not completed.",
    tags=["evidence"],
    responses=_with_headers(
        {
            **_ok(200, "The package", EvidencePackageView),
            **_ok(202, "Being built: ask again after Retry-After", Accepted),
            **_problems(404, 409, 422, 500),
        },
        202,
        _RETRY_AFTER,
    ),
)
def get_evidence(request_id: RequestId) -> Response[EvidencePackageView | Accepted]:
    logger.append_keys(request_id=request_id)
    services = get_services()
    status = evidence.evidence_package(services, request_id)
    if not status.ready:
        return Response(
            status_code=202,
            content_type=content_types.APPLICATION_JSON,
            body=Accepted(),
            headers={"Retry-After": str(status.retry_after_seconds)},
        )
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=evidence_view(status.request, _links(services)),
    )


@app.post(
    _route("POST", "/v1/requests/{request_id}/evidence"),
    summary="Build the request's evidence package again",
    description="Queues a rebuild of a completed request's package (the same key; the bucket keeps the older "
    "version). `GET …/evidence` answers 202 until it is built.",
    tags=["evidence"],
    responses=_with_headers({**_ok(202, "Accepted", Accepted), **_problems(404, 409, 422, 500)}, 202, _RETRY_AFTER),
)
def rebuild_evidence(request_id: RequestId) -> Response[Accepted]:
    logger.append_keys(request_id=request_id)
    evidence.rebuild_evidence(get_services(), request_id, correlation_id=_correlation_id())
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=Accepted(),
        headers={"Retry-After": str(evidence.RETRY_AFTER_SECONDS)},
    )


@app.get(
    _route("GET", "/v1/openapi.json"),
    summary="This API's OpenAPI document",
    tags=["meta"],
    responses={200: {"description": "OpenAPI 3 document"}, **_problems(500)},
)
def openapi_document() -> Response[str]:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=openapi_json(get_settings().api_base_url, get_settings().api_auth),
    )


@app.get(api_routes.LOCAL_DOCS_ROUTE.path, include_in_schema=False)
def docs_page() -> Response[str]:
    """Swagger UI over the document above, its script and style inlined from Powertools' copy (no CDN). Only the
    local stack routes `GET /v1/docs` here (`signbridge.api_routes.LOCAL_DOCS_ROUTE`)."""
    settings = get_settings()
    return Response(
        status_code=200,
        content_type=content_types.TEXT_HTML,
        body=docs_html(settings.api_base_url, settings.api_auth),
    )


@lru_cache(maxsize=4)
def docs_html(api_base_url: str, api_auth: ApiAuth = "iam") -> str:
    assets = files("aws_lambda_powertools.event_handler.openapi.swagger_ui")
    spec = openapi_json(api_base_url, api_auth).replace("</", "<\\/")  # the JSON cannot close the <script> it sits in
    return generate_swagger_html(
        spec=spec,
        swagger_js=assets.joinpath("swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=assets.joinpath("swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )


_SIGV4_SCHEME: Final = APIKey(
    name="Authorization",
    in_=APIKeyIn.header,
    description="IAM authorization: every call is signed with AWS Signature Version 4 for the service `execute-api` "
    "(the `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header, with `X-Amz-Date` and, "
    "for temporary credentials, `X-Amz-Security-Token`), e.g. with awscurl or botocore's SigV4Auth. Not a static key: "
    "the caller's IAM identity needs `execute-api:Invoke` on the route. (OpenAPI has no SigV4 scheme: it is described "
    "as the `Authorization` header it is.)",
)
_JWT_SCHEME: Final = HTTPBearer(
    bearerFormat="JWT",
    description="A JWT from the stage's issuer (`jwt_issuer`), for one of its audiences (`jwt_audience`), as "
    "`Authorization: Bearer <token>`; API Gateway's JWT authorizer checks its signature, issuer, audience and expiry.",
)
# The one scheme this stage's API Gateway applies to every `/v1` route: its name in the document, the scheme, and the
# sentence of the document's description that says it.
_SECURITY: Final[dict[str, tuple[str, SecurityScheme, str]]] = {
    "iam": ("sigv4", _SIGV4_SCHEME, "Calls are signed with AWS Signature Version 4 (IAM)."),
    "jwt": ("jwt", _JWT_SCHEME, "Calls carry a JWT bearer token (`Authorization: Bearer …`) from the stage's issuer."),
}


@lru_cache(maxsize=4)
def openapi_json(api_base_url: str, api_auth: ApiAuth = "iam") -> str:
    """The OpenAPI document of the routes above, for the API's public base URL and the stage's authorization
    (`SIGNBRIDGE_API_AUTH`: SigV4 or a JWT bearer; cached: the routes are fixed)."""
    servers = [Server(url=api_base_url.rstrip("/"))] if api_base_url else None
    scheme_name, scheme, how = _SECURITY[api_auth]
    document = app.get_openapi_json_schema(
        title="SignBridge",
        version=__version__,
        description=f"Electronic signatures through ZapSign and Uanataca One-Shot. Errors are RFC 9457 "
        f"application/problem+json. {how}",
        servers=servers,
        security_schemes={scheme_name: scheme},
        security=[{scheme_name: []}],
    )
    return json.dumps(_without_unused_schemas(_without_default_422(json.loads(document))), indent=2)


_POWERTOOLS_422: Final = "#/components/schemas/HTTPValidationError"


def _without_default_422(document: dict[str, Any]) -> dict[str, Any]:
    """`document` without the 422 Powertools adds by default to a route that declares none (here only the document's
    own route, which takes no input): every 422 this API answers is a problem, documented with the route."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if _POWERTOOLS_422 in json.dumps(responses.get("422", {})):
                del responses["422"]
    return document


_SCHEMA_REF = re.compile(r'"#/components/schemas/([^"]+)"')


def _without_unused_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """`document` without the component schemas nothing refers to (Powertools adds `ResponseValidationError` for
    the response validation this API does not turn on)."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    outside = json.dumps({**document, "components": {**document.get("components", {}), "schemas": {}}})
    used: set[str] = set()
    pending = set(_SCHEMA_REF.findall(outside))
    while pending:
        name = pending.pop()
        used.add(name)
        pending |= set(_SCHEMA_REF.findall(json.dumps(schemas.get(name, {})))) - used
    if schemas:
        document["components"]["schemas"] = {name: schema for name, schema in schemas.items() if name in used}
    return document


# ------------------------------------------------------------------------------------------------ entry point


def _count(name: str, **dimensions: str) -> None:
    telemetry.count(name, **dimensions)


# The routes whose body is JSON (the others take none): their content type and the JSON's shape are checked before
# Powertools parses anything (it would parse form and multipart bodies too, and its JSON parser recurses).
_JSON_BODY_ROUTES: Final = frozenset(
    {
        "POST /v1/requests",
        "POST /v1/requests/{request_id}/cancel",
        "POST /v1/requests/{request_id}/signers/{signer}/otp",
    }
)
_JSON_MEDIA_TYPE: Final = content_types.APPLICATION_JSON


def _refusal_before_parsing(event: dict[str, Any]) -> Exception | None:
    """Why the body of `event` is refused before anything parses it, or None: far beyond the inline cap (413), not
    `application/json` (415), or JSON nested too deep or holding too long a number (400)."""
    route = event.get("routeKey")
    if route not in _JSON_BODY_ROUTES:
        return None
    body = event.get("body") or ""
    if route == "POST /v1/requests" and _too_large_for_create(event, body):
        limit = get_settings().max_inline_bytes
        return PayloadTooLargeError(
            f"the body is larger than {limit} bytes of inline content allow; declare large documents for upload"
        )
    if not body:
        return None
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", _JSON_MEDIA_TYPE).split(";", 1)[0].strip().lower()
    if media_type != _JSON_MEDIA_TYPE:
        return UnsupportedMediaTypeError(media_type)
    return _beyond_json_limits(body, base64_encoded=bool(event.get("isBase64Encoded")))


def _beyond_json_limits(body: str, *, base64_encoded: bool) -> JsonLimitError | None:
    try:
        check_json_limits(base64.b64decode(body) if base64_encoded else body)
    except JsonLimitError as error:
        return error
    except binascii.Error:
        return JsonLimitError("the body is not valid base64")
    return None


def _too_large_for_create(event: dict[str, Any], body: str) -> bool:
    """A create body far beyond the inline cap is refused before anything parses it (base64 inflates by 4/3)."""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body)
    return size > get_settings().max_inline_bytes * 4 // 3 + JSON_ENVELOPE_ALLOWANCE


def _refused_answer(event: dict[str, Any], error: Exception) -> dict[str, Any]:
    problem = api_problem(error)
    context = event.get("requestContext") or {}
    return {
        "statusCode": problem.status,
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE},
        "body": problem.json(instance=event.get("rawPath"), correlation_id=context.get("requestId")),
        "isBase64Encoded": False,
    }


# log_event stays off whatever POWERTOOLS_LOGGER_LOG_EVENT says, and the tracer does not record responses: both
# would carry personal data.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refusal = _refusal_before_parsing(event)
    response = app.resolve(event, context) if refusal is None else _refused_answer(event, refusal)
    status = int(response.get("statusCode", 500))
    logger.info("answered", extra={"route": event.get("routeKey"), "status": status})
    _count(observability.API_RESPONSES, status_class=f"{status // 100}xx")
    return response
