"""Lambda `zapsign_webhook`: `POST /webhooks/zapsign`, ZapSign's webhook (contracts/zapsign.md §4).

Thin: parse the HTTP API event, hand the headers and the raw body to `workflow.webhooks.accept_zapsign_webhook`, map
its outcome to HTTP (exactly 200 with a tiny JSON body, or an `application/problem+json` error). The headers carry the
shared secret and the body personal data, so neither is logged (`log_event=False`) nor traced (no response capture).
"""

from __future__ import annotations

from typing import Any, Final

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from signbridge import observability, telemetry
from signbridge.handlers.http import raw_body, received_at, webhook_response
from signbridge.wiring import get_services
from signbridge.workflow.webhooks import accept_zapsign_webhook

logger = Logger()
tracer = Tracer()

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
        raw_body(event),
        received_at(event),
        correlation_id=correlation_id,
    )
    logger.info("answered", extra={"status": outcome.status, "enqueued": outcome.enqueued})
    telemetry.count(observability.WEBHOOKS_RECEIVED, provider="zapsign")
    return webhook_response(outcome, correlation_id, TITLES)
