"""An SQS consumer written the way SignBridge's worker is: Powertools FIFO partial batch processing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from tests.local.fake_handlers import recorder

processor = SqsFifoPartialProcessor()


def record_handler(record: SQSRecord) -> None:
    recorder.record("powertools_worker", record.body, {"group": record.attributes.message_group_id})
    if record.body == "fail":
        raise ValueError("this step fails")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
