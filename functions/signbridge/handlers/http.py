"""What the HTTP-facing handlers share: the problem+json vocabulary and the API Gateway (payload 2.0) plumbing of the
two webhook handlers."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from signbridge.workflow.webhooks import WebhookOutcome

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
PROBLEM_TYPE_BASE: Final = "https://signbridge.dev/problems/"


def raw_body(event: APIGatewayProxyEventV2) -> bytes:
    """The body exactly as the provider sent it (its sha256 names the stored object and deduplicates the hint)."""
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")


def received_at(event: APIGatewayProxyEventV2) -> datetime:
    epoch_ms = event.request_context.time_epoch
    return datetime.fromtimestamp(epoch_ms / 1000, UTC) if epoch_ms else datetime.now(UTC)


def webhook_response(outcome: WebhookOutcome, correlation_id: str, titles: Mapping[str, str]) -> dict[str, Any]:
    """Exactly 200 with a tiny JSON body when accepted (ZapSign counts only 200 as delivered, contracts/zapsign.md
    §4.1), else a problem without `instance` (the One-Shot path carries its secret)."""
    if outcome.status < 400:
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"received": True}),
            "isBase64Encoded": False,
        }
    slug = outcome.problem_type or "error"
    problem = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": titles.get(slug, "Error"),
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
