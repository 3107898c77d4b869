"""Waiting for a request's status: bounded polling of `GET /v1/requests/{id}`, with the errors that end a wait."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests

from demo.answers import request_view, status_of
from demo.client import ApiClient, ApiError

BACKOFF = 1.5  # the growth of the pause between polls, with `max_interval`
TERMINAL = frozenset({"completed", "refused", "cancelled", "expired", "failed"})


class StageTimeoutError(RuntimeError):
    def __init__(self, wanted: Iterable[str], last: Mapping[str, Any] | None, timeout: float) -> None:
        self.wanted = tuple(wanted)
        self.last = last
        status = status_of(last) if last else "unknown"
        super().__init__(f"still {status!r} after {timeout:.0f} s, waiting for {' or '.join(self.wanted)}")


class DemoCancelledError(RuntimeError):
    """The caller asked the demo to stop (Ctrl-C)."""


class RequestEndedError(RuntimeError):
    def __init__(self, wanted: Iterable[str], last: Mapping[str, Any]) -> None:
        self.wanted = tuple(wanted)
        self.last = last
        reason = request_view(last).get("failure_reason")
        super().__init__(
            f"the request ended {status_of(last)!r} while waiting for {' or '.join(self.wanted)}"
            + (f": {reason}" if reason else "")
        )


def wait_for_status(
    api: ApiClient,
    request_id: str,
    wanted: str | Iterable[str],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    on_change: Callable[[str | None, str, Mapping[str, Any]], None] | None = None,
    condition: Callable[[Mapping[str, Any]], bool] | None = None,
    accept_terminal: bool = False,
    last_status: str | None = None,
    cancelled: Callable[[], bool] | None = None,
    max_interval: float | None = None,
) -> dict[str, Any]:
    """Poll `GET /v1/requests/{id}` until the status is one of `wanted` (and `condition` holds). Raises
    `RequestEndedError` when the request reaches another terminal status (unless `accept_terminal`), and
    `StageTimeoutError` after `timeout` seconds. With `max_interval`, the pause after each poll grows by half up to
    it (many requests polled at once keep their load bounded)."""
    targets = {wanted} if isinstance(wanted, str) else set(wanted)
    deadline = time.monotonic() + timeout
    seen = last_status
    body: dict[str, Any] | None = None
    while True:
        if cancelled is not None and cancelled():
            raise DemoCancelledError("stopped")
        try:
            body = api.get_request(request_id)
        except (ApiError, requests.RequestException):
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)
            continue
        status = status_of(body)
        if status != seen:
            if on_change is not None:
                on_change(seen, status, body)
            seen = status
        if status in targets and (condition is None or condition(body)):
            return body
        if status in TERMINAL and status not in targets and not accept_terminal:
            raise RequestEndedError(targets, body)
        if time.monotonic() > deadline:
            raise StageTimeoutError(targets, body, timeout)
        time.sleep(interval)
        if max_interval is not None:
            interval = min(max_interval, interval * BACKOFF)
