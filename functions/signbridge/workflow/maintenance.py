"""Scheduled maintenance: the reconciler (every 10 minutes) and the housekeeper (daily). docs/operations.md is the
operator's view of both.

**Reconciler** (`reconcile`). A request whose status has not moved for longer than its status's threshold
(`STALE_AFTER`) is handed to `Step.advance(stale=True)`: the planner applies any move it can make and asks
for what is missing, including the provider re-reads (`sync_zapsign_document`, `confirm_oneshot_signature`) that only
a stale request gets. Repeats are harmless: SQS FIFO drops a repeated deduplication id within five minutes and every
operation is a no-op once its work is done. A request's `status_since` does not change while nothing moves, so a
request that cannot heal would be reconciled forever; the **give-up rule** fails it once it has been stuck longer than
`GIVE_UP_AFTER` in a status that does not wait on people.

The reconciler also queues again the evidence package of a completed request that has none
`EVIDENCE_OVERDUE_AFTER` after it completed (or after a rebuild was asked).

**Housekeeper** (`housekeep`), in this order: (1) finished requests that still hold documents at the One-Shot
Optimizer (which never deletes by itself) get their deletion enqueued; (2) requests past their `deadline`, and drafts
whose uploads never arrived, become `expired` (where the lifecycle allows it; a request being signed or archived is
left to finish) and the providers are told; (3) abandoned objects under `incoming/` are removed; (4) messages of the
dead-letter queues whose request has finished (or does not exist) are dropped, counted by queue.

Both are bounded per run (the rest is counted as skipped and comes next time), keep going when one request fails
(logged and counted), measure every age from the `now` they are given (the schedule's event time), and are safe to
run at any time and twice in a row. Their reports carry counts only, never personal data.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from aws_lambda_powertools import Logger
from pydantic import AwareDatetime, BaseModel, ConfigDict

from signbridge import telemetry
from signbridge.domain.changes import DocumentChange
from signbridge.domain.errors import ConcurrentUpdateError, RequestNotFoundError, TransitionNotAllowedError
from signbridge.domain.keys import INCOMING_PREFIX
from signbridge.domain.lifecycle import (
    REQUEST_STAGE_ORDER,
    TERMINAL_REQUEST_STATUSES,
    is_terminal,
    is_terminal_document,
    may_transition,
)
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, DocumentStatus, RequestAggregate, RequestStatus, SignatureRequest
from signbridge.domain.operations import Op, Queue
from signbridge.workflow.evidence import is_overdue
from signbridge.workflow.planner import evidence_step, plan_next_steps
from signbridge.workflow.ports import RecordStore
from signbridge.workflow.progress import enqueue
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

logger = Logger(child=True)

R = RequestStatus

LIST_PAGE_SIZE: Final = 100

# ------------------------------------------------------------------------------------------------ the schedule event


class ScheduledEvent(BaseModel):
    """The part of EventBridge's "Scheduled Event" the maintenance uses (events/schedule/*.json). Tolerant: an
    operator's manual invocation with `{}` is fine too (then the clock gives the time and a correlation id is made)."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    time: AwareDatetime | None = None

    def run_time(self, now: datetime) -> datetime:
        """The time the run measures from: the event's `time` when it lies in `SCHEDULE_TIME_WINDOW` around `now`
        (EventBridge retries a delivery for up to 24 hours, so a late run measures from when it was due); else `now`,
        logged (a hand-made event such as AWS's console sample says 1970, a wrong clock says next year: trusting it
        would expire every request or none)."""
        if self.time is None:
            return now
        earliest, latest = now - SCHEDULE_TIME_WINDOW[0], now + SCHEDULE_TIME_WINDOW[1]
        if earliest <= self.time <= latest:
            return self.time
        logger.warning(
            "scheduled event's time is outside the sane window; using the clock",
            extra={"event_time": self.time.isoformat(), "now": now.isoformat()},
        )
        return now


SCHEDULE_TIME_WINDOW: Final = (timedelta(hours=24), timedelta(minutes=5))
"""How far before and after the clock a scheduled event's `time` is believed: EventBridge's longest retry of a
delivery (24 hours, the default maximum event age) and a little clock skew."""


# ------------------------------------------------------------------------------------------------ reconciler

RECONCILER_PERIOD: Final = timedelta(minutes=10)
"""How often the reconciler runs (infra/constructs/schedules.py `RECONCILER_SCHEDULE`; a test keeps them equal)."""

GIVE_UP_AFTER: Final = timedelta(hours=48)
"""The give-up rule: a request stuck this long in a status that does not wait on people is failed with a reason
naming the status and its age. Long enough to outlast a provider outage over a weekend and an operator's redrive of
the dead-letter queues (kept 14 days); short enough that a request nobody can heal stops costing a re-read every run.
Change it here (docs/operations.md says what it means for operators)."""


@dataclass(frozen=True)
class StalePolicy:
    """When the reconciler looks at a request in one status."""

    after: timedelta
    """The request is stale once its status is older than this."""
    recheck_every: timedelta | None = None
    """For a status that waits on people: after the first look, look again only once per this period (the run whose
    period holds the next multiple of it), instead of on every run."""
    give_up_after: timedelta | None = GIVE_UP_AFTER
    """Fail the request once stuck this long; None for a status that waits on people (the housekeeper expires it at
    its deadline)."""

    def due(self, age: timedelta) -> bool:
        if self.recheck_every is None:
            return True
        first_look = age - self.after < RECONCILER_PERIOD
        return first_look or age % self.recheck_every < RECONCILER_PERIOD


# One row per status the reconciler heals, in the order it handles them (closest to done first, so a backlog in an
# early stage never starves a request about to complete). Not here: `draft` and `awaiting_otp` wait on the client
# (uploads, the SMS code) and the housekeeper expires them; `verification_failed` waits on an operator (fetching the
# file again by itself would loop on a provider serving a bad one; docs/evidence.md); terminal statuses need nothing.
STALE_AFTER: Final[Mapping[RequestStatus, StalePolicy]] = {
    # Every signed file is in S3 or on its way; completing is a planner move. A crash between two writes heals here.
    R.ARCHIVING: StalePolicy(after=timedelta(minutes=5)),
    # The API signs synchronously within its 29 s timeout: a request still signing after 3 minutes lost its API call
    # (or the result write); the planner asks the Optimizer whether the signature exists (confirm_oneshot_signature).
    R.SIGNING: StalePolicy(after=timedelta(minutes=3)),
    # Archiving the ZapSign-signed PDFs (and evidence) is a few worker steps of seconds each.
    R.ZAPSIGN_SIGNED: StalePolicy(after=timedelta(minutes=5)),
    # Create, uploads, contract, SMS: worker steps of seconds each; a lost message or a redriven one heals here.
    R.ONESHOT_PENDING: StalePolicy(after=timedelta(minutes=5)),
    # The first step is queued with the submit and a worker takes it within seconds.
    R.SUBMITTED: StalePolicy(after=timedelta(minutes=5)),
    # Signers take their time and webhooks drive this stage. A lost webhook is caught within the hour: the first
    # re-read (sync_zapsign_document) at 30 minutes, then one per hour, not one per run (a document waiting a week
    # for its signer would otherwise cost ZapSign ~1000 reads; its rate limit is 500 a minute per token).
    R.ZAPSIGN_PENDING: StalePolicy(after=timedelta(minutes=30), recheck_every=timedelta(hours=1), give_up_after=None),
}

EVIDENCE_OVERDUE_AFTER: Final = timedelta(minutes=15)
"""A completed request whose evidence package is not built this long after it completed (or after a rebuild was
asked) gets its `build_evidence_package` again (a lost message, one set aside in the DLQ, a missing evidence key)."""
EVIDENCE_WINDOW: Final = timedelta(days=7)
"""Completed requests are looked at for a missing package while they completed within this window (a range query on
the status index), not every completed request ever."""

RECONCILE_MAX_REQUESTS: Final = 500
"""Requests handled per run (advanced or given up), all statuses together. One costs a few AWS calls (~50 ms), so a
full run takes well under a minute of the reconciler's 5-minute timeout; the rest waits for the next run."""


@dataclass
class ReconcileReport:
    now: datetime
    reconciled: Counter[str] = field(default_factory=Counter)
    """Requests handed to the planner, by the status they were stuck in."""
    moved: Counter[str] = field(default_factory=Counter)
    """Of those, the ones whose status changed (a planner move), by the status they were stuck in."""
    finished: Counter[str] = field(default_factory=Counter)
    """Requests that reached a terminal status in this run (a completion by the planner, a give-up), by that status."""
    gave_up: Counter[str] = field(default_factory=Counter)
    """Requests failed by the give-up rule, by the status they were stuck in."""
    not_due: Counter[str] = field(default_factory=Counter)
    """Stale requests of a waiting status outside their re-check window."""
    moved_meanwhile: int = 0
    """Listed as stale, but they had moved by the time they were read (the status index is eventually consistent)."""
    cleanup_enqueued: Counter[str] = field(default_factory=Counter)
    """Provider clean-up operations enqueued for the requests given up, by operation."""
    errors: Counter[str] = field(default_factory=Counter)
    """Requests whose reconciliation raised (logged with their id), by status."""
    skipped: int = 0
    """Stale requests left for the next run (over `RECONCILE_MAX_REQUESTS`)."""
    evidence_queued: int = 0
    """Completed requests whose overdue evidence package was queued again."""

    @property
    def handled(self) -> int:
        return sum(self.reconciled.values()) + sum(self.gave_up.values()) + sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "reconciled": _plain(self.reconciled),
            "moved": _plain(self.moved),
            "finished": _plain(self.finished),
            "gave_up": _plain(self.gave_up),
            "not_due": _plain(self.not_due),
            "moved_meanwhile": self.moved_meanwhile,
            "cleanup_enqueued": _plain(self.cleanup_enqueued),
            "errors": _plain(self.errors),
            "skipped": self.skipped,
            "evidence_queued": self.evidence_queued,
        }


def reconcile(
    services: Services, *, now: datetime, correlation_id: str, max_requests: int = RECONCILE_MAX_REQUESTS
) -> ReconcileReport:
    """Hand every stale request to the planner (or give it up); see the module docstring."""
    report = ReconcileReport(now=now)
    for status, policy in STALE_AFTER.items():
        for listed in _each_by_status(services.records, status, now=now, older_than=policy.after):
            age = now - listed.status_since
            gives_up = policy.give_up_after is not None and age >= policy.give_up_after
            if not gives_up and not policy.due(age):
                report.not_due[status] += 1
                continue
            if report.handled >= max_requests:
                report.skipped += 1  # still listed to the end, so the count is exact; reads only
                continue
            try:
                _reconcile_one(services, listed, policy, now=now, correlation_id=correlation_id, report=report)
            except Exception:
                # One request's failure must not stop the others; the log line has its id, the report the count.
                logger.exception("reconciling a request failed", extra={"request_id": listed.id, "status": status})
                report.errors[status] += 1
    _queue_overdue_evidence(services, now=now, correlation_id=correlation_id, report=report, max_requests=max_requests)
    logger.info("reconciled", extra={"report": report.as_dict()})
    return report


def _queue_overdue_evidence(
    services: Services, *, now: datetime, correlation_id: str, report: ReconcileReport, max_requests: int
) -> None:
    """Completed requests (within `EVIDENCE_WINDOW`) whose evidence package is overdue: the build is queued again
    (from the listed item alone; the step itself is a no-op once the package is built)."""
    overdue: list[OperationMessage] = []
    for listed in _each_by_status(services.records, R.COMPLETED, now=now, newer_than=EVIDENCE_WINDOW):
        if not is_overdue(listed, now, EVIDENCE_OVERDUE_AFTER):
            continue
        if report.handled + len(overdue) >= max_requests:
            report.skipped += 1
            continue
        overdue.append(evidence_step(listed, correlation_id))
    if overdue:
        enqueue(services, overdue)
        report.evidence_queued += len(overdue)


def _reconcile_one(
    services: Services,
    listed: SignatureRequest,
    policy: StalePolicy,
    *,
    now: datetime,
    correlation_id: str,
    report: ReconcileReport,
) -> None:
    status = listed.status
    aggregate = services.records.get_request(listed.id)
    if aggregate.request.version != listed.version:
        report.moved_meanwhile += 1
        return
    age = now - listed.status_since
    if policy.give_up_after is not None and age >= policy.give_up_after:
        hours = int(age.total_seconds() // 3600)
        limit = int(policy.give_up_after.total_seconds() // 3600)
        reason = f"stuck in {status} for {hours} h; the reconciler gives up after {limit} h"
        if not _end_request(services, aggregate, R.FAILED, reason, correlation_id=correlation_id):
            report.moved_meanwhile += 1
            return
        report.gave_up[status] += 1
        report.finished[R.FAILED] += 1
        # It ends unsigned: tell the providers now rather than at the housekeeper's next run.
        steps = unsigned_end_steps(aggregate, correlation_id)
        if steps:
            enqueue(services, steps)
            report.cleanup_enqueued.update(step.op for step in steps)
        return
    after = Step(services, aggregate, cause=Cause.SCHEDULE, correlation_id=correlation_id).advance(stale=True)
    report.reconciled[status] += 1
    if after.request.status is not status:
        report.moved[status] += 1
        if is_terminal(after.request.status):
            report.finished[after.request.status] += 1


# ------------------------------------------------------------------------------------------------ housekeeper

DRAFT_MAX_AGE: Final = timedelta(hours=24)
"""A draft whose uploads have not all arrived this long after its creation is expired (or at its deadline, if
earlier). The presigned upload links live at most an hour (config.PRESIGN_TTL_MAX_SECONDS)."""

CLEANUP_WINDOW: Final = timedelta(days=7)
"""Finished requests are checked for documents left at the Optimizer while their status changed within this window:
a week of daily attempts outlasts an Optimizer outage, without reading every finished request forever."""

ABANDONED_UPLOAD_AGE: Final = timedelta(hours=2)
"""An object under `incoming/` this old is past any upload (links live at most an hour) and past the intake, which
S3 invokes within minutes (with two retries); the bucket's lifecycle rule removes what is left after 2 days anyway."""

HOUSEKEEPING_MAX_REQUESTS: Final = 1000
"""Requests acted on per run (expired or given a clean-up), each a few AWS calls."""
HOUSEKEEPING_MAX_OBJECTS: Final = 5000
"""Objects under `incoming/` deleted per run."""

# Statuses in which the ZapSign document may exist unsigned (refused when the request ends unsigned), and in which a
# One-Shot request may exist or be under way at the Optimizer.
_ZAPSIGN_UNSIGNED: Final = frozenset({R.SUBMITTED, R.ZAPSIGN_PENDING})
_ONESHOT_UNDER_WAY: Final = frozenset({R.ONESHOT_PENDING, R.AWAITING_OTP, R.SIGNING})
_NON_TERMINAL: Final = tuple(status for status in REQUEST_STAGE_ORDER if not is_terminal(status))
# `incoming/{request}/{nnn}.pdf`, as `signbridge.domain.keys.incoming_key` builds it.
_INCOMING_KEY: Final = re.compile(rf"^{re.escape(INCOMING_PREFIX)}(?P<request>[^/]+)/(?P<document>\d+)\.pdf$")


@dataclass
class HousekeepingReport:
    now: datetime
    expired: Counter[str] = field(default_factory=Counter)
    """Requests moved to `expired`, by the status they were in."""
    left_to_finish: Counter[str] = field(default_factory=Counter)
    """Past their deadline in a stage the lifecycle lets finish (signing, archiving, ...), by status."""
    cleanup_enqueued: Counter[str] = field(default_factory=Counter)
    """Provider clean-up operations enqueued (cancellations, Optimizer deletions), by operation."""
    incoming_deleted: int = 0
    """Objects removed from `incoming/` (of expired drafts, and abandoned ones)."""
    cleaned: int = 0
    """Finished requests whose Optimizer clean-up was enqueued."""
    errors: Counter[str] = field(default_factory=Counter)
    """Requests or objects whose handling raised (logged), by part: cleanup, expiry, incoming."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Left for the next run (over the per-run maximum), by part."""
    dead_letters_dropped: Counter[str] = field(default_factory=Counter)
    """Messages of the dead-letter queues dropped because their request has finished (or does not exist), by queue."""

    @property
    def requests_handled(self) -> int:
        return sum(self.expired.values()) + self.cleaned + self.errors["cleanup"] + self.errors["expiry"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "expired": _plain(self.expired),
            "left_to_finish": _plain(self.left_to_finish),
            "cleaned": self.cleaned,
            "cleanup_enqueued": _plain(self.cleanup_enqueued),
            "incoming_deleted": self.incoming_deleted,
            "errors": _plain(self.errors),
            "skipped": _plain(self.skipped),
            "dead_letters_dropped": _plain(self.dead_letters_dropped),
        }


def housekeep(
    services: Services,
    *,
    now: datetime,
    correlation_id: str,
    max_requests: int = HOUSEKEEPING_MAX_REQUESTS,
    max_objects: int = HOUSEKEEPING_MAX_OBJECTS,
) -> HousekeepingReport:
    """The daily sweep; see the module docstring. Clean-up runs before expiry so a request expired in this run is
    not enqueued twice (the next run's clean-up sees it, and SQS or the operation drops the repeat)."""
    report = HousekeepingReport(now=now)
    _clean_up_finished(services, now=now, correlation_id=correlation_id, report=report, max_requests=max_requests)
    _expire_overdue(services, now=now, correlation_id=correlation_id, report=report, max_requests=max_requests)
    _remove_abandoned_uploads(services, now=now, report=report, max_objects=max_objects)
    _drop_finished_dead_letters(services, report=report, max_messages=max_objects)
    logger.info("housekept", extra={"report": report.as_dict()})
    return report


def _clean_up_finished(
    services: Services, *, now: datetime, correlation_id: str, report: HousekeepingReport, max_requests: int
) -> None:
    """(1) Finished requests that still hold documents at the Optimizer. Only those whose status changed within
    `CLEANUP_WINDOW` (a range query on the status index), not every finished request ever."""
    for status in sorted(TERMINAL_REQUEST_STATUSES):
        for listed in _each_by_status(services.records, status, now=now, newer_than=CLEANUP_WINDOW):
            if not listed.workflow.uses_oneshot:
                continue  # nothing of it was ever at the Optimizer: no need to read it
            if report.requests_handled >= max_requests:
                report.skipped["cleanup"] += 1
                continue
            try:
                steps = optimizer_cleanup_steps(services.records.get_request(listed.id), correlation_id)
                if steps:
                    enqueue(services, steps)
                    report.cleanup_enqueued.update(step.op for step in steps)
                    report.cleaned += 1
            except Exception:
                logger.exception("clean-up of a finished request failed", extra={"request_id": listed.id})
                report.errors["cleanup"] += 1


def _expire_overdue(
    services: Services, *, now: datetime, correlation_id: str, report: HousekeepingReport, max_requests: int
) -> None:
    """(2) Requests past their deadline, and drafts older than `DRAFT_MAX_AGE`. Finding the ones past their deadline
    reads every request that has not finished (one page of 100 per Query): fine at this scale, once a day. If that
    grows large, a sparse index on the deadline of unfinished requests would make it a range query."""
    for status in _NON_TERMINAL:
        for listed in _each_by_status(services.records, status, now=now):
            if _expiry_reason(listed, now) is None:
                continue
            if report.requests_handled >= max_requests:
                report.skipped["expiry"] += 1
                continue
            try:
                _expire_one(services, listed, now=now, correlation_id=correlation_id, report=report)
            except Exception:
                logger.exception("expiring a request failed", extra={"request_id": listed.id, "status": status})
                report.errors["expiry"] += 1


def _expiry_reason(request: SignatureRequest, now: datetime) -> str | None:
    if request.deadline is not None and request.deadline <= now:
        return "deadline passed"
    if request.status is R.DRAFT and now - request.created_at >= DRAFT_MAX_AGE:
        hours = int(DRAFT_MAX_AGE.total_seconds() // 3600)
        return f"uploads did not arrive within {hours} h"
    return None


def _expire_one(
    services: Services, listed: SignatureRequest, *, now: datetime, correlation_id: str, report: HousekeepingReport
) -> None:
    aggregate = services.records.get_request(listed.id)
    request = aggregate.request
    reason = _expiry_reason(request, now)
    if reason is None or is_terminal(request.status):
        return  # it moved on meanwhile (the listing is eventually consistent)
    if not may_transition(request.workflow, request.status, R.EXPIRED):
        report.left_to_finish[request.status] += 1  # signing, archiving, ...: let it finish
        return
    if not _end_request(services, aggregate, R.EXPIRED, reason, correlation_id=correlation_id):
        return  # it moved meanwhile; the next run looks again
    report.expired[request.status] += 1
    steps = unsigned_end_steps(aggregate, correlation_id)
    if steps:
        enqueue(services, steps)
        report.cleanup_enqueued.update(step.op for step in steps)
    if request.status is R.DRAFT:
        for stored in services.files.list_objects(f"{INCOMING_PREFIX}{request.id}/"):
            services.files.delete(stored.key)
            report.incoming_deleted += 1


def _remove_abandoned_uploads(
    services: Services, *, now: datetime, report: HousekeepingReport, max_objects: int
) -> None:
    """(3) Objects under `incoming/` older than `ABANDONED_UPLOAD_AGE` whose document is not awaiting its upload
    (the intake is done with it, or the request or document does not exist). An object whose document still awaits
    its upload is kept: the intake may yet take it, and the draft's expiry removes it."""
    requests: dict[str, RequestAggregate | None] = {}
    for stored in services.files.list_objects(INCOMING_PREFIX, modified_before=now - ABANDONED_UPLOAD_AGE):
        if report.incoming_deleted >= max_objects:
            report.skipped["incoming"] += 1
            continue
        try:
            if _awaits_upload(services, stored.key, requests):
                continue
            services.files.delete(stored.key)
            report.incoming_deleted += 1
        except Exception:
            logger.exception("removing an abandoned upload failed", extra={"key": stored.key})
            report.errors["incoming"] += 1


def _drop_finished_dead_letters(services: Services, *, report: HousekeepingReport, max_messages: int) -> None:
    """(4) Messages in the dead-letter queues whose request has finished (or does not exist) can never do anything
    again: dropped, counted by queue, so the DLQ alarm speaks only of requests that still need a person. A message
    that is not an operation message, or one whose request is still under way, stays for a person (or a redrive)."""
    if services.dead_letters is None:
        return
    finished: dict[str, bool] = {}
    for queue in Queue:
        try:
            for letter in services.dead_letters.read(queue, limit=max_messages):
                request_id = _request_of(services, letter.message)
                if request_id is None:
                    continue
                if request_id not in finished:
                    finished[request_id] = _has_finished(services, request_id)
                if finished[request_id]:
                    services.dead_letters.drop(letter)
                    report.dead_letters_dropped[queue.value] += 1
        except Exception:
            logger.exception("dropping dead letters of finished requests failed", extra={"queue": queue.value})
            report.errors["dead_letters"] += 1


def _request_of(services: Services, message: OperationMessage | None) -> str | None:
    if message is None:
        return None
    if message.request_id is not None:
        return message.request_id
    doc_token = message.payload.get("doc_token")  # a ZapSign hint names its document, not its request
    if not isinstance(doc_token, str) or not doc_token:
        return None
    target = services.records.find_by_zapsign_doc_token(doc_token)
    return target.request_id if target is not None else None


def _has_finished(services: Services, request_id: str) -> bool:
    try:
        return is_terminal(services.records.get_request_item(request_id).status)
    except RequestNotFoundError:
        return True  # a message for a request that does not exist can never do anything


def _awaits_upload(services: Services, key: str, requests: dict[str, RequestAggregate | None]) -> bool:
    match = _INCOMING_KEY.match(key)
    if match is None:
        return False  # not a key SignBridge hands out
    request_id, index = match["request"], int(match["document"])
    if request_id not in requests:
        try:
            requests[request_id] = services.records.get_request(request_id)
        except RequestNotFoundError:
            requests[request_id] = None
    aggregate = requests[request_id]
    if aggregate is None:
        return False
    document = next((document for document in aggregate.documents if document.index == index), None)
    return document is not None and document.status is DocumentStatus.AWAITING_UPLOAD


# ------------------------------------------------------------------------------------------------ shared


def optimizer_cleanup_steps(aggregate: RequestAggregate, correlation_id: str) -> list[OperationMessage]:
    """What removes a finished request's documents from the Optimizer: the planner's own `delete_oneshot_documents`
    for each signer whose signed outputs are in S3, and `cancel_oneshot_request` when any other signer still has a
    One-Shot request there (a request that ended before that signer signed)."""
    if not is_terminal(aggregate.request.status):
        return []
    planned = [
        step
        for step in plan_next_steps(aggregate, correlation_id=correlation_id).steps
        if step.op == Op.DELETE_ONESHOT_DOCUMENTS
    ]
    covered = {step.signer for step in planned}
    leftovers = [
        signer
        for signer in aggregate.signers
        if signer.oneshot_request_pk is not None and signer.oneshot_deleted_at is None and signer.index not in covered
    ]
    if leftovers:
        planned.append(_message(Op.CANCEL_ONESHOT_REQUEST, aggregate, correlation_id))
    return planned


def unsigned_end_steps(aggregate: RequestAggregate, correlation_id: str) -> list[OperationMessage]:
    """What tells the providers that a request ended unsigned, from the aggregate as it was just before it ended:
    refuse the ZapSign document while it may be unsigned there, delete whatever the Optimizer holds or may be about
    to hold. The operations themselves are no-ops when there is nothing to cancel."""
    request = aggregate.request
    steps = []
    if request.workflow.uses_zapsign and request.status in _ZAPSIGN_UNSIGNED:
        steps.append(_message(Op.CANCEL_ZAPSIGN_DOCUMENT, aggregate, correlation_id))
    holds_oneshot = any(
        signer.oneshot_request_pk is not None and signer.oneshot_deleted_at is None for signer in aggregate.signers
    )
    if request.workflow.uses_oneshot and (holds_oneshot or request.status in _ONESHOT_UNDER_WAY):
        steps.append(_message(Op.CANCEL_ONESHOT_REQUEST, aggregate, correlation_id))
    return steps


def _end_request(
    services: Services, aggregate: RequestAggregate, to: RequestStatus, reason: str, *, correlation_id: str
) -> bool:
    """Move the request, as read, to `to` (`failed` or `expired`) with `reason`; drafts discard their documents
    (nothing of them is at a provider). False when it moved meanwhile: the conditional write on version and status
    lost, which is exactly the case where ending it would be wrong."""
    request = aggregate.request
    changes: tuple[DocumentChange, ...] = ()
    if request.status is R.DRAFT:
        changes = tuple(
            DocumentChange(document.index, document.status, DocumentStatus.DISCARDED)
            for document in aggregate.documents
            if not is_terminal_document(document.status)
        )
    try:
        Step(services, aggregate, cause=Cause.SCHEDULE, correlation_id=correlation_id).move_request(
            to, detail=reason, updates={"failure_reason": reason}, documents=changes
        )
    except (ConcurrentUpdateError, TransitionNotAllowedError):
        logger.info("request moved meanwhile; left as it is", extra={"request_id": request.id})
        return False
    logger.warning("request ended by the schedule", extra={"request_id": request.id, "to": to, "reason": reason})
    telemetry.request_finished(to.value)
    return True


def _plain(counter: Counter[str]) -> dict[str, int]:
    """A counter as JSON-ready data, statuses by their value."""
    return {str(key): value for key, value in sorted(counter.items())}


def _message(op: Op, aggregate: RequestAggregate, correlation_id: str) -> OperationMessage:
    return OperationMessage(op=op.value, request_id=aggregate.request.id, correlation_id=correlation_id)


def _each_by_status(
    records: RecordStore,
    status: RequestStatus,
    *,
    now: datetime,
    older_than: timedelta | None = None,
    newer_than: timedelta | None = None,
) -> Iterator[SignatureRequest]:
    """Every request of the status index in `status` (longest-waiting first), a page at a time."""
    cursor: str | None = None
    while True:
        page = records.list_by_status(
            status, older_than=older_than, newer_than=newer_than, now=now, limit=LIST_PAGE_SIZE, cursor=cursor
        )
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
