"""Lambda `oneshot_webhook`: `POST /webhooks/oneshot/{secret}`, the One-Shot Optimizer's status-change callback.

Thin: parse the HTTP API event, hand the path secret and the raw body to `workflow.webhooks.accept_oneshot_callback`,
map its outcome to HTTP (200, or an `application/problem+json` error). The path carries the secret, so nothing here
logs the path or the event, the tracer records no response, and a problem names no `instance` (the API's access log
leaves the path out too, infra/constructs/api.py).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any, Final

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from signbridge import observability, telemetry
from signbridge.workflow.services import get_services
from signbridge.workflow.webhooks import WebhookOutcome, accept_oneshot_callback

logger = Logger()
tracer = Tracer()

PROBLEM_TYPE_BASE: Final = "https://signbridge.dev/problems/"  # the API's problem types (handlers/api.py)
PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
TITLES: Final = {
    "unauthorized": "Unknown callback address",
    "malformed-callback": "The callback body is not JSON",
    "payload-too-large": "The body is too large",
}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_source(data_class=APIGatewayProxyEventV2)
def handler(event: APIGatewayProxyEventV2, context: LambdaContext) -> dict[str, Any]:
    services = get_services()
    correlation_id = event.request_context.request_id or context.aws_request_id
    outcome = accept_oneshot_callback(
        services,
        (event.path_parameters or {}).get("secret", ""),
        _raw_body(event),
        _received_at(event),
        correlation_id=correlation_id,
    )
    logger.info("answered", extra={"status": outcome.status, "enqueued": outcome.enqueued})
    telemetry.count(observability.WEBHOOKS_RECEIVED, provider="oneshot")
    return _response(outcome, correlation_id)


def _raw_body(event: APIGatewayProxyEventV2) -> bytes:
    """The body exactly as the Optimizer sent it (its sha256 names the stored object and deduplicates the hint)."""
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")


def _received_at(event: APIGatewayProxyEventV2) -> datetime:
    epoch_ms = event.request_context.time_epoch
    return datetime.fromtimestamp(epoch_ms / 1000, UTC) if epoch_ms else datetime.now(UTC)


def _response(outcome: WebhookOutcome, correlation_id: str) -> dict[str, Any]:
    if outcome.status < 400:
        return {
            "statusCode": outcome.status,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"received": True}),
            "isBase64Encoded": False,
        }
    slug = outcome.problem_type or "error"
    problem = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": TITLES.get(slug, "Error"),
        "status": outcome.status,
        "detail": outcome.detail or "",
        "correlation_id": correlation_id,
    }
    return {
        "statusCode": outcome.status,
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE},
        "body": json.dumps(problem),
        "isBase64Encoded": False,
    }
