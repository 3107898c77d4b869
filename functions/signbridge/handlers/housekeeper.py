"""Lambda `housekeeper`: daily (EventBridge schedule, 03:15 UTC), removes what providers still hold for finished
requests, expires overdue requests and abandoned drafts, removes abandoned uploads
(`signbridge.workflow.maintenance.housekeep`; docs/operations.md).

Takes EventBridge's "Scheduled Event" (events/schedule/housekeeper.json): ages and deadlines are measured from the
event's `time`, the event's `id` is the correlation id of everything the run records and enqueues. Returns the
report (counts only).
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
from signbridge.workflow.maintenance import HousekeepingReport, housekeep

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_scheduled(event, get_services(), name="housekeeper", run=housekeep, emit_metrics=emit_metrics)


def emit_metrics(report: HousekeepingReport) -> None:
    expired = sum(report.expired.values())
    metrics.add_metric(name="RequestsExpired", unit=MetricUnit.Count, value=expired)
    metrics.add_metric(name="CleanupEnqueued", unit=MetricUnit.Count, value=sum(report.cleanup_enqueued.values()))
    metrics.add_metric(name="UploadsRemoved", unit=MetricUnit.Count, value=report.incoming_deleted)
    metrics.add_metric(name=observability.HOUSEKEEPING_ERRORS, unit=MetricUnit.Count, value=sum(report.errors.values()))
    metrics.add_metric(name="HousekeepingSkipped", unit=MetricUnit.Count, value=sum(report.skipped.values()))
    dropped = sum(report.dead_letters_dropped.values())
    metrics.add_metric(name="DeadLettersDropped", unit=MetricUnit.Count, value=dropped)
