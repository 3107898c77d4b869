"""Time, driven: what the chaos run does instead of waiting, so a scenario is decided by what happens, not by how
fast a loaded machine gets there (docs/chaos.md).

- **The functions' time runs `SPEED` times faster** than real time (from when `FunctionClocks` is installed): every
  function's `Services.clock` and its record store's clock (which stamps `status_since`, timeline entries, intents'
  ages) keep `shifted_clock`, so the product's own time windows (a ZapSign create looked for in the folder for 10
  minutes, a One-Shot create waiting 2 minutes for its callback, a sign let settle for a minute) pass in a sixth of
  the time, all measured on the one clock. The simulators and AWS keep real time.
- **The reconciler, an hour later.** On AWS the reconciler runs every 10 minutes and heals a request once its status
  is older than its threshold (5 to 30 minutes). The chaos run invokes it every few seconds *as if an hour had
  passed*: its invocation's clock (`Services.clock`, which the schedule event's `time` is checked against, and every
  age is measured from) runs one hour ahead, and the event says the same time, so the reconciler's own sanity check of
  the event time (`ScheduledEvent.run_time`) holds. Only the `now` moves: what it writes is stamped by the record
  store's clock, so nothing is dated in the future. The hour is an offset of the invocation on the current thread (a
  `ContextVar`): zero for every invocation but the reconciler's, which the run makes on its own thread inside
  `ahead(...)`.
- **Backoffs at the same speed.** The worker backs a failed record off (10 s doubling, or the provider's
  `Retry-After`) with `ChangeMessageVisibility`, which SQS counts in real seconds. `chaos.aws` remembers each such
  change; `BackoffClock.expire()` makes a message visible again once its backoff has passed on the functions' clock
  (`SPEED` times sooner), so a message is delivered as often as it would be on AWS, no more (its receive count is what
  sends it to the dead-letter queue).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

MARGIN_SECONDS = 1.0
SPEED = 6  # the functions' seconds per real second: a sign still has 10 real seconds to settle

_AHEAD: ContextVar[timedelta] = ContextVar("signbridge_chaos_clock_ahead", default=timedelta(0))
_STARTED: list[datetime] = []  # when the functions' time began to run fast (set by `FunctionClocks.installed`)


def shifted_clock() -> datetime:
    """The functions' time: `SPEED` times faster than real time since `FunctionClocks` was installed, plus the offset
    `ahead` set on this thread (none outside it)."""
    now = datetime.now(UTC)
    if _STARTED:
        now += (now - _STARTED[-1]) * (SPEED - 1)
    return now + _AHEAD.get()


@contextmanager
def ahead(offset: timedelta) -> Iterator[None]:
    """Calls on this thread (an invocation made here) see `shifted_clock` run `offset` ahead."""
    token = _AHEAD.set(offset)
    try:
        yield
    finally:
        _AHEAD.reset(token)


class FunctionClocks:
    """`installed()` before the stack starts: every `AwsServices` made afterwards (and its record store) keeps time by
    `shifted_clock`, which runs fast from then on."""

    def __init__(self) -> None:
        self._original: Callable[..., Any] | None = None

    @contextmanager
    def installed(self) -> Iterator[FunctionClocks]:
        from signbridge.wiring import AwsServices  # noqa: PLC0415 - the functions' code, loaded with the stack

        original = AwsServices.__dict__["from_settings"]
        self._original = original

        def from_settings(cls: type[AwsServices], settings: Any) -> AwsServices:
            services = original.__func__(cls, settings)
            services.clock = shifted_clock
            services.records._clock = shifted_clock  # the record store keeps its own
            return services

        AwsServices.from_settings = classmethod(from_settings)  # type: ignore[method-assign,assignment]
        _STARTED.append(datetime.now(UTC))
        try:
            yield self
        finally:
            _STARTED.pop()
            AwsServices.from_settings = original  # type: ignore[method-assign]
            self._original = None


class BackoffClock:
    """The visibility changes functions made (queue URL by receipt handle), and a way to let them all elapse."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[str, float, int]] = {}  # receipt handle -> (queue URL, since, seconds)
        self.expired = 0

    def remember(self, queue_url: str, receipt_handle: str, seconds: int) -> None:
        with self._lock:
            if seconds > 0:
                self._pending[receipt_handle] = (queue_url, time.monotonic(), seconds)
            else:
                self._pending.pop(receipt_handle, None)

    def expire(self, sqs: Any) -> int:
        """Make every message whose backoff has passed on the functions' clock visible now; answer how many were.

        A backoff with `MARGIN_SECONDS` or less to go in real time is left to SQS: the message may have been received
        again by now, and SQS would let an old receipt handle change the visibility of the delivery in progress."""
        now = time.monotonic()
        due: list[tuple[str, str]] = []
        with self._lock:
            for receipt_handle, (queue_url, since, seconds) in list(self._pending.items()):
                elapsed = now - since
                if seconds - elapsed <= MARGIN_SECONDS:
                    del self._pending[receipt_handle]  # SQS ends it (about) now anyway
                elif elapsed * SPEED >= seconds:
                    del self._pending[receipt_handle]
                    due.append((receipt_handle, queue_url))
        count = 0
        for receipt_handle, queue_url in due:
            try:
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)
            except ClientError:
                continue  # deleted since, or received again (a newer receipt handle): its backoff is over anyway
            count += 1
        with self._lock:
            self.expired += count
        return count
