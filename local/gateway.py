"""The local API Gateway: an HTTP API (payload format 2.0) on loopback, with the routes of the template.

Each HTTP request becomes the event API Gateway sends a Lambda proxy integration
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
`version`, `routeKey`, `rawPath`, `rawQueryString`, `cookies`, lower-cased `headers` (repeated headers joined with
commas), `queryStringParameters` (repeated parameters joined with commas), `pathParameters` from the matched route,
`requestContext` and the `body` (base64 when the content type is not text). The handler's answer is mapped back the
way API Gateway maps it: a dict with `statusCode` is a structured response; any other JSON value is a 200
`application/json` body. An unknown route answers 404 `{"message":"Not Found"}`, a failing function 500
`{"message":"Internal Server Error"}`, a function past the 30 s integration timeout 503.

Route selection follows API Gateway's precedence: a route whose segments match literally wins over one with a
`{parameter}`, which wins over a greedy `{proxy+}`; a route for the exact method wins over `ANY`; `$default` last.

Not emulated: authorization (IAM or JWT authorizers are *not* enforced locally; an `AWS_IAM` route gets a local
caller identity in `requestContext.authorizer.iam`, a `JWT` route the claims of the bearer token, decoded and not
verified), throttling, custom domains, mutual TLS, stage variables.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.background import BackgroundServer
from local.runtime import Invocation, PayloadTooLargeError
from local.template.names import AwsIdentity
from local.template.specs import CorsSpec

logger = logging.getLogger("signbridge.local.gateway")

# Path parameters that carry a secret (the One-Shot webhook's `/webhooks/oneshot/{secret}`, the signing page's
# `/sign/{token}`): never logged.
SECRET_PATH_PARAMETERS = frozenset({"secret", "token"})
_REDACTED = "***"
_PATH_IN_TEXT = re.compile(r"/[^\s'\"]*")

DEFAULT_PORT = 8000
INTEGRATION_TIMEOUT_SECONDS = 30
TEXT_CONTENT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
TEXT_CONTENT_SUFFIXES = ("+json", "+xml")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_STATUS_TEXT = {404: "Not Found", 413: "Request Entity Too Large", 500: "Internal Server Error"}

Invoke = Callable[[str, dict[str, Any]], Invocation]
StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class GatewayRoute:
    method: str  # GET, POST, …, ANY; "" for $default
    path: str  # "/v1/requests/{request_id}" or "$default"
    function: str  # the local function name the route invokes
    authorization_type: str = "NONE"
    function_timeout_seconds: int = 30

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


class RouteTable:
    """Finds the route for a request, with API Gateway's precedence."""

    def __init__(self, routes: Sequence[GatewayRoute]) -> None:
        self.routes = list(routes)
        self._default = next((route for route in self.routes if route.path == "$default"), None)
        for route in self.routes:
            if route.path != "$default":
                _check_template(route.path)

    def match(self, method: str, raw_path: str) -> tuple[GatewayRoute, dict[str, str]] | None:
        segments = raw_path.split("/")[1:] if raw_path.startswith("/") else None
        best: tuple[tuple[Any, ...], GatewayRoute, dict[str, str]] | None = None
        if segments is not None:
            for route in self.routes:
                if route.path == "$default" or route.method not in (method, "ANY"):
                    continue
                parameters = _match_segments(route.path.split("/")[1:], segments)
                if parameters is None:
                    continue
                rank = (_specificity(route.path), 0 if route.method == method else 1)
                if best is None or rank < best[0]:
                    best = (rank, route, parameters)
        if best is not None:
            return best[1], best[2]
        if self._default is not None:
            return self._default, {}
        return None

    def redact(self, text: str) -> str:
        """`text` (a request line, an error quoting one) with the values of secret path parameters masked."""
        return _PATH_IN_TEXT.sub(lambda found: self._redact_path(found.group(0)), text)

    def _redact_path(self, target: str) -> str:
        raw_path, separator, query = target.partition("?")
        for route in self.routes:
            if route.path == "$default":
                continue
            parameters = _match_segments(route.path.split("/")[1:], raw_path.split("/")[1:])
            if parameters and SECRET_PATH_PARAMETERS & parameters.keys():
                template = route.path.split("/")
                segments = raw_path.split("/")
                masked = [
                    _REDACTED if part.strip("{}+") in SECRET_PATH_PARAMETERS else segment
                    for part, segment in zip(template, segments, strict=False)
                ]
                if template[-1].endswith("+}"):  # a greedy parameter took the rest of the path
                    masked = masked[: len(template)]
                return "/".join(masked) + separator + query
        return target


def _check_template(path: str) -> None:
    parts = path.split("/")[1:]
    for index, part in enumerate(parts):
        if part.endswith("+}") and index != len(parts) - 1:
            raise ValueError(f"greedy path variable must be last: {path}")


def _specificity(path: str) -> tuple[int, ...]:
    """Per segment: 0 literal, 1 `{parameter}`, 2 `{greedy+}`; compared left to right, lower wins."""
    ranks = []
    for part in path.split("/")[1:]:
        if part.startswith("{") and part.endswith("+}"):
            ranks.append(2)
        elif part.startswith("{") and part.endswith("}"):
            ranks.append(1)
        else:
            ranks.append(0)
    return tuple(ranks)


def _match_segments(template: list[str], segments: list[str]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    for index, part in enumerate(template):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[index:]
            if not rest or rest == [""]:
                return None
            parameters[part[1:-2]] = unquote("/".join(rest))
            return parameters
        if index >= len(segments):
            return None
        segment = segments[index]
        if part.startswith("{") and part.endswith("}"):
            if segment == "":
                return None
            parameters[part[1:-1]] = unquote(segment)
        elif unquote(segment) != part:
            return None
    return parameters if len(segments) == len(template) else None


# -- request -> event ---------------------------------------------------------------------------------------------


def is_text_content_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith(TEXT_CONTENT_TYPES) or media_type.endswith(TEXT_CONTENT_SUFFIXES)


def _request_id() -> str:
    return base64.b64encode(os.urandom(11)).decode()


def _clf_time(epoch: float) -> str:
    moment = time.gmtime(epoch)
    return (
        f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:{time.strftime('%H:%M:%S', moment)} +0000"
    )


def build_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    source_ip: str,
    route: GatewayRoute,
    path_parameters: dict[str, str],
    identity: AwsIdentity,
    api_id: str,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event for one request. `headers` as received (any case, repeats allowed)."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    epoch = time.time() if now is None else now
    domain = merged.get("host", "127.0.0.1")
    request_id = request_id or _request_id()
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-proto", "http")
    if ":" in domain:
        merged.setdefault("x-forwarded-port", domain.rsplit(":", 1)[1])
    merged.setdefault("x-amzn-trace-id", f"Root=1-{int(epoch):08x}-{os.urandom(12).hex()}")
    context: dict[str, Any] = {
        "accountId": identity.account_id,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": merged.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": _clf_time(epoch),
        "timeEpoch": int(epoch * 1000),
    }
    authorizer = _local_authorizer(route.authorization_type, merged.get("authorization", ""), identity)
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        if is_text_content_type(merged.get("content-type", "")):
            event["body"] = body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def _local_authorizer(kind: str, authorization: str, identity: AwsIdentity) -> dict[str, Any] | None:
    if kind == "AWS_IAM":
        return {
            "iam": {
                "accessKey": "LOCALACCESSKEY",
                "accountId": identity.account_id,
                "callerId": "LOCALCALLER",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": f"arn:{identity.partition}:iam::{identity.account_id}:user/local-developer",
                "userId": "LOCALCALLER",
            }
        }
    if kind == "JWT":
        claims: dict[str, Any] = {}
        token = authorization.removeprefix("Bearer ").strip()
        if token.count(".") == 2:
            payload = token.split(".")[1]
            try:
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            except ValueError:
                claims = {}
        scope = claims.get("scope") if isinstance(claims, dict) else None
        return {"jwt": {"claims": claims, "scopes": scope.split() if isinstance(scope, str) else None}}
    return None


# -- result -> response -------------------------------------------------------------------------------------------


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _message(status: int, message: str | None = None) -> GatewayResponse:
    body = json.dumps({"message": message or _STATUS_TEXT.get(status, "Error")}).encode()
    return GatewayResponse(status, [("Content-Type", "application/json")], body)


def build_response(result: Any) -> GatewayResponse:
    """Map a handler's result to HTTP as API Gateway does for payload format 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Any other JSON value: 200, application/json, the value itself as the body.
        return GatewayResponse(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        logger.error("malformed Lambda proxy response: statusCode %r", result.get("statusCode"))
        return _message(500)
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        logger.error("malformed Lambda proxy response: body must be a string, got %s", type(body).__name__)
        return _message(500)
    raw = (body or "").encode()
    if result.get("isBase64Encoded") and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            logger.error("malformed Lambda proxy response: isBase64Encoded with a body that is not base64")
            return _message(500)
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or ()]
    return GatewayResponse(status, headers, raw)


# -- the server ---------------------------------------------------------------------------------------------------


class ApiGateway:
    """The HTTP server. `open()` binds the port (so the URL is known), `serve()` starts answering."""

    def __init__(
        self,
        routes: Sequence[GatewayRoute],
        invoke: Invoke,
        *,
        identity: AwsIdentity | None = None,
        api_id: str = "local",
        cors: CorsSpec | None = None,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
    ) -> None:
        self.table = RouteTable(routes)
        self.invoke = invoke
        self.identity = identity or AwsIdentity()
        self.api_id = api_id
        self.cors = cors
        self.host = host
        self.port = port
        self._server = BackgroundServer.wsgi(
            self._wsgi,
            host=host,
            port=port,
            name="api-gateway",
            logger=logger,
            level=logging.INFO,
            redact=self.table.redact,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def open(self) -> ApiGateway:
        """Bind the port (known from then on), without serving yet."""
        self.port = self._server.bind().port
        return self

    def serve(self) -> ApiGateway:
        self.port = self._server.start().port
        return self

    def stop(self) -> None:
        self._server.stop()

    def _wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        response = self.handle(environ)
        reason = _STATUS_TEXT.get(response.status, "")
        headers = [*response.headers, ("apigw-requestid", environ.get("signbridge.request_id", ""))]
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {reason}".strip(), headers)
        return [response.body]

    def handle(self, environ: dict[str, Any]) -> GatewayResponse:
        method = str(environ["REQUEST_METHOD"]).upper()
        raw_uri = str(environ.get("RAW_URI") or environ.get("PATH_INFO") or "/")
        raw_path, _, raw_query = raw_uri.partition("?")
        headers = _headers(environ)
        request_id = _request_id()
        environ["signbridge.request_id"] = request_id
        origin = next((value for name, value in headers if name.lower() == "origin"), None)
        if self.cors is not None and method == "OPTIONS" and origin is not None:
            preflight = self._preflight(origin, headers)
            if preflight is not None:
                return preflight
        matched = self.table.match(method, raw_path)
        if matched is None:
            return self._with_cors(_message(404), origin)
        route, parameters = matched
        body = _read_body(environ)
        event = build_event(
            method=method,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=headers,
            body=body,
            source_ip=str(environ.get("REMOTE_ADDR", "127.0.0.1")),
            route=route,
            path_parameters=parameters,
            identity=self.identity,
            api_id=self.api_id,
            request_id=request_id,
        )
        try:
            invocation = self.invoke(route.function, event)
        except PayloadTooLargeError:
            return self._with_cors(_message(413), origin)
        if invocation.outcome == "timeout" and route.function_timeout_seconds >= INTEGRATION_TIMEOUT_SECONDS:
            return self._with_cors(_message(503, "Service Unavailable"), origin)
        if not invocation.succeeded:
            return self._with_cors(_message(500), origin)
        return self._with_cors(build_response(invocation.result), origin)

    # -- CORS (only when the template's API has a CorsConfiguration) -----------------------------------------------

    def _origin_allowed(self, origin: str) -> bool:
        assert self.cors is not None
        return "*" in self.cors.allow_origins or origin in self.cors.allow_origins

    def _preflight(self, origin: str, headers: Sequence[tuple[str, str]]) -> GatewayResponse | None:
        assert self.cors is not None
        requested = next((v for n, v in headers if n.lower() == "access-control-request-method"), None)
        if requested is None:
            return None
        if not self._origin_allowed(origin):
            return GatewayResponse(204, [], b"")
        allowed = [("Access-Control-Allow-Origin", origin)]
        methods = self.cors.allow_methods or ("*",)
        allowed.append(("Access-Control-Allow-Methods", ",".join(methods)))
        if self.cors.allow_headers:
            allowed.append(("Access-Control-Allow-Headers", ",".join(self.cors.allow_headers)))
        if self.cors.max_age is not None:
            allowed.append(("Access-Control-Max-Age", str(self.cors.max_age)))
        if self.cors.allow_credentials:
            allowed.append(("Access-Control-Allow-Credentials", "true"))
        return GatewayResponse(204, allowed, b"")

    def _with_cors(self, response: GatewayResponse, origin: str | None) -> GatewayResponse:
        if self.cors is None or origin is None or not self._origin_allowed(origin):
            return response
        response.headers.append(("Access-Control-Allow-Origin", origin))
        if self.cors.expose_headers:
            response.headers.append(("Access-Control-Expose-Headers", ",".join(self.cors.expose_headers)))
        if self.cors.allow_credentials:
            response.headers.append(("Access-Control-Allow-Credentials", "true"))
        return response


def _headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request headers from a WSGI environ (the server already joined repeated ones with commas)."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), str(value)))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").lower(), str(value)))
    return headers


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return bytes(stream.read(length)) if length > 0 else b""
