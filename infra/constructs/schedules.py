"""EventBridge schedules: the reconciler every 10 minutes, the housekeeper once a day."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.common import pin_logical_id

RECONCILER_SCHEDULE = events.Schedule.rate(Duration.minutes(10))
# 03:15 UTC: after midnight in the Americas and before the European working day; off the hour, when scheduled jobs
# elsewhere pile up.
HOUSEKEEPER_SCHEDULE = events.Schedule.cron(minute="15", hour="3")
# A missed run is harmless (the next one covers it); do not let stale events pile up behind a failing function.
TARGET_RETRIES = 2
TARGET_MAX_EVENT_AGE = Duration.hours(1)


class Schedules(Construct):
    """Rules `ReconcilerSchedule` and `HousekeeperSchedule` (AWS::Events::Rule with a ScheduleExpression)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        reconciler: lambda_.IFunction,
        housekeeper: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.reconciler_rule = self._rule("ReconcilerSchedule", RECONCILER_SCHEDULE, reconciler, "heal stuck requests")
        self.housekeeper_rule = self._rule("HousekeeperSchedule", HOUSEKEEPER_SCHEDULE, housekeeper, "daily clean-up")

    def _rule(
        self, construct_id: str, schedule: events.Schedule, function: lambda_.IFunction, purpose: str
    ) -> events.Rule:
        rule = events.Rule(
            self,
            construct_id,
            description=f"SignBridge: {purpose}",
            schedule=schedule,
            targets=[
                targets.LambdaFunction(function, retry_attempts=TARGET_RETRIES, max_event_age=TARGET_MAX_EVENT_AGE)
            ],
        )
        pin_logical_id(rule, construct_id)
        return rule
