"""Sleeps, and records how many invocations ran at once (for the concurrency limit)."""

from __future__ import annotations

import time
from typing import Any

from tests.local.fake_handlers import recorder


def handler(event: dict[str, Any], context: Any) -> None:
    # The counter lives in `recorder`: this module is copied per execution environment, its globals are not shared.
    running = recorder.enter("slow")
    recorder.record("slow", event, {"running": running})
    time.sleep(0.3)
    recorder.leave("slow")
