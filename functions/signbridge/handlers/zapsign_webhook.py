"""Lambda `zapsign_webhook`: `POST /webhooks/zapsign`, ZapSign's webhook (contracts/zapsign.md §4).

Thin: parse the HTTP API event, hand the headers and the raw body to `workflow.webhooks.accept_zapsign_webhook`, map
its outcome to HTTP (exactly 200 with a tiny JSON body, or an `application/problem+json` error). The headers carry the
shared secret and the body personal data, so neither is logged (`log_event=False`) nor traced (no response capture).
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
from signbridge.workflow.webhooks import WebhookOutcome, accept_zapsign_webhook

logger = Logger()
tracer = Tracer()

PROBLEM_TYPE_BASE: Final = "https://signbridge.dev/problems/"  # the API's problem types (handlers/api.py)
PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
TITLES: Final = {
    "unauthorized": "Missing or wrong webhook secret",
    "malformed-webhook": "The webhook body is not a JSON object",
    "payload-too-large": "The body is too large",
}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_source(data_class=APIGatewayProxyEventV2)
def handler(event: APIGatewayProxyEventV2, context: LambdaContext) -> dict[str, Any]:
    correlation_id = event.request_context.request_id or context.aws_request_id
    outcome = accept_zapsign_webhook(
        get_services(),
        event.headers or {},
        _raw_body(event),
        _received_at(event),
        correlation_id=correlation_id,
    )
    logger.info("answered", extra={"status": outcome.status, "enqueued": outcome.enqueued})
    telemetry.count(observability.WEBHOOKS_RECEIVED, provider="zapsign")
    return _response(outcome, correlation_id)


def _raw_body(event: APIGatewayProxyEventV2) -> bytes:
    """The body exactly as ZapSign sent it (its sha256 names the stored object and deduplicates the hint)."""
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")


def _received_at(event: APIGatewayProxyEventV2) -> datetime:
    epoch_ms = event.request_context.time_epoch
    return datetime.fromtimestamp(epoch_ms / 1000, UTC) if epoch_ms else datetime.now(UTC)


def _response(outcome: WebhookOutcome, correlation_id: str) -> dict[str, Any]:
    if outcome.status < 400:
        # ZapSign counts exactly 200 as delivered (§4.1); the body is for people looking at its webhook logs.
        return {
            "statusCode": 200,
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
