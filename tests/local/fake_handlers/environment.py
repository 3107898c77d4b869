"""Reports the environment and the settings it runs with, and can write to its environment or sleep."""

from __future__ import annotations

import os
import time
from typing import Any

from signbridge.config import get_settings
from tests.local.fake_handlers import recorder


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("wait_for"):
        recorder.barrier(event["wait_for"]).wait(timeout=5)
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("set"):
        os.environ["SIGNBRIDGE_SCRATCH"] = event["set"]
    return {
        "table_env": os.environ.get("SIGNBRIDGE_TABLE_NAME"),
        "table_settings": get_settings().table_name,
        "scratch": os.environ.get("SIGNBRIDGE_SCRATCH"),
        "lambda_function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "trace": os.environ.get("_X_AMZN_TRACE_ID", ""),
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "module": __name__,
    }
