"""The evidence package as the API sees it: ask for a rebuild, read what is recorded.

The package itself (what goes in, the seal) is `signbridge.domain.evidence`; the worker step that builds it is
`signbridge.workflow.evidence_package` (queued by the planner when a request completes, see
`signbridge.workflow.planner.evidence_step`). This module imports no ZIP or KMS code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from signbridge.domain.models import Cause, RequestStatus, SignatureRequest
from signbridge.workflow.errors import RequestStateError
from signbridge.workflow.planner import evidence_step
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

RETRY_AFTER_SECONDS: Final = 5
"""What `GET …/evidence` tells a client to wait while the package is being built (seconds for a usual request)."""


def rebuild_evidence(services: Services, request_id: str, *, correlation_id: str) -> SignatureRequest:
    """Ask for the package to be built again (the same key; the bucket keeps the older version). Only for a
    completed request (`RequestStateError` otherwise)."""
    step = Step.read(services, request_id, cause=Cause.API, correlation_id=correlation_id)
    if step.request.status is not RequestStatus.COMPLETED:
        raise RequestStateError(f"the request is {step.request.status.value}: only a completed request has evidence")
    aggregate = step.record("evidence package rebuild asked", {"evidence_requested_at": services.clock()})
    step.enqueue([evidence_step(aggregate.request, correlation_id)])
    return aggregate.request


@dataclass(frozen=True)
class EvidenceStatus:
    """The package as recorded (`ready`), or being built (`retry_after_seconds`)."""

    request: SignatureRequest
    ready: bool
    retry_after_seconds: int = RETRY_AFTER_SECONDS


def evidence_package(services: Services, request_id: str) -> EvidenceStatus:
    """The request's package: ready, or being built. `RequestStateError` for a request that is not completed;
    `RequestNotFoundError` for an unknown one. One read of the request item."""
    request = services.records.get_request_item(request_id)
    if request.status is not RequestStatus.COMPLETED:
        raise RequestStateError(f"the request is {request.status.value}: only a completed request has evidence")
    return EvidenceStatus(request=request, ready=not request.evidence_pending)


def is_overdue(request: SignatureRequest, now: datetime, after: timedelta) -> bool:
    """A completed request whose package should have been built by now (the reconciler queues it again)."""
    if not request.evidence_pending:
        return False
    since = max(request.status_since, request.evidence_requested_at or request.status_since)
    return now - since >= after
