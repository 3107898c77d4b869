"""What the scheduled handlers (`reconciler`, `housekeeper`) share: EventBridge's "Scheduled Event" in, one
maintenance run, its report out.

Ages and deadlines are measured from the event's `time` (a delivery retried by EventBridge measures from when the run
was due, which only makes it more patient), as long as that `time` is within a day before and five minutes after the
clock (`ScheduledEvent.run_time`: outside that window, e.g. the 1970 of AWS's sample event, the clock is used and a
warning logged); the event's `id` is the correlation id of everything the run records and
enqueues. An operator's manual invocation with `{}` works too: the clock gives the time, a correlation id is made.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from signbridge.workflow.maintenance import ScheduledEvent
from signbridge.workflow.services import Services


class Report(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Report)
R_co = TypeVar("R_co", bound=Report, covariant=True)


class MaintenanceRun(Protocol[R_co]):
    """`maintenance.reconcile`, `maintenance.housekeep`."""

    def __call__(self, services: Services, *, now: datetime, correlation_id: str) -> R_co: ...


def run_scheduled(
    event: dict[str, Any],
    services: Services,
    *,
    name: str,
    run: MaintenanceRun[R],
    emit_metrics: Callable[[R], None],
) -> dict[str, Any]:
    """Run `run` for the scheduled `event`, emit its metrics, return its report (counts only)."""
    scheduled = ScheduledEvent.model_validate(event)
    correlation_id = scheduled.id or f"{name}-{uuid.uuid4().hex}"
    report = run(services, now=scheduled.run_time(services.clock()), correlation_id=correlation_id)
    emit_metrics(report)
    return report.as_dict()
