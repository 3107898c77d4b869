"""What the One-Shot operation families share: whose turn it is (`current_turn`, which reads the request into a
`Step`), streaming a PDF from the Optimizer to S3, failing the request, and the log line of a skipped message."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TypeVar

from aws_lambda_powertools import Logger

from signbridge.domain.errors import FileTooLargeError, NotAPdfError
from signbridge.domain.files import FileStream, StoredFile
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, Document, RequestAggregate, RequestStatus, Signer
from signbridge.workflow.progress import fail_request
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step
from signbridge.workflow.stored_earlier import stored_earlier

logger = Logger(child=True)
T = TypeVar("T")


class CannotProceedError(Exception):
    """The request cannot go on for a reason an operator must see (it becomes the failure reason)."""


def current_turn(
    services: Services, message: OperationMessage, statuses: tuple[RequestStatus, ...]
) -> tuple[Step, Signer] | None:
    """The step on the request and the message's signer, if the request is in one of `statuses` and it is that
    signer's turn."""
    if message.request_id is None or message.signer is None:
        skip("no request or signer named")
        return None
    step = Step.read(services, message.request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)
    aggregate = step.aggregate
    if aggregate.request.status not in statuses:
        skip("the request is elsewhere", status=aggregate.request.status)
        return None
    signer = signer_of(aggregate, message.signer)
    if signer is None or current_of(aggregate) != signer.index:
        skip("not this signer's turn", signer=message.signer)
        return None
    return step, signer


def current_of(aggregate: RequestAggregate) -> int:
    return aggregate.request.current_signer or 0  # as the planner reads it


def signer_of(aggregate: RequestAggregate, index: int) -> Signer | None:
    return next((signer for signer in aggregate.signers if signer.index == index), None)


def document_of(aggregate: RequestAggregate, message: OperationMessage) -> Document | None:
    if message.document is None:
        return None
    return next((document for document in aggregate.documents if document.index == message.document), None)


def store_pdf(
    services: Services,
    message: OperationMessage,
    key: str,
    opener: Callable[[], AbstractContextManager[FileStream]],
    *,
    what: str,
) -> StoredFile | None:
    """Stream a PDF from the Optimizer to `key` (checked, capped, hashed); None after failing the request when the
    Optimizer's answer is not a usable PDF. A PDF an earlier attempt stored at `key` is not stored again."""
    earlier = stored_earlier(services, key)
    if earlier is not None:
        return earlier
    return fetch_pdf(
        services,
        message,
        opener,
        lambda stream: services.files.store_stream(
            key, stream.chunks, expect_pdf=True, max_bytes=services.settings.max_file_bytes
        ),
        what=what,
    )


def fetch_pdf(
    services: Services,
    message: OperationMessage,
    opener: Callable[[], AbstractContextManager[FileStream]],
    keep: Callable[[FileStream], T],
    *,
    what: str,
) -> T | None:
    """`keep` a PDF the Optimizer streams (it stores it: checked, capped, hashed); None after failing the request
    when the Optimizer's answer is not a usable PDF."""
    try:
        with opener() as stream:
            return keep(stream)
    except NotAPdfError:
        fail(services, message, f"the Optimizer's {what} is not a PDF; nothing was stored")
    except FileTooLargeError as error:
        fail(services, message, f"the Optimizer's {what} is larger than {error.max_bytes} bytes; nothing was stored")
    return None


def fail(services: Services, message: OperationMessage, reason: str) -> None:
    if message.request_id is None:
        logger.warning("cannot proceed", extra={"reason": reason})
        return
    fail_request(services, message.request_id, reason, cause=Cause.WORKER, correlation_id=message.correlation_id)


def cause_of(message: OperationMessage) -> Cause:
    """A callback hint is a webhook's doing; anything else the worker's (the reconciler's messages included)."""
    return Cause.WEBHOOK if message.request_id is None else Cause.WORKER


def skip(reason: str, **context: object) -> None:
    """A late, duplicate or not-yet-wanted message: consumed without a side effect."""
    logger.info("nothing to do", extra={"reason": reason, **{key: str(value) for key, value in context.items()}})


def time_of(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
