"""Lambda `oneshot_webhook`: `POST /webhooks/oneshot/{secret}`, the One-Shot Optimizer's status-change callback.

Thin: hand the path secret and the raw body to `workflow.webhooks.accept_oneshot_callback` and answer its outcome
(`handlers.http.answer_webhook`: 200, or an `application/problem+json` error). The path carries the secret, so
nothing here logs the path or the event, the tracer records no response, and a problem names no `instance` (the
API's access log leaves the path out too, infra/constructs/api.py).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from signbridge.handlers.http import WebhookCall, answer_webhook
from signbridge.telemetry import Tracer
from signbridge.wiring import get_services
from signbridge.workflow.services import Services
from signbridge.workflow.webhooks import ONESHOT_PROVIDER, WebhookOutcome, accept_oneshot_callback

logger = Logger()
tracer = Tracer()


def _accept(services: Services, call: WebhookCall, correlation_id: str) -> WebhookOutcome:
    secret = call.path_parameters.get("secret", "")
    return accept_oneshot_callback(
        services, secret, call.body, call.received_at, correlation_id=correlation_id, query=call.query_parameters
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return answer_webhook(event, context, get_services(), provider=ONESHOT_PROVIDER, accept=_accept)
