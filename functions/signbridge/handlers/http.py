"""What the two webhook handlers share: the API Gateway (payload 2.0) plumbing, and one answer from a webhook use
case's outcome or error (through the problem table of `signbridge.handlers.problems`).

The event is read as the dict Lambda hands over (`WebhookCall`: the few fields a webhook uses) rather than through
Powertools' `APIGatewayProxyEventV2`: that class comes with Powertools' `data_classes` package, the event classes of
every AWS source, a sizeable part of a webhook's cold start (docs/benchmarks.md, "Cold start").
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from signbridge import observability, telemetry
from signbridge.handlers.problems import PROBLEM_CONTENT_TYPE, problem_for
from signbridge.workflow.services import Services
from signbridge.workflow.webhooks import WebhookOutcome

logger = Logger(child=True)

ACCEPTED_STATUS: Final = 200  # exactly 200: ZapSign counts only 200 as delivered (docs/providers/zapsign.md §4.1)


@dataclass(frozen=True)
class WebhookCall:
    """What a webhook handler reads of API Gateway's HTTP API event (payload format 2.0)."""

    headers: Mapping[str, str]
    path_parameters: Mapping[str, str]
    query_parameters: Mapping[str, str]
    body: bytes
    """The body exactly as the provider sent it (its sha256 names the stored object and deduplicates the hint)."""
    received_at: datetime
    """When API Gateway received the call (`requestContext.timeEpoch`); now, if the event does not say."""
    request_id: str | None
    """API Gateway's request id: the correlation id."""

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> WebhookCall:
        context = event.get("requestContext") or {}
        body = event.get("body") or ""
        epoch_ms = context.get("timeEpoch")
        return cls(
            headers=event.get("headers") or {},
            path_parameters=event.get("pathParameters") or {},
            query_parameters=event.get("queryStringParameters") or {},
            body=base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8"),
            received_at=datetime.fromtimestamp(epoch_ms / 1000, UTC) if epoch_ms else datetime.now(UTC),
            request_id=context.get("requestId"),
        )


# A webhook use case: the services, the call, the correlation id → its outcome (or a raise).
AcceptWebhook = Callable[[Services, WebhookCall, str], WebhookOutcome]


def answer_webhook(
    event: Mapping[str, Any],
    context: LambdaContext,
    services: Services,
    *,
    provider: str,
    accept: AcceptWebhook,
) -> dict[str, Any]:
    """Run the webhook use case on the event and answer: 200 with a tiny JSON body when accepted, else the problem
    its error is. An error the problem table does not know propagates (the Lambda fails, API Gateway answers 500)."""
    call = WebhookCall.from_event(event)
    correlation_id = call.request_id or context.aws_request_id
    try:
        outcome = accept(services, call, correlation_id)
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
    return {
        "statusCode": problem.status,
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE},
        "body": json.dumps(problem.body(instance=None, correlation_id=correlation_id)),
        "isBase64Encoded": False,
    }
