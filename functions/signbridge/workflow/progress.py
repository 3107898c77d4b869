"""Moving a request on: apply the planner's moves, enqueue its steps, or fail the request with a reason.

`advance` is what every operation, the intake, the API and the reconciler call after they wrote their result. It
loops: plan, apply the move (a conditional transition), plan again, until the plan holds only steps, which it
enqueues (grouped per queue, deduplicated by SQS). A lost race while applying a move means someone else moved the
request: the loop re-reads and plans from the new state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger

from signbridge import telemetry
from signbridge.domain.changes import DocumentChange, Move, SignerChange, Transition
from signbridge.domain.errors import ConcurrentUpdateError, TransitionNotAllowedError
from signbridge.domain.lifecycle import is_terminal
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, Document, RequestAggregate, RequestStatus, Signer, TimelineEntry
from signbridge.domain.operations import Op, Queue
from signbridge.workflow.planner import plan_next_steps
from signbridge.workflow.services import Services

logger = Logger(child=True)

MAX_MOVES = 12  # more moves than a request has stages means a planner bug: stop instead of looping

StepKey = tuple[Op, int | None, int | None]  # (op, signer, document)
"""Names one planned step, to hand it a payload: what the caller already knows that the step would otherwise read
again from the provider (e.g. the ZapSign file links a sync step just read, valid for an hour)."""


def advance(
    services: Services,
    request_id: str,
    *,
    cause: Cause,
    correlation_id: str,
    stale: bool = False,
    aggregate: RequestAggregate | None = None,
    payloads: Mapping[StepKey, Mapping[str, Any]] | None = None,
) -> RequestAggregate:
    """Apply every move the planner can make now, then enqueue its steps. Returns the request as it ends up.

    `payloads` are attached to the planned steps they name; a step must work without its payload too (the
    reconciler plans the same steps knowing nothing)."""
    current = aggregate or services.records.get_request(request_id)
    planned: list[OperationMessage] = []
    for _ in range(MAX_MOVES):
        plan = plan_next_steps(current, correlation_id=correlation_id, stale=stale)
        planned.extend(_with_payloads(plan.steps, payloads or {}))
        if plan.move is None:
            break
        moved = _apply_move(services, current, plan.move, cause=cause, correlation_id=correlation_id)
        # The move's result is known exactly, so the request is updated here rather than read again; after a
        # lost race only a read says where it stands.
        if moved and is_terminal(plan.move.to):
            telemetry.request_finished(plan.move.to.value)
        current = (
            after_move(current, plan.move, moved, cause=cause, correlation_id=correlation_id)
            if moved
            else services.records.get_request(request_id)
        )
    else:
        logger.error("planner did not settle", extra={"request_id": request_id, "status": current.request.status})
    # Steps the planner asks for in several of the states it went through (e.g. a cleanup) are sent once.
    enqueue(services, list({step.deduplication_key(): step for step in planned}.values()))
    return current


def _with_payloads(
    steps: tuple[OperationMessage, ...], payloads: Mapping[StepKey, Mapping[str, Any]]
) -> tuple[OperationMessage, ...]:
    if not payloads:
        return steps
    return tuple(
        step.model_copy(update={"payload": {**step.payload, **payloads[key]}})
        if (key := (Op(step.op), step.signer, step.document)) in payloads
        else step
        for step in steps
    )


def _apply_move(
    services: Services, aggregate: RequestAggregate, move: Move, *, cause: Cause, correlation_id: str
) -> Transition | None:
    request = aggregate.request
    try:
        return services.records.transition(
            request.id,
            move.to,
            expected_version=request.version,
            expected_status=request.status,
            workflow=request.workflow,
            cause=cause,
            correlation_id=correlation_id,
            detail=move.detail,
            extra_updates=move.updates,
            document_changes=move.document_changes,
            signer_changes=move.signer_changes,
        )
    except ConcurrentUpdateError:
        logger.info("request moved meanwhile; planning again", extra={"request_id": request.id})
        return None


def after_move(
    aggregate: RequestAggregate, move: Move, moved: Transition, *, cause: Cause, correlation_id: str
) -> RequestAggregate:
    """The aggregate as the store holds it after `move` was written as `moved` (same fields, same timeline entry)."""
    at = moved.at
    request = aggregate.request.model_copy(
        update={"status": move.to, "version": moved.version, "status_since": at, "updated_at": at, **move.updates}
    )
    document_changes = {change.index: change for change in move.document_changes}
    signer_changes = {change.index: change for change in move.signer_changes}
    documents = tuple(_changed(document, document_changes.get(document.index), at) for document in aggregate.documents)
    signers = tuple(_changed(signer, signer_changes.get(signer.index), at) for signer in aggregate.signers)
    entry = TimelineEntry(
        id=moved.event_id or "",
        at=at,
        from_status=moved.from_status,
        to_status=moved.to_status,
        cause=cause,
        correlation_id=correlation_id,
        detail=move.detail,
    )
    return RequestAggregate(
        request=request, documents=documents, signers=signers, timeline=(*aggregate.timeline, entry)
    )


def move_document_and_advance(
    services: Services,
    aggregate: RequestAggregate,
    change: DocumentChange,
    *,
    cause: Cause,
    correlation_id: str,
    detail: str,
    request_status: RequestStatus | None = None,
) -> RequestAggregate:
    """An operation's last write when it is a document move: write `change` (conditional on the document's status,
    and on `request_status` if given), then `advance` from the aggregate as written, without reading it again."""
    assert change.to is not None
    request = aggregate.request
    moved = services.records.transition_document(
        request.id,
        change.index,
        change.to,
        workflow=request.workflow,
        expected_status=change.expected_status,
        cause=cause,
        correlation_id=correlation_id,
        detail=detail,
        updates=change.updates,
        request_status=request_status,
    )
    after = after_part(aggregate, change, moved, cause=cause, correlation_id=correlation_id, detail=detail)
    return advance(services, request.id, cause=cause, correlation_id=correlation_id, aggregate=after)


def after_part(
    aggregate: RequestAggregate,
    change: DocumentChange | SignerChange,
    moved: Transition,
    *,
    cause: Cause,
    correlation_id: str,
    detail: str | None = None,
) -> RequestAggregate:
    """The aggregate an operation read, with a document or signer transition it then wrote applied: the part moved,
    and its timeline entry (`transition_document` / `transition_signer` leave the request item as it was). Fields the
    operation wrote earlier (an intent) are not in it; the planner does not read them. The operation hands it to
    `advance`, which then needs no read of its own; if the request changed meanwhile, the planner's move loses its
    race and `advance` reads the request after all."""
    entries = aggregate.timeline
    if moved.event_id is not None:
        entries = (
            *entries,
            TimelineEntry(
                id=moved.event_id,
                at=moved.at,
                subject=moved.subject,
                subject_index=moved.subject_index,
                from_status=moved.from_status,
                to_status=moved.to_status,
                cause=cause,
                correlation_id=correlation_id,
                detail=detail,
            ),
        )
    if isinstance(change, DocumentChange):
        documents = tuple(
            _changed(document, change if document.index == change.index else None, moved.at)
            for document in aggregate.documents
        )
        return aggregate.model_copy(update={"documents": documents, "timeline": entries})
    signers = tuple(
        _changed(signer, change if signer.index == change.index else None, moved.at) for signer in aggregate.signers
    )
    return aggregate.model_copy(update={"signers": signers, "timeline": entries})


Part = TypeVar("Part", Document, Signer)


def _changed(part: Part, change: DocumentChange | SignerChange | None, at: datetime) -> Part:
    if change is None:
        return part
    moved: dict[str, object] = {"status": change.to, "status_since": at} if change.to is not None else {}
    return part.model_copy(update={**moved, **change.updates})


def enqueue(services: Services, steps: tuple[OperationMessage, ...] | list[OperationMessage]) -> None:
    by_queue: dict[Queue, list[OperationMessage]] = defaultdict(list)
    for step in steps:
        by_queue[Op(step.op).queue].append(step)
    for queue, messages in by_queue.items():
        services.queues.send_batch(queue, messages)
        logger.info("enqueued", extra={"queue": queue.value, "ops": [message.op for message in messages]})


def fail_request(
    services: Services,
    request_id: str,
    reason: str,
    *,
    cause: Cause,
    correlation_id: str,
) -> bool:
    """Move the request to `failed` with `reason` (no personal data in it). False when it already ended."""
    for _ in range(3):
        request = services.records.get_request_item(request_id)
        if is_terminal(request.status):
            return False
        try:
            services.records.transition(
                request_id,
                RequestStatus.FAILED,
                expected_version=request.version,
                expected_status=request.status,
                workflow=request.workflow,
                cause=cause,
                correlation_id=correlation_id,
                detail=reason,
                extra_updates={"failure_reason": reason},
            )
        except ConcurrentUpdateError:
            continue
        except TransitionNotAllowedError:
            return False
        telemetry.request_finished(RequestStatus.FAILED.value)
        logger.warning("request failed", extra={"request_id": request_id, "reason": reason})
        return True
    return False
