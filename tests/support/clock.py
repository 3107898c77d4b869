"""A clock the test moves by hand, for code that takes `clock: Callable[[], datetime]`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 1, 31, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


class ShiftedClock:
    """Real time plus an offset the test moves forward (for code that also talks to a simulator on real time).

    `freeze()` stops it following real time: from then on it moves only when the test calls `advance`, plus one
    microsecond per reading so that what it stamps (timeline entries) stays in order. For a test that asserts a
    duration to the second, which a loaded machine would otherwise stretch."""

    TICK = timedelta(microseconds=1)

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.frozen_at: datetime | None = None

    def __call__(self) -> datetime:
        if self.frozen_at is None:
            return datetime.now(UTC) + self.offset
        self.frozen_at += self.TICK
        return self.frozen_at + self.offset

    def freeze(self) -> datetime:
        """Stop following real time, at the time it reads now (offset included)."""
        self.frozen_at = datetime.now(UTC)
        return self()

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)
