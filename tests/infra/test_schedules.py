"""EventBridge schedules for the reconciler and the housekeeper."""

from __future__ import annotations

import re

import pytest

from .conftest import Synth, ref

pytestmark = pytest.mark.infra


def _targets(synth: Synth, logical_id: str) -> list[str | None]:
    return [ref(target["Arn"]) for target in synth.props(logical_id)["Targets"]]


def test_reconciler_runs_every_ten_minutes(synth: Synth) -> None:
    rule = synth.props("ReconcilerSchedule")
    assert rule["ScheduleExpression"] == "rate(10 minutes)"
    assert rule["State"] == "ENABLED"
    assert _targets(synth, "ReconcilerSchedule") == ["ReconcilerFunction"]


def test_housekeeper_runs_once_a_day(synth: Synth) -> None:
    expression = synth.props("HousekeeperSchedule")["ScheduleExpression"]
    # cron(minutes hours day-of-month month day-of-week year) with fixed minute and hour: once a day.
    match = re.fullmatch(r"cron\((\d+) (\d+) \* \* \? \*\)", expression)
    assert match, expression
    assert _targets(synth, "HousekeeperSchedule") == ["HousekeeperFunction"]


def test_every_scheduled_function_may_be_invoked_by_its_rule(synth: Synth) -> None:
    permissions = [p["Properties"] for p in synth.of_type("AWS::Lambda::Permission").values()]
    for rule, function in (
        ("ReconcilerSchedule", "ReconcilerFunction"),
        ("HousekeeperSchedule", "HousekeeperFunction"),
    ):
        assert any(
            p["Principal"] == "events.amazonaws.com"
            and ref(p["FunctionName"]) == function
            and ref(p["SourceArn"]) == rule
            for p in permissions
        )
