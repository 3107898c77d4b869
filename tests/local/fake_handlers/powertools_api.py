"""An HTTP API handler written the way SignBridge's are: Powertools resolver, logger and metrics."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit

from tests.local.fake_handlers import rendezvous

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()


@app.get("/v1/requests/<request_id>")
def get_request(request_id: str) -> dict[str, Any]:
    metrics.add_metric(name="RequestRead", unit=MetricUnit.Count, value=1)
    return {
        "id": request_id,
        "query": app.current_event.query_string_parameters,
        "caller": app.current_event.request_context.authorizer.iam.user_arn,
    }


@app.post("/v1/requests")
def create_request() -> tuple[dict[str, Any], int]:
    metrics.add_metric(name="RequestCreated", unit=MetricUnit.Count, value=1)
    return {"received": app.current_event.json_body}, 201


@app.post("/v1/slow-echo")
def slow_echo() -> dict[str, Any]:
    """Says it is in, waits while the test sends another request, then answers with its own body."""
    rendezvous.event("slow-echo-entered").set()
    rendezvous.event("slow-echo-release").wait(timeout=1.0)
    return {"body": app.current_event.json_body}


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
