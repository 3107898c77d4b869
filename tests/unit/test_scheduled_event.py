"""A scheduled event's `time` is believed only within a sane window around the clock (`ScheduledEvent.run_time`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signbridge.workflow.maintenance import ScheduledEvent

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({}, NOW),  # an operator's `{}`: the clock
        ({"time": "2026-03-02T08:50:00Z"}, NOW - timedelta(minutes=10)),  # a run delivered late: when it was due
        ({"time": "2026-03-01T09:30:00Z"}, NOW - timedelta(hours=23, minutes=30)),  # EventBridge's retries: < 24 h
        ({"time": "2026-03-02T09:03:00Z"}, NOW + timedelta(minutes=3)),  # a little clock skew
        ({"time": "1970-01-01T00:00:00Z"}, NOW),  # AWS's sample event: the clock
        ({"time": "2026-02-28T09:00:00Z"}, NOW),  # two days old: the clock
        ({"time": "2027-03-02T09:00:00Z"}, NOW),  # next year: the clock
    ],
)
def test_the_run_time_is_the_events_time_only_within_the_window(event: dict[str, str], expected: datetime) -> None:
    assert ScheduledEvent.model_validate(event).run_time(NOW) == expected
