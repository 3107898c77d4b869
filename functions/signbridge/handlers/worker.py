"""Lambda `worker`: runs the operations queued on `zapsign-ops` and `oneshot-ops` (one function, two event source
mappings; each mapping caps its own concurrency for its provider's rate limit).

FIFO partial batch responses: a record that fails is reported, and so are the later records of the same message
group (their order matters), while other groups go on. What a failure means:

- a provider's `RetryableError` (unavailable, 429, OTP too soon): the record comes back after a backoff the worker
  sets on its visibility timeout (`Retry-After` when the provider gave one);
- a lost race (`ConcurrentUpdateError`): the operation runs again at once, a few times, then the record comes back;
- a move the lifecycle refuses (`TransitionNotAllowedError`): a late or duplicate message, consumed and logged;
- a provider's `PermanentError` that the operation did not handle: the request fails with the provider's reason;
- anything else (a malformed message, a bug): the record comes back and, after `maxReceiveCount`, waits in the DLQ.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from signbridge.domain.errors import ConcurrentUpdateError, TransitionNotAllowedError
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause
from signbridge.domain.provider_errors import PermanentError, RetryableError
from signbridge.observability import METRICS_NAMESPACE, SERVICE_NAME
from signbridge.storage.clients import sqs_client
from signbridge.telemetry import Tracer
from signbridge.wiring import get_services
from signbridge.workflow import registry
from signbridge.workflow.progress import fail_request
from signbridge.workflow.services import Services

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)

RACE_ATTEMPTS = 3
BACKOFF_BASE_SECONDS = 10
BACKOFF_MAX_SECONDS = 900  # SQS allows up to 12 h; 15 min keeps a provider outage from stalling requests for long


def backoff_seconds(receive_count: int, retry_after: float | None) -> int:
    if retry_after is not None:
        return int(min(max(retry_after, 1), BACKOFF_MAX_SECONDS))
    return int(min(BACKOFF_BASE_SECONDS * 2 ** max(receive_count - 1, 0), BACKOFF_MAX_SECONDS))


def run_message(services: Services, message: OperationMessage) -> None:
    """Run one operation message, with the worker's failure rules (see the module docstring)."""
    operation = registry.lookup(message.op)
    for attempt in range(1, RACE_ATTEMPTS + 1):
        try:
            operation(services, message)
            return
        except ConcurrentUpdateError:
            if attempt == RACE_ATTEMPTS:
                raise
            logger.info("lost a race; running the operation again", extra={"attempt": attempt})
        except TransitionNotAllowedError as error:
            logger.info("late or duplicate message: nothing to do", extra={"reason": str(error)})
            return
        except RetryableError:
            raise
        except PermanentError as error:
            if message.request_id is None:
                logger.warning("provider refused a hint", extra={"provider_message": error.message})
                return
            fail_request(
                services,
                message.request_id,
                f"{error.provider} {error.operation} refused: {error.message}",
                cause=Cause.WORKER,
                correlation_id=message.correlation_id,
            )
            return


def _queue_url(services: Services, event_source_arn: str) -> str | None:
    queue_name = event_source_arn.rsplit(":", 1)[-1]
    for url in (services.settings.zapsign_queue_url, services.settings.oneshot_queue_url):
        if url.rstrip("/").rsplit("/", 1)[-1] == queue_name:
            return url
    return None


def _record_handler(record: SQSRecord) -> None:
    services = get_services()
    message = OperationMessage.from_body(record.body)
    logger.append_keys(
        correlation_id=message.correlation_id,
        request_id=message.request_id,
        op=message.op,
        signer=message.signer,
        document=message.document,
    )
    try:
        with tracer.provider.in_subsegment(f"op:{message.op}"):
            run_message(services, message)
        metrics.add_metric(name="OperationSucceeded", unit=MetricUnit.Count, value=1)
    except RetryableError as error:
        delay = backoff_seconds(int(record.attributes.approximate_receive_count), error.retry_after)
        logger.warning(
            "provider busy; retrying later",
            extra={"provider": error.provider, "status": error.status, "retry_in_seconds": delay},
        )
        queue_url = _queue_url(services, record.event_source_arn)
        if queue_url is not None:
            sqs_client().change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
            )
        metrics.add_metric(name="OperationRetried", unit=MetricUnit.Count, value=1)
        raise
    except Exception:
        metrics.add_metric(name="OperationFailed", unit=MetricUnit.Count, value=1)
        raise
    finally:
        logger.remove_keys(["correlation_id", "request_id", "op", "signer", "document"])


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    return process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
