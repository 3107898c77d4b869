"""Lambda `reconciler`: every 10 minutes (EventBridge schedule), heals requests whose status has not moved for longer
than its threshold (`signbridge.workflow.maintenance.reconcile`; docs/operations.md).

Takes EventBridge's "Scheduled Event" (events/schedule/reconciler.json): ages are measured from the event's `time`
(a delivery retried by EventBridge measures from when the run was due, which only makes it more patient), the
event's `id` is the correlation id of everything the run enqueues. Returns the report (counts only).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from signbridge import observability
from signbridge.handlers.scheduled import run_scheduled
from signbridge.observability import METRICS_NAMESPACE, SERVICE_NAME
from signbridge.telemetry import Tracer
from signbridge.wiring import get_services
from signbridge.workflow.maintenance import ReconcileReport, reconcile

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_scheduled(event, get_services(), name="reconciler", run=reconcile, emit_metrics=emit_metrics)


def emit_metrics(report: ReconcileReport) -> None:
    metrics.add_metric(name="RequestsReconciled", unit=MetricUnit.Count, value=sum(report.reconciled.values()))
    metrics.add_metric(name=observability.REQUESTS_GIVEN_UP, unit=MetricUnit.Count, value=sum(report.gave_up.values()))
    metrics.add_metric(name=observability.RECONCILE_ERRORS, unit=MetricUnit.Count, value=sum(report.errors.values()))
    metrics.add_metric(name="ReconcileSkipped", unit=MetricUnit.Count, value=report.skipped)
