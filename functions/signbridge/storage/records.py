"""The state store: requests, documents, signers, timeline and lookups in the single DynamoDB table.

DynamoDB is the source of truth for where a request stands (docs/design.md). Every write that moves something is
conditional, never a blind overwrite:

- `create_request` writes the request, its documents, its signers and the first timeline entry in one
  TransactWriteItems, each `attribute_not_exists`; a second create of the same id is `RequestAlreadyExistsError`.
- `move_request`, `move_part`, `update_part` (the only writes after the create; the workflow's `Step` uses them) take
  the aggregate the caller read and answer the aggregate as written (`storage/written.py`), so nothing is read again.
- `move_request` moves the request if it is still in the status *and* at the version of the aggregate, increments the
  version, keeps `gsi_status`/`gsi_status_since` in step and appends the timeline entry, all in one transaction. The
  move is checked against `signbridge.domain.lifecycle` first (`TransitionNotAllowedError`, nothing written); a lost
  race is `ConcurrentUpdateError`. The same transaction can carry document and signer changes and lookup items, so the
  step that learns a provider identifier records it together with the move it causes. Each document and signer move
  it carries has its own timeline entry, all stored in the one timeline item of the transaction
  (`storage/written.py` `carried_entries`): every step reads the timeline, so it stays one item per write.
- `move_part` moves one document or signer conditionally on its own status, with its provider fields in the same
  write, and optionally only while the request is in a given status; `update_part` sets fields without a move.
- A write of one item (a part update, a part move that records no entry) is one conditional `UpdateItem`/`PutItem`
  with the same condition, not a transaction (half the write units); several items always move in one transaction.

Lookups for provider identifiers are items (`ZAPSIGN_DOC#{token}`, `ONESHOT_REQUEST#{pk}`), put with
`attribute_not_exists(pk) OR request_id = :this` so an identifier can never point at two requests and a retry of the
same step is harmless. The reads (the aggregate, the request item, lookups, listings by external id and by status +
age over the sparse GSIs of `storage/schema.py`) are in `storage/record_reads.py`; the transaction plan and the
UpdateExpression builder in `storage/transactions.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from signbridge.config import Settings, get_settings
from signbridge.domain import lifecycle
from signbridge.domain.changes import DocumentChange, Lookup, SignerChange, TimelineNote, Transition
from signbridge.domain.errors import (
    ConcurrentUpdateError,
    RequestAlreadyExistsError,
    RequestNotFoundError,
    StoreError,
    TransitionNotAllowedError,
)
from signbridge.domain.models import (
    Cause,
    Document,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    Signer,
    TimelineEntry,
    TimelineSubject,
    Workflow,
    utc_now,
)
from signbridge.storage import schema
from signbridge.storage.clients import dynamodb_client
from signbridge.storage.record_reads import MAX_PAGE_SIZE, RecordReads
from signbridge.storage.transactions import (
    DOCUMENTS,
    MAX_TRANSACTION_ITEMS,
    PART_PROTECTED,
    REQUEST_PROTECTED,
    SIGNERS,
    Part,
    Plan,
    Update,
    check_new_aggregate,
    check_unique,
    unexpected,
    validated_updates,
)
from signbridge.storage.written import after_part_change, after_request_move, carried_entries

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["MAX_PAGE_SIZE", "MAX_TRANSACTION_ITEMS", "RecordStore"]

ChangeT = TypeVar("ChangeT", bound=DocumentChange | SignerChange)

logger = Logger(child=True)


# ------------------------------------------------------------------------------------------------ the store


class RecordStore(RecordReads):
    def __init__(
        self,
        *,
        table_name: str,
        client: DynamoDBClient,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        query_page_size: int | None = None,
    ) -> None:
        """`query_page_size` caps the items per Query page (DynamoDB's own cap is 1 MB); tests use it to exercise
        pagination."""
        self._table = table_name
        self._client = client
        self._clock = clock
        self._new_id = new_id
        self._query_page_size = query_page_size

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, client: DynamoDBClient | None = None) -> RecordStore:
        settings = settings or get_settings()
        return cls(table_name=settings.table_name, client=client or dynamodb_client())

    # ------------------------------------------------------------------------------------------------ create

    def create_request(
        self,
        request: SignatureRequest,
        documents: Sequence[Document],
        signers: Sequence[Signer],
        *,
        cause: Cause,
        correlation_id: str,
        detail: str | None = None,
    ) -> None:
        """Write a new request with its documents, signers and first timeline entry, all or nothing."""
        check_new_aggregate(request, documents, signers)
        pk = schema.request_pk(request.id)
        request_values = {
            **request.model_dump(),
            schema.PK: pk,
            schema.SK: schema.REQUEST_SK,
            schema.ITEM_TYPE: "request",
            schema.STATUS_INDEX_PK: request.status,
            schema.STATUS_INDEX_SK: request.status_since,
            schema.EXTERNAL_ID_INDEX_PK: request.external_id,
        }

        def already_exists(_: dict[str, Any] | None) -> StoreError:
            return RequestAlreadyExistsError(request.id)

        plan = Plan(self._table, request.id)
        plan.add(plan.put_new(request_values), already_exists)
        for document in documents:
            sort_key = schema.document_sk(document.index)
            values = {**document.model_dump(), schema.PK: pk, schema.SK: sort_key, schema.ITEM_TYPE: "document"}
            plan.add(plan.put_new(values), already_exists)
        for signer in signers:
            sort_key = schema.signer_sk(signer.index)
            values = {**signer.model_dump(), schema.PK: pk, schema.SK: sort_key, schema.ITEM_TYPE: "signer"}
            plan.add(plan.put_new(values), already_exists)
        entry = TimelineEntry(
            id=self._new_id(),
            at=request.created_at,
            from_status=None,
            to_status=request.status,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
        )
        plan.add(plan.put_event(entry), already_exists)
        self._write(plan)

    # ------------------------------------------------------------------------------------------------ aggregate writes

    def move_request(
        self,
        aggregate: RequestAggregate,
        to: RequestStatus,
        *,
        cause: Cause,
        correlation_id: str,
        detail: str | None = None,
        updates: Mapping[str, object] | None = None,
        lookups: Sequence[Lookup] = (),
        document_changes: Sequence[DocumentChange] = (),
        signer_changes: Sequence[SignerChange] = (),
        record_event: bool = True,
    ) -> RequestAggregate:
        """Move the request as `aggregate` holds it (its status and version are the condition), answered
        with the aggregate as written (`storage/written.py`): no read before or after."""
        request = aggregate.request
        written = self._move_request(
            request,
            to,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
            extra_updates=updates,
            lookups=lookups,
            document_changes=document_changes,
            signer_changes=signer_changes,
            record_event=record_event,
        )
        return after_request_move(
            aggregate,
            written,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
            updates=validated_updates(SignatureRequest, REQUEST_PROTECTED, updates or {}, "request"),
            document_changes=[_validated_change(DOCUMENTS, change) for change in document_changes],
            signer_changes=[_validated_change(SIGNERS, change) for change in signer_changes],
        )

    def record_on_request(
        self,
        aggregate: RequestAggregate,
        *,
        cause: Cause,
        correlation_id: str,
        detail: str,
        updates: Mapping[str, object],
    ) -> RequestAggregate:
        """Set request fields without a move, with a timeline entry (from and to its status) saying why, if the
        request is still in the status and at the version `aggregate` holds (the version goes up, `status_since`
        stays): a fact recorded on a finished request, such as its evidence package. Answered like `move_request`."""
        request = aggregate.request
        written = self._move_request(
            request,
            request.status,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
            extra_updates=updates,
            lookups=(),
            document_changes=(),
            signer_changes=(),
            record_event=True,
            stay=True,
        )
        return after_request_move(
            aggregate,
            written,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
            updates=validated_updates(SignatureRequest, REQUEST_PROTECTED, updates, "request"),
            document_changes=[],
            signer_changes=[],
            status_since=request.status_since,
        )

    def move_part(
        self,
        aggregate: RequestAggregate,
        change: DocumentChange | SignerChange,
        *,
        cause: Cause,
        correlation_id: str,
        detail: str | None = None,
        lookups: Sequence[Lookup] = (),
        request_status: RequestStatus | None = None,
        record_event: bool = True,
    ) -> RequestAggregate:
        """Move document or signer `change.index` to `change.to` if it is still in `change.expected_status` (and, with
        `request_status`, only while the request is in that status), setting `change.updates` in the same write;
        answered with the aggregate as written."""
        if change.to is None:
            raise ValueError("a transition needs a target status")
        part = DOCUMENTS if isinstance(change, DocumentChange) else SIGNERS
        written = self._transition_part(
            part,
            aggregate.request.id,
            change,
            workflow=aggregate.request.workflow,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
            lookups=lookups,
            request_status=request_status,
            record_event=record_event,
        )
        return after_part_change(
            aggregate,
            _validated_change(part, change),
            written.at,
            written,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
        )

    def update_part(
        self,
        aggregate: RequestAggregate,
        change: DocumentChange | SignerChange,
        *,
        request_status: RequestStatus | None = None,
        note: TimelineNote | None = None,
    ) -> RequestAggregate:
        """Set fields of a document or signer without moving it (e.g. `otp_sent_at` on a resend), if it is still in
        `change.expected_status`; answered with the aggregate as written. With `note`, the same write appends a
        timeline entry from the part's status to itself (an event that is not a move: a contract accepted)."""
        if change.to is not None:
            raise ValueError("an update does not move: use move_part")
        part = DOCUMENTS if isinstance(change, DocumentChange) else SIGNERS
        written = self._update_part(part, aggregate.request.id, change, request_status, note)
        if written is None or note is None:
            return after_part_change(aggregate, _validated_change(part, change), self._clock())
        return after_part_change(
            aggregate,
            _validated_change(part, change),
            written.at,
            written,
            cause=note.cause,
            correlation_id=note.correlation_id,
            detail=note.detail,
        )

    # ------------------------------------------------------------------------------------------------ internals

    def _move_request(
        self,
        request: SignatureRequest,
        to: RequestStatus,
        *,
        cause: Cause,
        correlation_id: str,
        detail: str | None,
        extra_updates: Mapping[str, object] | None,
        lookups: Sequence[Lookup],
        document_changes: Sequence[DocumentChange],
        signer_changes: Sequence[SignerChange],
        record_event: bool,
        stay: bool = False,
    ) -> Transition:
        """Move `request` to `to` if it is still in its status at its version, with a timeline entry unless
        `record_event` is False. `extra_updates` sets request fields in the same write (None removes a field). With
        `stay`, `to` is the status it is in: no move, `status_since` kept (`record_on_request`)."""
        request_id, expected_status, expected_version, workflow = (
            request.id,
            request.status,
            request.version,
            request.workflow,
        )
        if stay:
            if to is not expected_status:
                raise ValueError("recording on a request keeps its status")
        else:
            self._check_move(
                "request",
                request_id,
                workflow=workflow,
                from_status=expected_status,
                to_status=to,
                may_move=lifecycle.may_transition,
            )
        part_changes: list[tuple[Part, DocumentChange | SignerChange]] = [
            *((DOCUMENTS, document_change) for document_change in document_changes),
            *((SIGNERS, signer_change) for signer_change in signer_changes),
        ]
        for part, change in part_changes:
            if change.to is not None:
                self._check_move(
                    f"{part.subject} {change.index}",
                    request_id,
                    workflow=workflow,
                    from_status=change.expected_status,
                    to_status=change.to,
                    may_move=part.may_move,
                )
        check_unique([change.index for change in document_changes], "document_changes")
        check_unique([change.index for change in signer_changes], "signer_changes")

        now = self._clock()
        updates = validated_updates(SignatureRequest, REQUEST_PROTECTED, extra_updates or {}, "request")
        update = Update()
        update.set("version", expected_version + 1)
        update.set("updated_at", now)
        if not stay:
            update.set("status", to)
            update.set("status_since", now)
            update.set(schema.STATUS_INDEX_PK, to)
            update.set(schema.STATUS_INDEX_SK, now)
        update.apply(updates)
        condition = f"{update.equals('status', expected_status)} AND {update.equals('version', expected_version)}"

        def request_failure(old: dict[str, Any] | None) -> StoreError:
            if old is None:
                return RequestNotFoundError(request_id)
            return ConcurrentUpdateError(
                request_id,
                "request",
                expected=f"{expected_status} at version {expected_version}",
                actual=f"{old.get('status')} at version {old.get('version')}",
            )

        plan = Plan(self._table, request_id)
        plan.add(plan.update_item(schema.request_pk(request_id), schema.REQUEST_SK, update, condition), request_failure)
        entry = TimelineEntry(
            id=self._new_id(),
            at=now,
            from_status=expected_status,
            to_status=to,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
        )
        if record_event:
            carried = carried_entries(entry, document_changes, signer_changes)
            plan.add(plan.put_event(entry, carried), unexpected(request_id))
        for document_change in document_changes:
            plan.part_change(DOCUMENTS, document_change, now=now)
        for signer_change in signer_changes:
            plan.part_change(SIGNERS, signer_change, now=now)
        plan.lookups(lookups, now)
        self._write(plan)
        return Transition(
            request_id=request_id,
            subject=TimelineSubject.REQUEST,
            subject_index=None,
            from_status=expected_status,
            to_status=to,
            at=now,
            event_id=entry.id if record_event else None,
            version=expected_version + 1,
        )

    def _transition_part(
        self,
        part: Part,
        request_id: str,
        change: DocumentChange | SignerChange,
        *,
        workflow: Workflow,
        cause: Cause,
        correlation_id: str,
        detail: str | None,
        lookups: Sequence[Lookup],
        request_status: RequestStatus | None,
        record_event: bool,
    ) -> Transition:
        if change.to is None:
            raise ValueError("a transition needs a target status")
        self._check_move(
            f"{part.subject} {change.index}",
            request_id,
            workflow=workflow,
            from_status=change.expected_status,
            to_status=change.to,
            may_move=part.may_move,
        )
        return self._write_part(
            part,
            request_id,
            change,
            to_status=change.to,
            request_status=request_status,
            lookups=lookups,
            event=(cause, correlation_id, detail) if record_event else None,
        )

    def _update_part(
        self,
        part: Part,
        request_id: str,
        change: DocumentChange | SignerChange,
        request_status: RequestStatus | None,
        note: TimelineNote | None = None,
    ) -> Transition | None:
        if not change.updates:
            return None
        return self._write_part(
            part,
            request_id,
            change,
            to_status=change.expected_status,
            request_status=request_status,
            event=(note.cause, note.correlation_id, note.detail) if note is not None else None,
        )

    def _write_part(
        self,
        part: Part,
        request_id: str,
        change: DocumentChange | SignerChange,
        *,
        to_status: str,
        request_status: RequestStatus | None,
        lookups: Sequence[Lookup] = (),
        event: tuple[Cause, str, str | None] | None,
    ) -> Transition:
        """One part's change (a move to `to_status`, or its own status again for an update), guarded by the request's
        status, with a timeline entry when `event` (cause, correlation id, detail) is given."""
        now = self._clock()
        plan = Plan(self._table, request_id)
        plan.part_change(part, change, now=now)
        plan.request_guard(request_status)
        event_id = None
        if event is not None:
            cause, correlation_id, detail = event
            entry = TimelineEntry(
                id=self._new_id(),
                at=now,
                subject=part.subject,
                subject_index=change.index,
                from_status=change.expected_status,
                to_status=to_status,
                cause=cause,
                correlation_id=correlation_id,
                detail=detail,
            )
            plan.add(plan.put_event(entry), unexpected(request_id))
            event_id = entry.id
        plan.lookups(lookups, now)
        self._write(plan)
        return Transition(
            request_id=request_id,
            subject=part.subject,
            subject_index=change.index,
            from_status=change.expected_status,
            to_status=to_status,
            at=now,
            event_id=event_id,
        )

    def _check_move(
        self,
        subject: str,
        request_id: str,
        *,
        workflow: Workflow,
        from_status: Any,
        to_status: Any,
        may_move: Callable[[Workflow, Any, Any], bool],
    ) -> None:
        try:
            lifecycle.check_move(
                subject, request_id, workflow=workflow, from_status=from_status, to_status=to_status, may_move=may_move
            )
        except TransitionNotAllowedError:
            # Refused and logged, not applied (docs/design.md "Request lifecycle").
            logger.warning(
                "transition refused",
                extra={
                    "request_id": request_id,
                    "subject": subject,
                    "workflow": str(workflow),
                    "from_status": str(from_status),
                    "to_status": str(to_status),
                },
            )
            raise

    def _write(self, plan: Plan) -> None:
        if len(plan.items) == 1:
            self._write_one(plan)
            return
        if len(plan.items) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"{len(plan.items)} items exceed DynamoDB's {MAX_TRANSACTION_ITEMS}-item transaction")
        try:
            # The token makes botocore's own retries of this call idempotent (a retry after a lost response succeeds
            # instead of failing its conditions against its own first write).
            self._client.transact_write_items(
                TransactItems=cast("Any", plan.items), ClientRequestToken=uuid.uuid4().hex
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            raise plan.interpret(cast("list[dict[str, Any]]", error.response.get("CancellationReasons", []))) from None

    def _write_one(self, plan: Plan) -> None:
        """A plan of one item as one conditional PutItem or UpdateItem: the same condition, half the write units of a
        transaction."""
        ((kind, request),) = plan.items[0].items()
        try:
            if kind == "Update":
                self._client.update_item(**request)
            elif kind == "Put":
                self._client.put_item(**request)
            else:
                raise ValueError(f"a {kind} alone writes nothing")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            reason = {"Code": "ConditionalCheckFailed", "Item": cast("dict[str, Any]", error.response).get("Item")}
            raise plan.interpret([reason]) from None


def _validated_change(part: Part, change: ChangeT) -> ChangeT:
    """The change with its fields as the store writes them (validated, so e.g. a timestamp string is a datetime)."""
    subject = f"{part.subject} {change.index}"
    return replace(change, updates=validated_updates(part.model, PART_PROTECTED, change.updates, subject))
