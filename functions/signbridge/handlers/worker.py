"""Lambda `worker`: runs the operations queued on `zapsign-ops` and `oneshot-ops` (one function, two event source
mappings; each mapping caps its own concurrency for its provider's rate limit).

FIFO partial batch responses: a record that fails is reported, and so are the later records of the same message
group (their order matters), while other groups go on. What a failure means:

- a provider's `RetryableError` (unavailable, 429, OTP too soon): the record comes back after a backoff the worker
  sets on its visibility timeout (`Retry-After` when the provider gave one);
- a lost race (`ConcurrentUpdateError`): the operation runs again at once, a few times, then the record comes back;
- a move the lifecycle refuses (`TransitionNotAllowedError`): a late or duplicate message, consumed and logged;
- a provider's `PermanentError` that the operation did not handle: the request fails with the provider's reason;
- a message that can never run (not JSON, not an operation message, an operation nobody knows: e.g. AWS's sample
  body "Hello from SQS!") is set aside at once: logged with its message id and a short safe excerpt, counted
  (`PoisonMessage`), sent to the queue's own dead-letter queue (read from its redrive policy) and acknowledged, so its
  FIFO group goes on; redelivering it could never help;
- anything else (a bug, a lost race too often): the record comes back and, after `maxReceiveCount`, waits in the DLQ.

Every record reported as a failure (the failing one, and the later records of its group that were skipped) gets a
short visibility timeout, the same backoff, instead of the queue's 12 minutes: one failing record delays its group
by seconds, not by the full visibility timeout.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from signbridge.domain.errors import ConcurrentUpdateError, TransitionNotAllowedError
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause
from signbridge.domain.provider_errors import PermanentError, RetryableError
from signbridge.observability import METRICS_NAMESPACE, POISON_MESSAGES, SERVICE_NAME
from signbridge.storage.clients import sqs_client
from signbridge.storage.queues import dead_letter_queue_url
from signbridge.telemetry import Tracer
from signbridge.wiring import get_services
from signbridge.workflow import registry
from signbridge.workflow.progress import fail_request
from signbridge.workflow.registry import UnknownOperationError
from signbridge.workflow.services import Services

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)

RACE_ATTEMPTS = 3
BACKOFF_BASE_SECONDS = 10
BACKOFF_MAX_SECONDS = 900  # SQS allows up to 12 h; 15 min keeps a provider outage from stalling requests for long
EXCERPT_CHARS: Final = 24  # of a poison body in the log: enough to recognise it, too short to carry a person's data


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


class PoisonMessageError(Exception):
    """A record that can never run, whatever the number of deliveries."""


def parse_message(body: str) -> OperationMessage:
    """The operation message of a body, or `PoisonMessageError` when no delivery of it could ever run."""
    try:
        message = OperationMessage.from_body(body)
        registry.lookup(message.op)
    except ValidationError as error:
        raise PoisonMessageError(f"not an operation message ({error.error_count()} problem(s))") from None
    except UnknownOperationError as error:
        raise PoisonMessageError(str(error)) from None
    return message


def safe_excerpt(body: str) -> str:
    """The first few printable characters of a body (anything else as `?`), for a log line."""
    head = "".join(char if char.isprintable() else "?" for char in body[:EXCERPT_CHARS])
    return head + ("..." if len(body) > EXCERPT_CHARS else "")


@cache
def _dead_letter_queue_url(queue_url: str) -> str | None:
    return dead_letter_queue_url(sqs_client(), queue_url)


def _set_aside(services: Services, record: SQSRecord, reason: str) -> None:
    """Send a poison record to its queue's DLQ and let the batch acknowledge it; raise if that is not possible (the
    record then comes back and reaches the DLQ by `maxReceiveCount`)."""
    metrics.add_metric(name=POISON_MESSAGES, unit=MetricUnit.Count, value=1)
    logger.error(
        "message can never run; set aside in the dead-letter queue",
        extra={
            "message_id": record.message_id,
            "reason": reason,
            "body_chars": len(record.body or ""),
            "body_excerpt": safe_excerpt(record.body or ""),
        },
    )
    queue_url = _queue_url(services, record.event_source_arn)
    dead_letters = _dead_letter_queue_url(queue_url) if queue_url is not None else None
    if dead_letters is None:
        raise PoisonMessageError(f"{reason}; no dead-letter queue to set it aside in")
    group = record.attributes.message_group_id or record.message_id
    sqs_client().send_message(
        QueueUrl=dead_letters,
        MessageBody=record.body or "",
        MessageGroupId=group,
        MessageDeduplicationId=record.message_id,
    )


def _record_handler(record: SQSRecord) -> None:
    services = get_services()
    try:
        message = parse_message(record.body or "")
    except PoisonMessageError as error:
        _set_aside(services, record, str(error))
        return
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
        _delay(services, record, delay)
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
    _delayed.clear()
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # A batch whose every record failed is answered like any other (each record reported, each with its backoff)
    # rather than raised: a raised batch comes back after the queue's full visibility timeout.
    processor.raise_on_entire_batch_failure = False
    answer = process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
    _shorten_visibility(event, answer)
    return answer


_delayed: set[str] = set()
"""Message ids of this batch whose visibility a handler already set (a provider's `Retry-After`)."""


def _delay(services: Services, record: SQSRecord, seconds: int) -> None:
    queue_url = _queue_url(services, record.event_source_arn)
    if queue_url is None:
        return
    sqs_client().change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=seconds
    )
    _delayed.add(record.message_id)


def _shorten_visibility(event: dict[str, Any], answer: PartialItemFailureResponse) -> None:
    """Every reported record not yet delayed (a failure, or a later record of its group that was skipped) comes back
    after the worker's backoff rather than the queue's visibility timeout. Best effort: a refused change leaves the
    queue's own timeout, which is still correct, only slower."""
    failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
    services = get_services()
    for raw in event.get("Records", []):
        record = SQSRecord(raw)
        if record.message_id not in failed or record.message_id in _delayed:
            continue
        seconds = backoff_seconds(int(record.attributes.approximate_receive_count), None)
        try:
            _delay(services, record, seconds)
        except Exception:  # best effort, see above
            logger.warning("could not shorten a failed record's visibility", extra={"message_id": record.message_id})
