"""Handlers that record every event they receive (S3 notifications, schedules) and succeed, or fail on demand."""

from __future__ import annotations

from typing import Any

from tests.local.fake_handlers import recorder

fail_next: dict[str, int] = {}  # function -> how many of its next invocations raise


def _record(function: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
    recorder.record(function, event, {"function_name": context.function_name, "request_id": context.aws_request_id})
    if fail_next.get(function, 0) > 0:
        fail_next[function] -= 1
        raise RuntimeError(f"{function}: failing on purpose")
    return {"ok": True}


def intake(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _record("intake", event, context)


def reconciler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _record("reconciler", event, context)


def housekeeper(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _record("housekeeper", event, context)
