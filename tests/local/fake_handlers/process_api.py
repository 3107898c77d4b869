"""An HTTP API handler written the way SignBridge's are (Powertools resolver and logger), for execution environment
processes: it answers with its own event's body and its process id, and logs with a key taken from the body, so a
test can tell whether concurrent invocations saw each other's event or log fields."""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

logger = Logger()
app = APIGatewayHttpResolver()


@app.post("/v1/echo")
def echo() -> dict[str, Any]:
    body = app.current_event.json_body
    logger.append_keys(caller=body["n"])
    time.sleep(float(body.get("sleep", 0)))  # others arrive meanwhile
    logger.info("echoing")
    return {"body": app.current_event.json_body, "pid": os.getpid()}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
