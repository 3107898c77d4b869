"""Alarms on the DLQs, the queues' oldest message, worker and reconciler errors and API 5xx; a dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from signbridge import observability
from signbridge.observability import (
    API_RESPONSES,
    METRICS_NAMESPACE,
    PROVIDER_CALLS,
    PROVIDER_ERRORS,
    PROVIDER_LATENCY,
    REQUESTS_FINISHED,
    WEBHOOKS_RECEIVED,
)

from .conftest import Synth, ref

pytestmark = pytest.mark.infra

ALARMS = {
    "ZapSignDeadLetterQueueAlarm",
    "OneShotDeadLetterQueueAlarm",
    "ZapSignOldestMessageAlarm",
    "OneShotOldestMessageAlarm",
    "WorkerErrorsAlarm",
    "ReconcilerErrorsAlarm",
    "Api5xxAlarm",
    "ReconcileErrorsAlarm",
    "RequestsGivenUpAlarm",
    "VerificationFailuresAlarm",
    "HousekeepingErrorsAlarm",
}
FUNCTIONS_SOURCE = Path(__file__).resolve().parents[2] / "functions" / "signbridge"


def _dimension(alarm: dict, name: str) -> str | None:
    for dimension in alarm.get("Dimensions", []):
        if dimension["Name"] == name:
            return ref(dimension["Value"])
    return None


def test_every_alarm_exists(synth: Synth) -> None:
    assert set(synth.of_type("AWS::CloudWatch::Alarm")) == ALARMS


@pytest.mark.parametrize(
    ("alarm", "queue"),
    [
        ("ZapSignDeadLetterQueueAlarm", "ZapSignDeadLetterQueue"),
        ("OneShotDeadLetterQueueAlarm", "OneShotDeadLetterQueue"),
    ],
)
def test_dead_letter_queue_alarm_fires_on_the_first_message(synth: Synth, alarm: str, queue: str) -> None:
    props = synth.props(alarm)
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["Threshold"] == 0
    assert _dimension(props, "QueueName") == queue


@pytest.mark.parametrize(
    ("alarm", "queue"), [("ZapSignOldestMessageAlarm", "ZapSignQueue"), ("OneShotOldestMessageAlarm", "OneShotQueue")]
)
def test_oldest_message_alarm_watches_the_work_queue(synth: Synth, alarm: str, queue: str) -> None:
    props = synth.props(alarm)
    assert props["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert _dimension(props, "QueueName") == queue
    assert props["Threshold"] > synth.props(queue)["VisibilityTimeout"]  # one retry alone does not page anyone


def test_error_alarms_watch_the_worker_the_reconciler_and_the_api(synth: Synth) -> None:
    assert synth.props("WorkerErrorsAlarm")["MetricName"] == "Errors"
    assert _dimension(synth.props("WorkerErrorsAlarm"), "FunctionName") == "WorkerFunction"
    assert _dimension(synth.props("ReconcilerErrorsAlarm"), "FunctionName") == "ReconcilerFunction"
    api = synth.props("Api5xxAlarm")
    assert api["Namespace"] == "AWS/ApiGateway"
    assert api["MetricName"] == "5xx"
    assert _dimension(api, "ApiId") == "HttpApi"


def test_alarms_notify_nobody_without_an_email(synth: Synth) -> None:
    assert not synth.of_type("AWS::SNS::Topic")
    assert all("AlarmActions" not in alarm["Properties"] for alarm in synth.of_type("AWS::CloudWatch::Alarm").values())


def test_alarm_email_subscribes_to_a_tls_only_topic_every_alarm_notifies(full_synth: Synth) -> None:
    assert set(full_synth.of_type("AWS::SNS::Topic")) == {"AlarmTopic"}
    (subscription,) = full_synth.of_type("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ops@example.com"
    for alarm in full_synth.of_type("AWS::CloudWatch::Alarm").values():
        assert [ref(action) for action in alarm["Properties"]["AlarmActions"]] == ["AlarmTopic"]
    (policy,) = full_synth.of_type("AWS::SNS::TopicPolicy").values()
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def test_dashboard_charts_the_custom_metrics_queues_and_functions(synth: Synth) -> None:
    (dashboard,) = synth.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        API_RESPONSES,
        PROVIDER_CALLS,
        PROVIDER_ERRORS,
        PROVIDER_LATENCY,
        WEBHOOKS_RECEIVED,
        REQUESTS_FINISHED,
    ):
        assert f'\\"SignBridge\\",\\"{metric}\\"' in body, metric
    for expected in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "Duration", "Errors"):
        assert expected in body


def test_every_custom_metric_charted_or_alarmed_is_one_the_functions_emit(synth: Synth) -> None:
    # Given every SignBridge-namespace metric the dashboard charts and the alarms watch
    dashboard = json.dumps(synth.props("Dashboard"))
    charted = set(re.findall(rf'\\"{METRICS_NAMESPACE}\\",\\"(\w+)\\"', dashboard))
    alarmed = {
        name for alarm in synth.of_type("AWS::CloudWatch::Alarm") for name in _custom_metric_names(synth.props(alarm))
    }
    assert charted
    assert alarmed
    # Then each is named by a constant of signbridge.observability that the functions' code uses (a chart of a
    # metric nobody emits is empty forever)
    constants = {value: name for name, value in vars(observability).items() if name.isupper()}
    code = "\n".join(path.read_text() for path in FUNCTIONS_SOURCE.rglob("*.py") if path.name != "observability.py")
    for metric in charted | alarmed:
        assert metric in constants, f"{metric} is not in signbridge.observability"
        assert re.search(rf"\b{constants[metric]}\b", code), f"no function emits {metric}"


def _custom_metric_names(node: object) -> set[str]:
    """MetricName of every metric in SignBridge's namespace, whether the alarm is on one metric or metric math."""
    if isinstance(node, dict):
        found = {node["MetricName"]} if node.get("Namespace") == METRICS_NAMESPACE and "MetricName" in node else set()
        return found.union(*(_custom_metric_names(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_custom_metric_names(value) for value in node))
    return set()


def test_a_signed_file_that_fails_verification_alerts_an_operator_at_once(synth: Synth) -> None:
    props = synth.props("VerificationFailuresAlarm")
    (stat,) = (metric["MetricStat"] for metric in props["Metrics"])
    assert stat["Metric"]["MetricName"] == observability.VERIFICATION_FAILURES
    assert stat["Metric"]["Namespace"] == observability.METRICS_NAMESPACE
    assert (stat["Stat"], stat["Period"]) == ("Sum", 300)
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["Threshold"] == 1
