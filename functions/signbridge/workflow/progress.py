"""Moving a request on: apply the planner's moves, enqueue its steps, or fail the request with a reason.

`advance` is what every operation, the intake, the API and the reconciler call after they wrote their result. It
loops: plan, apply the move (a conditional transition), plan again, until the plan holds only steps, which it
enqueues (grouped per queue, deduplicated by SQS). A lost race while applying a move means someone else moved the
request: the loop re-reads and plans from the new state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from signbridge.storage.errors import ConcurrentUpdateError, TransitionNotAllowedError
from signbridge.storage.queues import Queue
from signbridge.workflow.lifecycle import is_terminal
from signbridge.workflow.messages import OperationMessage
from signbridge.workflow.models import Cause, RequestAggregate, RequestStatus
from signbridge.workflow.operations import Op
from signbridge.workflow.planner import Plan, plan_next_steps
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
    for _ in range(MAX_MOVES):
        plan = plan_next_steps(current, correlation_id=correlation_id, stale=stale)
        steps = _with_payloads(plan.steps, payloads or {})
        if plan.move is None:
            enqueue(services, steps)
            return current
        enqueue(services, steps)
        _apply_move(services, current, plan, cause=cause, correlation_id=correlation_id)
        current = services.records.get_request(request_id)
    logger.error("planner did not settle", extra={"request_id": request_id, "status": current.request.status})
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
    services: Services, aggregate: RequestAggregate, plan: Plan, *, cause: Cause, correlation_id: str
) -> None:
    move = plan.move
    assert move is not None
    request = aggregate.request
    try:
        services.records.transition(
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
        logger.warning("request failed", extra={"request_id": request_id, "reason": reason})
        return True
    return False
