"""Moving a request on: apply the planner's moves, enqueue its steps, or fail the request with a reason.

`advance` is what a `Step` (`signbridge.workflow.step`) runs after the step wrote its result, and what the reconciler
runs on the request it read. It loops: plan, apply the move (a conditional `RecordStore.move_request`, which answers
with the request as written), plan again, until the plan holds only steps, which it enqueues (grouped per queue,
deduplicated by SQS). A lost race while applying a move means someone else moved the request: the loop re-reads and
plans from the new state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from signbridge import telemetry
from signbridge.domain.changes import Move
from signbridge.domain.errors import ConcurrentUpdateError, TransitionNotAllowedError
from signbridge.domain.lifecycle import is_terminal
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, RequestAggregate, RequestStatus
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
        # The store answers with the request as it wrote it, so nothing is read again; after a lost race only a
        # read says where it stands.
        if moved is not None and is_terminal(plan.move.to):
            telemetry.request_finished(plan.move.to.value)
        current = moved if moved is not None else services.records.get_request(request_id)
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
) -> RequestAggregate | None:
    """The planner's move written through the store: the aggregate as written, or None after a lost race."""
    try:
        return services.records.move_request(
            aggregate,
            move.to,
            cause=cause,
            correlation_id=correlation_id,
            detail=move.detail,
            updates=move.updates,
            document_changes=move.document_changes,
            signer_changes=move.signer_changes,
        )
    except ConcurrentUpdateError:
        logger.info("request moved meanwhile; planning again", extra={"request_id": aggregate.request.id})
        return None


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
        # The request item alone (one GetItem) is all a move to failed needs: no part changes ride along.
        request = services.records.get_request_item(request_id)
        if is_terminal(request.status):
            return False
        try:
            services.records.move_request(
                RequestAggregate(request=request, documents=(), signers=(), timeline=()),
                RequestStatus.FAILED,
                cause=cause,
                correlation_id=correlation_id,
                detail=reason,
                updates={"failure_reason": reason},
            )
        except ConcurrentUpdateError:
            continue
        except TransitionNotAllowedError:
            return False
        telemetry.request_finished(RequestStatus.FAILED.value)
        logger.warning("request failed", extra={"request_id": request_id, "reason": reason})
        return True
    return False
