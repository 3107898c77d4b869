"""Lambda `intake`: S3 `ObjectCreated` under `incoming/` → `workflow.intake.accept_upload` for each record.

Thin: read the records (URL-decoded keys, S3's `s3:TestEvent` ignored), run each in its own try so one bad record
does not block the others, then fail the invocation if any record failed unexpectedly, so Lambda's asynchronous
retries (two) run the event again; the records that succeeded are no-ops the second time.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from signbridge.observability import METRICS_NAMESPACE, SERVICE_NAME
from signbridge.telemetry import Tracer
from signbridge.wiring import get_services
from signbridge.workflow.intake import IntakeResult, accept_upload

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)

TEST_EVENT = "s3:TestEvent"


class IntakeFailedError(Exception):
    """Some records could not be processed now; the invocation fails so that Lambda retries the event."""


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("Event") == TEST_EVENT:  # sent once when the notification is configured (through SNS/SQS)
        logger.info("S3 test event ignored")
        metrics.add_metric(name="IntakeRecords", unit=MetricUnit.Count, value=0)
        return {"records": 0}
    services = get_services()
    records = event.get("Records", [])
    metrics.add_metric(name="IntakeRecords", unit=MetricUnit.Count, value=len(records))
    results: dict[str, int] = {}
    failed = 0
    for record in records:
        event_name = str(record.get("eventName", "ObjectCreated:"))
        if event_name == TEST_EVENT or not event_name.startswith("ObjectCreated:"):
            continue  # the notification is configured for ObjectCreated only; anything else is not an upload
        s3 = record.get("s3", {})
        bucket = s3.get("bucket", {}).get("name")
        key = unquote_plus(str(s3.get("object", {}).get("key", "")))  # S3 event keys are URL-encoded, spaces as +
        if bucket != services.settings.bucket_name:
            logger.warning("event for another bucket ignored", extra={"bucket": bucket})
            continue
        try:
            result = accept_upload(services, key, correlation_id=context.aws_request_id)
        except Exception:
            failed += 1
            logger.exception("upload not processed; the invocation will be retried", extra={"key": key})
            continue
        results[result.value] = results.get(result.value, 0) + 1
        if result is IntakeResult.REJECTED:
            metrics.add_metric(name="UploadsRejected", unit=MetricUnit.Count, value=1)
    logger.info("intake done", extra={"results": results, "failed": failed})
    if failed:
        raise IntakeFailedError(f"{failed} record(s) not processed")
    return {"records": sum(results.values()), "results": results}
