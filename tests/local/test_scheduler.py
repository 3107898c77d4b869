"""Schedules: EventBridge rate and cron expressions, the Scheduled Event, firing on time and on demand."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from local.runtime import LambdaRuntime
from local.scheduler import (
    CronExpression,
    RateExpression,
    ScheduleConfig,
    ScheduleExpressionError,
    Scheduler,
    parse_expression,
)
from tests.local.conftest import local_function
from tests.local.fake_handlers import recorder

RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/reconciler"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def next_run(expression: str, after: str) -> str:
    parsed = parse_expression(expression)
    found = parsed.next_after(at(after), started=at(after))
    assert found is not None
    return found.strftime("%Y-%m-%d %H:%M %a")


def test_rate_expressions() -> None:
    assert parse_expression("rate(10 minutes)") == RateExpression(timedelta(minutes=10))
    assert parse_expression("rate(1 hour)") == RateExpression(timedelta(hours=1))
    assert parse_expression("rate(2 days)") == RateExpression(timedelta(days=2))
    rate = parse_expression("rate(10 minutes)")
    assert rate.next_after(at("2030-01-01T00:25:00"), started=at("2030-01-01T00:00:00")) == at("2030-01-01T00:30:00")
    for wrong in ("rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate(5 weeks)", "every 5 minutes"):
        with pytest.raises(ScheduleExpressionError):
            parse_expression(wrong)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(15 3 * * ? *)", "2030-01-01T03:14:00", "2030-01-01 03:15 Tue"),
        ("cron(15 3 * * ? *)", "2030-01-01T03:15:00", "2030-01-02 03:15 Wed"),
        ("cron(0/15 * * * ? *)", "2030-01-01T10:16:30", "2030-01-01 10:30 Tue"),
        ("cron(0 12 ? * MON-FRI *)", "2030-01-04T13:00:00", "2030-01-07 12:00 Mon"),  # Friday afternoon -> Monday
        ("cron(0 8 ? * 1 *)", "2030-01-01T00:00:00", "2030-01-06 08:00 Sun"),  # 1 = Sunday
        ("cron(0 0 L * ? *)", "2030-02-01T00:00:00", "2030-02-28 00:00 Thu"),
        ("cron(0 10 ? * 6#3 *)", "2030-01-01T00:00:00", "2030-01-18 10:00 Fri"),  # third Friday
        ("cron(0 10 ? * 6L *)", "2030-01-01T00:00:00", "2030-01-25 10:00 Fri"),  # last Friday
        ("cron(0 9 15W * ? *)", "2030-06-01T00:00:00", "2030-06-14 09:00 Fri"),  # the 15th is a Saturday
        ("cron(30 23 1 JAN,JUL ? 2031)", "2030-03-01T00:00:00", "2031-01-01 23:30 Wed"),
    ],
)
def test_cron_expressions(expression: str, after: str, expected: str) -> None:
    assert next_run(expression, after) == expected


@pytest.mark.parametrize(
    "wrong",
    ["cron(0 12 * * * *)", "cron(0 12 ? * ? *)", "cron(0 12 * * ?)", "cron(61 * * * ? *)", "cron(0 12 ? * FOO *)"],
)
def test_invalid_cron_expressions(wrong: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_expression(wrong)


def test_a_cron_expression_in_the_past_never_runs() -> None:
    parsed = parse_expression("cron(0 0 1 1 ? 1999)")
    assert isinstance(parsed, CronExpression)
    assert parsed.next_after(at("2030-01-01T00:00:00"), started=at("2030-01-01T00:00:00")) is None


def schedule(**overrides: object) -> ScheduleConfig:
    values: dict[str, object] = {
        "name": "ReconcilerSchedule",
        "rule_arn": RULE_ARN,
        "expression": "rate(10 minutes)",
        "targets": (("reconciler", None),),
        "aliases": ("reconciler",),
    }
    values.update(overrides)
    return ScheduleConfig(**values)  # type: ignore[arg-type]


def test_trigger_sends_the_scheduled_event_now(runtime: LambdaRuntime) -> None:
    runtime.register(local_function("reconciler", "tests.local.fake_handlers.recording.reconciler"))
    scheduler = Scheduler([schedule()], invoke=runtime.invoke, account_id="123456789012", region="us-east-1")

    (invocation,) = scheduler.trigger("reconciler")

    assert invocation.succeeded
    ((event, _),) = recorder.of("reconciler")
    EventBridgeModel.model_validate(event)  # Powertools' model of an EventBridge event
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == [RULE_ARN]
    assert event["detail"] == {}
    assert event["time"].endswith("Z")
    with pytest.raises(KeyError):
        scheduler.trigger("nothing")


def test_a_target_with_a_constant_input_receives_it(runtime: LambdaRuntime) -> None:
    runtime.register(local_function("reconciler", "tests.local.fake_handlers.recording.reconciler"))
    constant = json.dumps({"mode": "full"})
    scheduler = Scheduler(
        [schedule(targets=(("reconciler", constant),))], invoke=runtime.invoke, account_id="1", region="us-east-1"
    )
    scheduler.trigger("ReconcilerSchedule")
    assert recorder.of("reconciler")[0][0] == {"mode": "full"}


def test_the_scheduler_fires_when_the_time_comes(runtime: LambdaRuntime) -> None:
    runtime.register(local_function("reconciler", "tests.local.fake_handlers.recording.reconciler"))
    now = [at("2030-01-01T00:00:00")]
    lock = threading.Lock()

    def clock() -> datetime:
        with lock:
            return now[0]

    scheduler = Scheduler(
        [schedule(), schedule(name="Disabled", enabled=False, aliases=())],
        invoke=runtime.invoke,
        account_id="123456789012",
        region="us-east-1",
        clock=clock,
    ).start()
    try:
        time.sleep(0.2)
        assert recorder.of("reconciler") == []  # not yet due
        with lock:
            now[0] = at("2030-01-01T00:10:00")  # one period later
        deadline = time.monotonic() + 5
        while not recorder.of("reconciler") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
    assert len(recorder.of("reconciler")) == 1
    assert [name for name, _ in scheduler.fired] == ["ReconcilerSchedule"]
    assert scheduler.next_run("reconciler", at("2030-01-01T00:10:00")) == at("2030-01-01T00:20:00")
