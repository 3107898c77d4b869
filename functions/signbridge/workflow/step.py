"""The one way a step changes a request: a `Step`, the unit of work of one operation, use case or intake.

A `Step` holds the request as the step read it (one Query, `Step.read`) and the step's cause and correlation id.
Each write goes through it:

- `move_request`, `move_document`, `move_signer`: a conditional move (the request on its status and version, a part
  on its status, taken from the aggregate held unless `expected` says otherwise), with its fields, lookups and
  timeline entry in the same write;
- `update_document`, `update_signer`: fields without a move (an intent, a resend time), conditional the same way.

The record store answers each write with the aggregate as it wrote it (`signbridge.storage.written`), which the
`Step` keeps, so `advance` plans from it without reading the request again: the planner's moves go through the same
store call, its steps are enqueued (`signbridge.workflow.progress`). If someone else moved the request meanwhile, the
planner's move loses its race and `advance` reads the request after all; a step that knows it recorded a fact
whatever the request did meanwhile can ask for that read with `advance(read_again=True)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from signbridge.domain.changes import DocumentChange, Lookup, SignerChange, TimelineNote
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    Cause,
    DocumentStatus,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    SignerStatus,
)
from signbridge.workflow import progress
from signbridge.workflow.services import Services


class Step:
    """One unit of work on one request; see the module's docstring."""

    def __init__(self, services: Services, aggregate: RequestAggregate, *, cause: Cause, correlation_id: str) -> None:
        self.services = services
        self.aggregate = aggregate
        self.cause = cause
        self.correlation_id = correlation_id

    @classmethod
    def read(cls, services: Services, request_id: str, *, cause: Cause, correlation_id: str) -> Step:
        """The step on the request as the store holds it now (one strongly consistent Query)."""
        return cls(services, services.records.get_request(request_id), cause=cause, correlation_id=correlation_id)

    @property
    def request(self) -> SignatureRequest:
        return self.aggregate.request

    # ------------------------------------------------------------------------------------------------ moves

    def move_request(
        self,
        to: RequestStatus,
        *,
        detail: str | None = None,
        updates: Mapping[str, object] | None = None,
        lookups: Sequence[Lookup] = (),
        documents: Sequence[DocumentChange] = (),
        signers: Sequence[SignerChange] = (),
        record_event: bool = True,
    ) -> RequestAggregate:
        """Move the request to `to` if it is still in the status and at the version held (with a timeline entry
        unless `record_event` is False)."""
        self.aggregate = self.services.records.move_request(
            self.aggregate,
            to,
            cause=self.cause,
            correlation_id=self.correlation_id,
            detail=detail,
            updates=updates,
            lookups=lookups,
            document_changes=documents,
            signer_changes=signers,
            record_event=record_event,
        )
        return self.aggregate

    def move_document(
        self,
        index: int,
        to: DocumentStatus,
        *,
        detail: str | None = None,
        updates: Mapping[str, object] | None = None,
        lookups: Sequence[Lookup] = (),
        expected: DocumentStatus | None = None,
        while_request: RequestStatus | None = None,
        record_event: bool = True,
    ) -> RequestAggregate:
        """Move document `index` to `to` if it is still in `expected` (default: its status held), and with
        `while_request` only while the request is in that status."""
        expected = self.aggregate.document(index).status if expected is None else expected
        return self._move_part(
            DocumentChange(index, expected, to, updates or {}), detail, lookups, while_request, record_event
        )

    def move_signer(
        self,
        index: int,
        to: SignerStatus,
        *,
        detail: str | None = None,
        updates: Mapping[str, object] | None = None,
        lookups: Sequence[Lookup] = (),
        expected: SignerStatus | None = None,
        while_request: RequestStatus | None = None,
        record_event: bool = True,
    ) -> RequestAggregate:
        """Move signer `index`; see `move_document`."""
        expected = self.aggregate.signer(index).status if expected is None else expected
        return self._move_part(
            SignerChange(index, expected, to, updates or {}), detail, lookups, while_request, record_event
        )

    def update_document(
        self,
        index: int,
        updates: Mapping[str, object],
        *,
        expected: DocumentStatus | None = None,
        while_request: RequestStatus | None = None,
    ) -> RequestAggregate:
        """Set fields of document `index` without moving it, if it is still in `expected` (default: as held)."""
        expected = self.aggregate.document(index).status if expected is None else expected
        return self._update_part(DocumentChange(index, expected, None, updates), while_request)

    def update_signer(
        self,
        index: int,
        updates: Mapping[str, object],
        *,
        expected: SignerStatus | None = None,
        while_request: RequestStatus | None = None,
        note: TimelineNote | None = None,
    ) -> RequestAggregate:
        """Set fields of signer `index` without moving it; see `update_document`. With `note`, the same write adds a
        timeline entry (an event that is not a move)."""
        expected = self.aggregate.signer(index).status if expected is None else expected
        return self._update_part(SignerChange(index, expected, None, updates), while_request, note)

    def record(self, detail: str, updates: Mapping[str, object]) -> RequestAggregate:
        """Set request fields without a move, with a timeline entry saying `detail`, if the request is still in the
        status and at the version held (a fact recorded on a finished request: its evidence package)."""
        self.aggregate = self.services.records.record_on_request(
            self.aggregate, cause=self.cause, correlation_id=self.correlation_id, detail=detail, updates=updates
        )
        return self.aggregate

    # ------------------------------------------------------------------------------------------------ what comes next

    def advance(
        self,
        *,
        stale: bool = False,
        payloads: Mapping[progress.StepKey, Mapping[str, Any]] | None = None,
        read_again: bool = False,
    ) -> RequestAggregate:
        """Apply the planner's moves and enqueue its steps, from the aggregate held (or, with `read_again`, from a
        fresh read). Returns the request as it ends up."""
        self.aggregate = progress.advance(
            self.services,
            self.request.id,
            cause=self.cause,
            correlation_id=self.correlation_id,
            stale=stale,
            aggregate=None if read_again else self.aggregate,
            payloads=payloads,
        )
        return self.aggregate

    def enqueue(self, steps: Sequence[OperationMessage]) -> None:
        """Send steps the caller planned itself (a cancel of an orphan, the steps of a cancel)."""
        progress.enqueue(self.services, list(steps))

    def fail(self, reason: str) -> bool:
        """Move the request to `failed` with `reason` (no personal data). False when it had already ended."""
        return progress.fail_request(
            self.services, self.request.id, reason, cause=self.cause, correlation_id=self.correlation_id
        )

    # ------------------------------------------------------------------------------------------------ internals

    def _move_part(
        self,
        change: DocumentChange | SignerChange,
        detail: str | None,
        lookups: Sequence[Lookup],
        while_request: RequestStatus | None,
        record_event: bool,
    ) -> RequestAggregate:
        self.aggregate = self.services.records.move_part(
            self.aggregate,
            change,
            cause=self.cause,
            correlation_id=self.correlation_id,
            detail=detail,
            lookups=lookups,
            request_status=while_request,
            record_event=record_event,
        )
        return self.aggregate

    def _update_part(
        self,
        change: DocumentChange | SignerChange,
        while_request: RequestStatus | None,
        note: TimelineNote | None = None,
    ) -> RequestAggregate:
        self.aggregate = self.services.records.update_part(
            self.aggregate, change, request_status=while_request, note=note
        )
        return self.aggregate
