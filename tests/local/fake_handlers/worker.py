"""An SQS consumer with partial batch responses: a record whose body is `fail` fails, every time."""

from __future__ import annotations

from typing import Any

from tests.local.fake_handlers import recorder


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        recorder.record("worker", record, {"request_id": context.aws_request_id})
        if record["body"] == "fail":
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
