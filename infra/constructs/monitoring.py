"""Alarms, an optional e-mail topic for them, and one dashboard.

Custom metrics live in the `SignBridge` namespace with the `service` dimension Powertools adds
(`POWERTOOLS_SERVICE_NAME` = `signbridge`); docs/infrastructure.md lists the names and dimensions the functions are
expected to emit. A chart of a metric nobody emits yet simply stays empty.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.common import acknowledge, pin_logical_id
from infra.constructs.functions import METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME
from infra.constructs.queues import WorkQueue
from signbridge.observability import (
    API_RESPONSES,
    HOUSEKEEPING_ERRORS,
    PROVIDER_CALLS,
    PROVIDER_ERRORS,
    PROVIDER_LATENCY,
    RECONCILE_ERRORS,
    REQUESTS_FINISHED,
    REQUESTS_GIVEN_UP,
    VERIFICATION_FAILURES,
    WEBHOOKS_RECEIVED,
)

PERIOD = Duration.minutes(5)
# A message older than this means the worker is not draining the queue: a failing step is retried after one
# visibility timeout (12 min), so two retries plus some slack.
OLDEST_MESSAGE_AGE_SECONDS = 30 * 60
# A few 5xx in five minutes: a single one can be a Lambda cold-start timeout; a handful means something is broken.
API_5XX_THRESHOLD = 5

PROVIDERS = ("zapsign", "oneshot")
LOGICAL_NAMES = {"zapsign": "ZapSign", "oneshot": "OneShot"}  # as in the queues' logical ids
STATUS_CLASSES = ("2xx", "4xx", "5xx")
FINAL_STATUSES = ("completed", "refused", "cancelled", "expired", "failed")

SNS_KMS_REASON = (
    "The alarm topic carries only alarm state changes (no personal data). CloudWatch alarms cannot publish to a "
    "topic encrypted with the AWS managed SNS key, and a customer managed key for this alone is not worth its cost."
)


def custom_metric(
    name: str, statistic: str = "Sum", *, period: Duration = PERIOD, **dimensions: str
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": POWERTOOLS_SERVICE_NAME, **dimensions},
        statistic=statistic,
        period=period,
        label=" ".join(dimensions.values()) or name,
    )


class Monitoring(Construct):
    """`alarms` by logical id; `topic` when an alarm e-mail is configured; the dashboard `SignBridge-{stage}`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        alarm_email: str | None,
        functions: Mapping[str, lambda_.Function],
        queues: Mapping[str, WorkQueue],
        http_api: apigwv2.HttpApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic: sns.Topic | None = None
        if alarm_email:
            self.topic = sns.Topic(self, "AlarmTopic", display_name=f"SignBridge {stage} alarms", enforce_ssl=True)
            pin_logical_id(self.topic, "AlarmTopic")
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
            acknowledge(self.topic, "SNS2", SNS_KMS_REASON)

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for provider, work_queue in queues.items():
            name = LOGICAL_NAMES[provider]
            self._alarm(
                f"{name}DeadLetterQueueAlarm",
                work_queue.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic="Maximum"
                ),
                threshold=0,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"Messages in the {provider} dead-letter queue: inspect, fix, redrive (docs/deploy.md).",
            )
            self._alarm(
                f"{name}OldestMessageAlarm",
                work_queue.queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
                threshold=OLDEST_MESSAGE_AGE_SECONDS,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"The {provider} queue is not draining: its oldest message is over 30 minutes old.",
            )
        self._alarm(
            "WorkerErrorsAlarm",
            functions["worker"].metric_errors(period=PERIOD, statistic="Sum"),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description="The worker function failed (crash or timeout), not just a step reported as a batch failure.",
        )
        self._alarm(
            "ReconcilerErrorsAlarm",
            functions["reconciler"].metric_errors(period=Duration.minutes(15), statistic="Sum"),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description="The reconciler failed: stuck requests are not being healed.",
        )
        # Per-request trouble the scheduled functions count rather than raise (one bad request must not stop the
        # others), so the functions' own error alarms would not see it.
        for alarm_id, name, what in (
            (
                "ReconcileErrorsAlarm",
                RECONCILE_ERRORS,
                "The reconciler could not look at some requests (its logs say why).",
            ),
            ("RequestsGivenUpAlarm", REQUESTS_GIVEN_UP, "The reconciler failed requests stuck too long: look at them."),
            (
                "HousekeepingErrorsAlarm",
                HOUSEKEEPING_ERRORS,
                "The housekeeper could not handle some requests or files.",
            ),
        ):
            self._alarm(
                alarm_id,
                custom_metric(name, period=Duration.hours(1)),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                description=what,
            )
        # A signed PDF that did not pass verification holds its request in verification_failed until an operator
        # retries or accepts it (docs/evidence.md): every one needs a person.
        self._alarm(
            "VerificationFailuresAlarm",
            custom_metric(VERIFICATION_FAILURES, period=PERIOD),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description="A signed PDF did not pass verification: its request waits in verification_failed for an "
            "operator (signbridge requests retry-verification / accept-verification).",
        )
        self._alarm(
            "Api5xxAlarm",
            http_api.metric_server_error(period=PERIOD, statistic="Sum"),
            threshold=API_5XX_THRESHOLD,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description="The HTTP API answered 5xx several times in five minutes.",
        )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"SignBridge-{stage}")
        pin_logical_id(self.dashboard, "Dashboard")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API responses by status class",
                left=[custom_metric(API_RESPONSES, status_class=c) for c in STATUS_CLASSES],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="HTTP API (API Gateway)",
                left=[
                    http_api.metric_count(period=PERIOD),
                    http_api.metric_client_error(period=PERIOD),
                    http_api.metric_server_error(period=PERIOD),
                ],
                right=[http_api.metric_latency(period=PERIOD, statistic="p90")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queue depth",
                left=[
                    metric
                    for provider, wq in queues.items()
                    for metric in (
                        wq.queue.metric_approximate_number_of_messages_visible(
                            period=PERIOD, label=f"{provider} visible"
                        ),
                        wq.queue.metric_approximate_number_of_messages_not_visible(
                            period=PERIOD, label=f"{provider} in flight"
                        ),
                        wq.dead_letter_queue.metric_approximate_number_of_messages_visible(
                            period=PERIOD, label=f"{provider} DLQ"
                        ),
                    )
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Age of oldest message (s)",
                left=[
                    wq.queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum", label=p)
                    for p, wq in queues.items()
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Provider calls and errors",
                left=[custom_metric(PROVIDER_CALLS, provider=p) for p in PROVIDERS],
                right=[custom_metric(PROVIDER_ERRORS, provider=p) for p in PROVIDERS],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Provider latency p90 (ms)",
                left=[custom_metric(PROVIDER_LATENCY, "p90", provider=p) for p in PROVIDERS],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Webhooks received",
                left=[custom_metric(WEBHOOKS_RECEIVED, provider=p) for p in PROVIDERS],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Requests finished by status",
                left=[custom_metric(REQUESTS_FINISHED, status=s) for s in FINAL_STATUSES],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[fn.metric_errors(period=PERIOD, label=name) for name, fn in functions.items()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration p90 (ms)",
                left=[fn.metric_duration(period=PERIOD, statistic="p90", label=name) for name, fn in functions.items()],
                width=12,
            ),
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.Metric,
        *,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        description: str,
    ) -> None:
        alarm = metric.create_alarm(
            self,
            construct_id,
            alarm_description=description,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        pin_logical_id(alarm, construct_id)
        if self.topic is not None:
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
            alarm.add_ok_action(cloudwatch_actions.SnsAction(self.topic))
        self.alarms[construct_id] = alarm
