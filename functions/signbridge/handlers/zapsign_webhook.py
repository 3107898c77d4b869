"""Lambda `zapsign_webhook`: `POST /webhooks/zapsign`, ZapSign's webhook (docs/providers/zapsign.md §4).

Thin: hand the headers and the raw body to `workflow.webhooks.accept_zapsign_webhook` and answer its outcome
(`handlers.http.answer_webhook`: exactly 200 with a tiny JSON body, or an `application/problem+json` error). The
headers carry the shared secret and the body personal data, so neither is logged (`log_event=False`) nor traced (no
response capture).
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
from signbridge.workflow.webhooks import ZAPSIGN_PROVIDER, WebhookOutcome, accept_zapsign_webhook

logger = Logger()
tracer = Tracer()


def _accept(services: Services, call: WebhookCall, correlation_id: str) -> WebhookOutcome:
    return accept_zapsign_webhook(services, call.headers, call.body, call.received_at, correlation_id=correlation_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return answer_webhook(event, context, get_services(), provider=ZAPSIGN_PROVIDER, accept=_accept)
