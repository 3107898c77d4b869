"""What the two webhook handlers share: the API Gateway (payload 2.0) plumbing, and one answer from a webhook use
case's outcome or error (through the problem table of `signbridge.handlers.problems`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

from signbridge import observability, telemetry
from signbridge.handlers.problems import PROBLEM_CONTENT_TYPE, problem_for
from signbridge.workflow.services import Services
from signbridge.workflow.webhooks import WebhookOutcome

logger = Logger(child=True)

ACCEPTED_STATUS: Final = 200  # exactly 200: ZapSign counts only 200 as delivered (docs/providers/zapsign.md §4.1)

# A webhook use case: the services, the event, when it was received, the correlation id → its outcome (or a raise).
AcceptWebhook = Callable[[Services, APIGatewayProxyEventV2, bytes, datetime, str], WebhookOutcome]


def raw_body(event: APIGatewayProxyEventV2) -> bytes:
    """The body exactly as the provider sent it (its sha256 names the stored object and deduplicates the hint)."""
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")


def received_at(event: APIGatewayProxyEventV2) -> datetime:
    epoch_ms = event.request_context.time_epoch
    return datetime.fromtimestamp(epoch_ms / 1000, UTC) if epoch_ms else datetime.now(UTC)


def answer_webhook(
    event: APIGatewayProxyEventV2,
    context: LambdaContext,
    services: Services,
    *,
    provider: str,
    accept: AcceptWebhook,
) -> dict[str, Any]:
    """Run the webhook use case on the event and answer: 200 with a tiny JSON body when accepted, else the problem
    its error is. An error the problem table does not know propagates (the Lambda fails, API Gateway answers 500)."""
    correlation_id = event.request_context.request_id or context.aws_request_id
    try:
        outcome = accept(services, event, raw_body(event), received_at(event), correlation_id)
    except Exception as error:
        answer = webhook_problem(error, correlation_id)
        if answer is None:
            raise
        enqueued = 0
    else:
        answer, enqueued = webhook_accepted(), outcome.enqueued
    logger.info("answered", extra={"status": answer["statusCode"], "enqueued": enqueued})
    telemetry.count(observability.WEBHOOKS_RECEIVED, provider=provider)
    return answer


def webhook_accepted() -> dict[str, Any]:
    """What any accepted call answers, whatever became of it (stored only, or queued)."""
    return {
        "statusCode": ACCEPTED_STATUS,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"received": True}),
        "isBase64Encoded": False,
    }


def webhook_problem(error: Exception, correlation_id: str) -> dict[str, Any] | None:
    """The problem answer for a refused call, without `instance` (the One-Shot path carries its secret); None for an
    exception the problem table does not know."""
    problem = problem_for(error)
    if problem is None:
        return None
    body = problem.model(instance=None, correlation_id=correlation_id)
    return {
        "statusCode": problem.status,
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE},
        "body": json.dumps(body.model_dump(mode="json", by_alias=True, exclude_none=True)),
        "isBase64Encoded": False,
    }
