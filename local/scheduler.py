"""EventBridge schedule rules (`AWS::Events::Rule` with a `ScheduleExpression`) firing their target functions.

Expressions are EventBridge's (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html),
in UTC:

- `rate(value unit)`: unit `minute(s)`, `hour(s)`, `day(s)`; the first run comes one period after the stack starts.
- `cron(minutes hours day-of-month month day-of-week year)`: six fields; `*`, `,`, `-`, `/`; month names
  `JAN`-`DEC`; day-of-week `1`-`7` = `SUN`-`SAT`; one of day-of-month / day-of-week must be `?`; `L` (last day of
  the month; `5L` the last Thursday), `W` (nearest weekday; `LW` the last weekday) and `#` (`6#3` the third Friday).

A firing sends the target the event EventBridge sends ("Scheduled Event", or the target's constant `Input`) as an
asynchronous invocation: an error is retried twice (`retry_delays`), then dropped. `trigger(name)` fires a schedule
now, synchronously, and returns the invocation (for tests and the CLI).
"""

from __future__ import annotations

import calendar
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from local.runtime import Invocation

logger = logging.getLogger("signbridge.local.scheduler")

DEFAULT_RETRY_DELAYS = (60.0, 120.0)
MAX_SEARCH_DAYS = 366 * 8  # how far ahead a cron expression is searched for its next run

Invoke = Callable[[str, dict[str, Any]], Invocation]


class ScheduleExpressionError(ValueError):
    """A schedule expression EventBridge would reject."""


# -- expressions --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateExpression:
    period: timedelta

    def next_after(self, moment: datetime, *, started: datetime) -> datetime | None:
        elapsed = moment - started
        periods = int(elapsed / self.period) + 1
        return started + periods * self.period


_MONTH_NAMES = {name.upper(): index for index, name in enumerate(calendar.month_abbr) if name}
_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


def _aws_weekday(day: date) -> int:
    """EventBridge numbers days of the week 1 (Sunday) to 7 (Saturday)."""
    return (day.weekday() + 1) % 7 + 1


def _expand(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for item in field.split(","):
        step = 1
        has_step = "/" in item
        part = item
        if has_step:
            part, step_text = item.split("/", 1)
            step = int(step_text)
            if step <= 0:
                raise ScheduleExpressionError(f"bad step in {field!r}")
        if part == "*":
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(part, names)
            end = high if has_step else start
        if not (low <= start <= high and low <= end <= high):
            raise ScheduleExpressionError(f"{field!r} is outside {low}-{high}")
        if start <= end:
            values.update(range(start, end + 1, step))
        else:  # a wrapping range such as FRI-MON
            values.update(v for i, v in enumerate([*range(start, high + 1), *range(low, end + 1)]) if i % step == 0)
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    key = text.strip().upper()
    if names and key in names:
        return names[key]
    if not key.isdigit():
        raise ScheduleExpressionError(f"{text!r} is not a number or a name")
    return int(key)


@dataclass(frozen=True)
class CronExpression:
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_matches: Callable[[date], bool]

    def next_after(self, moment: datetime, *, started: datetime) -> datetime | None:
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        for _ in range(MAX_SEARCH_DAYS):
            if day.year in self.years and day.month in self.months and self.day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None


Expression = RateExpression | CronExpression


def parse_expression(expression: str) -> Expression:
    text = expression.strip()
    rate = re.fullmatch(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)", text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value <= 0:
            raise ScheduleExpressionError(f"{expression}: the value must be positive")
        if (value == 1) != (not unit.endswith("s")):
            raise ScheduleExpressionError(f"{expression}: EventBridge wants '1 {unit.rstrip('s')}' or 'n {unit}s'")
        seconds = {"minute": 60, "hour": 3600, "day": 86400}[unit.rstrip("s")]
        return RateExpression(timedelta(seconds=value * seconds))
    cron = re.fullmatch(r"cron\((.*)\)", text)
    if not cron:
        raise ScheduleExpressionError(f"{expression!r} is neither rate(...) nor cron(...)")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ScheduleExpressionError(f"{expression}: cron needs 6 fields, got {len(fields)}")
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleExpressionError(f"{expression}: exactly one of day-of-month and day-of-week must be '?'")
    day_matches = (
        _day_of_week_matcher(day_of_week.upper())
        if day_of_month == "?"
        else _day_of_month_matcher(day_of_month.upper())
    )
    return CronExpression(
        minutes=_expand(minutes, 0, 59),
        hours=_expand(hours, 0, 23),
        months=_expand(month.upper(), 1, 12, _MONTH_NAMES),
        years=_expand(year, 1970, 2199),
        day_matches=day_matches,
    )


def _day_of_month_matcher(field: str) -> Callable[[date], bool]:
    def last_day(day: date) -> int:
        return calendar.monthrange(day.year, day.month)[1]

    def nearest_weekday(day: date, target: int) -> int:
        target = min(target, last_day(day))
        weekday = date(day.year, day.month, target).weekday()
        if weekday == 5:  # Saturday -> Friday, unless that leaves the month
            return target - 1 if target > 1 else target + 2
        if weekday == 6:  # Sunday -> Monday, unless that leaves the month
            return target + 1 if target < last_day(day) else target - 2
        return target

    if field == "L":
        return lambda day: day.day == last_day(day)
    if field == "LW":
        return lambda day: day.day == nearest_weekday(day, last_day(day))
    if field.endswith("W"):
        target = int(field[:-1])
        if not 1 <= target <= 31:
            raise ScheduleExpressionError(f"{field!r} is outside 1-31")
        return lambda day: day.day == nearest_weekday(day, target)
    days = _expand(field, 1, 31)
    return lambda day: day.day in days


def _day_of_week_matcher(field: str) -> Callable[[date], bool]:
    if "#" in field:
        weekday_text, nth_text = field.split("#", 1)
        weekday, nth = _value(weekday_text, _DAY_NAMES), int(nth_text)
        if not (1 <= weekday <= 7 and 1 <= nth <= 5):
            raise ScheduleExpressionError(f"{field!r}: day 1-7, occurrence 1-5")
        return lambda day: _aws_weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth
    if field == "L":
        return lambda day: _aws_weekday(day) == 7
    if field.endswith("L"):
        weekday = _value(field[:-1], _DAY_NAMES)
        return lambda day: _aws_weekday(day) == weekday and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
    days = _expand(field, 1, 7, _DAY_NAMES)
    return lambda day: _aws_weekday(day) in days


# -- the scheduler ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleConfig:
    """One rule, resolved to local names."""

    name: str  # the rule's logical id
    rule_arn: str
    expression: str
    targets: tuple[tuple[str, str | None], ...]  # (local function name, constant Input JSON or None)
    enabled: bool = True
    aliases: tuple[str, ...] = ()  # other names `trigger` accepts: the rule name, the target functions

    def names(self) -> set[str]:
        return {self.name, *self.aliases}


def scheduled_event(*, account_id: str, region: str, rule_arn: str, now: datetime | None = None) -> dict[str, Any]:
    moment = now or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


class Scheduler:
    def __init__(
        self,
        schedules: Sequence[ScheduleConfig],
        *,
        invoke: Invoke,
        account_id: str,
        region: str,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.schedules = list(schedules)
        self.expressions = {schedule.name: parse_expression(schedule.expression) for schedule in self.schedules}
        self.invoke = invoke
        self.account_id = account_id
        self.region = region
        self.retry_delays = tuple(retry_delays)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.fired: list[tuple[str, datetime]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._workers: list[threading.Thread] = []
        self._started = self.clock()

    def schedule(self, name: str) -> ScheduleConfig:
        for schedule in self.schedules:
            if name in schedule.names():
                return schedule
        known = sorted(n for schedule in self.schedules for n in schedule.names())
        raise KeyError(f"no schedule {name!r} (known: {known})")

    def next_run(self, name: str, after: datetime | None = None) -> datetime | None:
        schedule = self.schedule(name)
        return self.expressions[schedule.name].next_after(after or self.clock(), started=self._started)

    def events_for(self, schedule: ScheduleConfig, now: datetime | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(function, event) for every target of a firing."""
        base = scheduled_event(
            account_id=self.account_id, region=self.region, rule_arn=schedule.rule_arn, now=now or self.clock()
        )
        return [(function, json.loads(constant) if constant else base) for function, constant in schedule.targets]

    def trigger(self, name: str) -> list[Invocation]:
        """Fire a schedule now, synchronously, without retries; one invocation per target."""
        schedule = self.schedule(name)
        self.fired.append((schedule.name, self.clock()))
        return [self.invoke(function, event) for function, event in self.events_for(schedule)]

    def start(self) -> Scheduler:
        self._stop.clear()
        self._started = self.clock()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()
        return self

    def signal_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for worker in self._workers:
            worker.join(timeout=30)
        self._workers.clear()

    def _run(self) -> None:
        enabled = [schedule for schedule in self.schedules if schedule.enabled]
        upcoming = {schedule.name: self.next_run(schedule.name) for schedule in enabled}
        while not self._stop.is_set():
            now = self.clock()
            for schedule in enabled:
                due = upcoming.get(schedule.name)
                if due is not None and due <= now:
                    self.fired.append((schedule.name, now))
                    for function, event in self.events_for(schedule, now):
                        self._fire_async(function, event)
                    upcoming[schedule.name] = self.next_run(schedule.name, now)
            pending = [due for due in upcoming.values() if due is not None]
            wait = min(((due - self.clock()).total_seconds() for due in pending), default=60.0)
            self._stop.wait(max(0.05, min(wait, 1.0)))

    def _fire_async(self, function: str, event: dict[str, Any]) -> None:
        worker = threading.Thread(
            target=self._deliver, args=(function, event), name=f"schedule-{function}", daemon=True
        )
        self._workers = [w for w in self._workers if w.is_alive()]
        self._workers.append(worker)
        worker.start()

    def _deliver(self, function: str, event: dict[str, Any]) -> None:
        for attempt, delay in enumerate((0.0, *self.retry_delays), start=1):
            if delay and self._stop.wait(delay):
                return
            invocation = self.invoke(function, event)
            if invocation.succeeded:
                return
            logger.warning("%s failed on its schedule (attempt %d)", function, attempt)
        logger.error("%s failed on its schedule %d times; the event is dropped", function, len(self.retry_delays) + 1)
