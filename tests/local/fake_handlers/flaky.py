"""Fails the whole batch the first time it sees a message, then succeeds (a function error, not a partial one)."""

from __future__ import annotations

from typing import Any

from tests.local.fake_handlers import recorder


def handler(event: dict[str, Any], context: Any) -> None:
    seen_before = {event["messageId"] for event, _ in recorder.of("flaky")}
    for record in event["Records"]:
        recorder.record("flaky", record, {})
    if any(record["messageId"] not in seen_before for record in event["Records"]):
        raise RuntimeError("first time: fail the batch")
