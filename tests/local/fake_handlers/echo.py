"""Answers an API Gateway event with the event itself, and the context and environment it ran with."""

from __future__ import annotations

import json
import os
from typing import Any

from tests.local.fake_handlers import recorder


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    facts = {
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "aws_request_id": context.aws_request_id,
        "service": os.environ.get("POWERTOOLS_SERVICE_NAME"),
        "table": os.environ.get("SIGNBRIDGE_TABLE_NAME"),
        "lambda_function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
    }
    recorder.record("echo", event, facts)
    path = event.get("rawPath", "")
    if path.endswith("/boom"):
        raise RuntimeError("boom")
    if path.endswith("/plain"):
        return {"plain": True}
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-echo": "yes"},
        "cookies": ["a=1; Path=/", "b=2"],
        "body": json.dumps({"event": event, "facts": facts}),
    }
