"""Lambda `oneshot_webhook`: `POST /webhooks/oneshot/{secret}`, the One-Shot Optimizer's status-change callback.

Thin: parse the HTTP API event, hand the path secret and the raw body to `workflow.webhooks.accept_oneshot_callback`,
map its outcome to HTTP (200, or an `application/problem+json` error). The path carries the secret, so nothing here
logs the path or the event, the tracer records no response, and a problem names no `instance` (the API's access log
leaves the path out too, infra/constructs/api.py).
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
from signbridge.workflow.webhooks import accept_oneshot_callback

logger = Logger()
tracer = Tracer()

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
        raw_body(event),
        received_at(event),
        correlation_id=correlation_id,
    )
    logger.info("answered", extra={"status": outcome.status, "enqueued": outcome.enqueued})
    telemetry.count(observability.WEBHOOKS_RECEIVED, provider="oneshot")
    return webhook_response(outcome, correlation_id, TITLES)
