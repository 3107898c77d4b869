"""The state store: requests, documents, signers, timeline and lookups in the single DynamoDB table.

DynamoDB is the source of truth for where a request stands (design.md). Every write that moves something is
conditional, never a blind overwrite:

- `create_request` writes the request, its documents, its signers and the first timeline entry in one
  TransactWriteItems, each `attribute_not_exists`; a second create of the same id is `RequestAlreadyExistsError`.
- `transition` moves the request if it is still in the status *and* at the version the caller read, increments the
  version, keeps `gsi_status`/`gsi_status_since` in step and appends the timeline entry, all in one transaction. The
  move is checked against `signbridge.domain.lifecycle` first (`TransitionNotAllowedError`, nothing written); a lost
  race is `ConcurrentUpdateError`. The same transaction can carry document and signer changes and lookup items, so the
  step that learns a provider identifier records it together with the move it causes.
- `transition_document` / `transition_signer` move one document or signer conditionally on its own status, with its
  provider fields in the same write, and optionally only while the request is in a given status.

Lookups for provider identifiers are items (`ZAPSIGN_DOC#{token}`, `ONESHOT_REQUEST#{pk}`), put with
`attribute_not_exists(pk) OR request_id = :this` so an identifier can never point at two requests and a retry of the
same step is harmless. Listings by external id and by status + age use the sparse GSIs of `storage/schema.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Final, cast

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import BaseModel, TypeAdapter, ValidationError

from signbridge.config import Settings, get_settings
from signbridge.domain import lifecycle
from signbridge.domain.changes import DocumentChange, Lookup, LookupKind, LookupTarget, SignerChange, Transition
from signbridge.domain.errors import (
    ConcurrentUpdateError,
    DocumentNotFoundError,
    InvalidUpdateError,
    LookupConflictError,
    RequestAlreadyExistsError,
    RequestNotFoundError,
    SignerNotFoundError,
    StoreError,
    TransitionNotAllowedError,
)
from signbridge.domain.models import (
    Cause,
    Document,
    DocumentStatus,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    Signer,
    SignerStatus,
    TimelineEntry,
    TimelineSubject,
    Workflow,
    utc_now,
)
from signbridge.domain.pages import Page
from signbridge.storage import schema
from signbridge.storage.attributes import Item, format_timestamp, from_item, to_attribute, to_item
from signbridge.storage.clients import dynamodb_client
from signbridge.storage.pagination import decode_cursor, encode_cursor

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = Logger(child=True)

MAX_TRANSACTION_ITEMS: Final = 100  # DynamoDB's TransactWriteItems limit
MAX_PAGE_SIZE: Final = 1000

# Fields only the store sets (by creating the item or by a transition); updates may not touch them.
_REQUEST_PROTECTED: Final = frozenset(
    {
        "id",
        "workflow",
        "status",
        "version",
        "created_at",
        "updated_at",
        "status_since",
        "document_count",
        "signer_count",
    }
)
_PART_PROTECTED: Final = frozenset({"index", "status", "status_since"})


# ------------------------------------------------------------------------------------------------ the store


class RecordStore:
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
        _check_new_aggregate(request, documents, signers)
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

        plan = _Plan(request.id)
        plan.add(self._put_new(request_values), already_exists)
        for document in documents:
            sort_key = schema.document_sk(document.index)
            values = {**document.model_dump(), schema.PK: pk, schema.SK: sort_key, schema.ITEM_TYPE: "document"}
            plan.add(self._put_new(values), already_exists)
        for signer in signers:
            sort_key = schema.signer_sk(signer.index)
            values = {**signer.model_dump(), schema.PK: pk, schema.SK: sort_key, schema.ITEM_TYPE: "signer"}
            plan.add(self._put_new(values), already_exists)
        entry = TimelineEntry(
            id=self._new_id(),
            at=request.created_at,
            from_status=None,
            to_status=request.status,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
        )
        plan.add(self._put_event(request.id, entry), already_exists)
        self._write(plan)

    # ------------------------------------------------------------------------------------------------ read

    def get_request(self, request_id: str) -> RequestAggregate:
        """The whole request (request, documents, signers, timeline) from one strongly consistent query."""
        request: SignatureRequest | None = None
        documents: list[Document] = []
        signers: list[Signer] = []
        timeline: list[TimelineEntry] = []
        for values in self._query_partition(schema.request_pk(request_id)):
            sort_key = str(values[schema.SK])
            if sort_key == schema.REQUEST_SK:
                request = SignatureRequest.model_validate(values)
            elif sort_key.startswith(schema.DOCUMENT_SK_PREFIX):
                documents.append(Document.model_validate(values))
            elif sort_key.startswith(schema.SIGNER_SK_PREFIX):
                signers.append(Signer.model_validate(values))
            elif sort_key.startswith(schema.EVENT_SK_PREFIX):
                timeline.append(TimelineEntry.model_validate(values))
        if request is None:
            raise RequestNotFoundError(request_id)
        return RequestAggregate(
            request=request,
            documents=tuple(sorted(documents, key=lambda document: document.index)),
            signers=tuple(sorted(signers, key=lambda signer: signer.index)),
            timeline=tuple(timeline),  # sort key order: EVENT#{fixed-width time}#{id}; same-instant ties by id
        )

    def get_request_item(self, request_id: str) -> SignatureRequest:
        """Only the request item (one strongly consistent GetItem)."""
        response = self._client.get_item(
            TableName=self._table, Key=_key(schema.request_pk(request_id), schema.REQUEST_SK), ConsistentRead=True
        )
        if "Item" not in response:
            raise RequestNotFoundError(request_id)
        return SignatureRequest.model_validate(from_item(cast("Item", response["Item"])))

    # ------------------------------------------------------------------------------------------------ request moves

    def transition(
        self,
        request_id: str,
        to: RequestStatus,
        *,
        expected_version: int,
        cause: Cause,
        correlation_id: str,
        detail: str | None = None,
        extra_updates: Mapping[str, object] | None = None,
        lookups: Sequence[Lookup] = (),
        document_changes: Sequence[DocumentChange] = (),
        signer_changes: Sequence[SignerChange] = (),
        expected_status: RequestStatus | None = None,
        workflow: Workflow | None = None,
    ) -> Transition:
        """Move the request to `to` if it is still at `expected_version` (and in `expected_status`).

        Pass `expected_status` and `workflow` from the request you read to save a read; without them the store reads
        the request item first. `extra_updates` sets request fields in the same write (None removes a field).
        """
        if expected_status is None or workflow is None:
            current = self.get_request_item(request_id)
            if current.version != expected_version or expected_status not in (None, current.status):
                raise ConcurrentUpdateError(
                    request_id,
                    "request",
                    expected=f"{expected_status or 'any status'} at version {expected_version}",
                    actual=f"{current.status} at version {current.version}",
                )
            expected_status, workflow = current.status, current.workflow
        self._check_move(
            "request",
            request_id,
            workflow=workflow,
            from_status=expected_status,
            to_status=to,
            may_move=lifecycle.may_transition,
        )
        part_changes: list[tuple[_Part, DocumentChange | SignerChange]] = [
            *((_DOCUMENTS, document_change) for document_change in document_changes),
            *((_SIGNERS, signer_change) for signer_change in signer_changes),
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
        _check_unique([change.index for change in document_changes], "document_changes")
        _check_unique([change.index for change in signer_changes], "signer_changes")

        now = self._clock()
        updates = _validated_updates(SignatureRequest, _REQUEST_PROTECTED, extra_updates or {}, "request")
        update = _Update()
        update.set("status", to)
        update.set("version", expected_version + 1)
        update.set("status_since", now)
        update.set("updated_at", now)
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

        plan = _Plan(request_id)
        plan.add(self._update(schema.request_pk(request_id), schema.REQUEST_SK, update, condition), request_failure)
        entry = TimelineEntry(
            id=self._new_id(),
            at=now,
            from_status=expected_status,
            to_status=to,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
        )
        plan.add(self._put_event(request_id, entry), _unexpected(request_id))
        for document_change in document_changes:
            self._add_part_change(plan, _DOCUMENTS, request_id, document_change, now=now)
        for signer_change in signer_changes:
            self._add_part_change(plan, _SIGNERS, request_id, signer_change, now=now)
        self._add_lookups(plan, request_id, lookups, now)
        self._write(plan)
        return Transition(
            request_id=request_id,
            subject=TimelineSubject.REQUEST,
            subject_index=None,
            from_status=expected_status,
            to_status=to,
            at=now,
            event_id=entry.id,
            version=expected_version + 1,
        )

    # ------------------------------------------------------------------------------------------------ part moves

    def transition_document(
        self,
        request_id: str,
        index: int,
        to: DocumentStatus,
        *,
        workflow: Workflow,
        expected_status: DocumentStatus,
        cause: Cause,
        correlation_id: str,
        detail: str | None = None,
        updates: Mapping[str, object] | None = None,
        lookups: Sequence[Lookup] = (),
        request_status: RequestStatus | None = None,
        record_event: bool = True,
    ) -> Transition:
        """Move document `index` to `to` if it is still in `expected_status` (and, with `request_status`, only while
        the request is in that status), setting `updates` in the same write."""
        return self._transition_part(
            _DOCUMENTS,
            request_id,
            DocumentChange(index, expected_status, to, updates or {}),
            workflow=workflow,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
            lookups=lookups,
            request_status=request_status,
            record_event=record_event,
        )

    def transition_signer(
        self,
        request_id: str,
        index: int,
        to: SignerStatus,
        *,
        workflow: Workflow,
        expected_status: SignerStatus,
        cause: Cause,
        correlation_id: str,
        detail: str | None = None,
        updates: Mapping[str, object] | None = None,
        lookups: Sequence[Lookup] = (),
        request_status: RequestStatus | None = None,
        record_event: bool = True,
    ) -> Transition:
        """Move signer `index` to `to` if it is still in `expected_status`; see `transition_document`."""
        return self._transition_part(
            _SIGNERS,
            request_id,
            SignerChange(index, expected_status, to, updates or {}),
            workflow=workflow,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
            lookups=lookups,
            request_status=request_status,
            record_event=record_event,
        )

    def update_document(
        self,
        request_id: str,
        index: int,
        *,
        expected_status: DocumentStatus,
        updates: Mapping[str, object],
        request_status: RequestStatus | None = None,
    ) -> None:
        """Set fields of a document without moving it, if it is still in `expected_status`."""
        self._update_part(_DOCUMENTS, request_id, DocumentChange(index, expected_status, None, updates), request_status)

    def update_signer(
        self,
        request_id: str,
        index: int,
        *,
        expected_status: SignerStatus,
        updates: Mapping[str, object],
        request_status: RequestStatus | None = None,
    ) -> None:
        """Set fields of a signer without moving it (e.g. `otp_sent_at` on a resend), if still in `expected_status`."""
        self._update_part(_SIGNERS, request_id, SignerChange(index, expected_status, None, updates), request_status)

    # ------------------------------------------------------------------------------------------------ lookups

    def find_by_zapsign_doc_token(self, doc_token: str) -> LookupTarget | None:
        return self._find(schema.zapsign_doc_pk(doc_token))

    def find_by_oneshot_request(self, request_pk: str | int) -> LookupTarget | None:
        return self._find(schema.oneshot_request_pk(request_pk))

    def list_by_external_id(
        self, external_id: str, *, limit: int = 50, cursor: str | None = None, newest_first: bool = True
    ) -> Page[SignatureRequest]:
        return self._list_index(
            schema.EXTERNAL_ID_INDEX,
            schema.EXTERNAL_ID_INDEX_PK,
            schema.EXTERNAL_ID_INDEX_SK,
            external_id,
            upper_bound=None,
            limit=limit,
            cursor=cursor,
            forward=not newest_first,
        )

    def list_by_status(
        self,
        status: RequestStatus,
        *,
        older_than: timedelta | None = None,
        newer_than: timedelta | None = None,
        now: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[SignatureRequest]:
        """Requests in `status`, the longest-waiting first; with `older_than`, only those whose status last changed
        more than that long ago (the reconciler's query); with `newer_than`, only those whose status changed within
        that long (the housekeeper's look at recently finished requests). Ages are measured from `now` (default: the
        store's clock), so a scheduled run measures from its event's time."""
        moment = now or self._clock()
        upper_bound = None if older_than is None else format_timestamp(moment - older_than)
        lower_bound = None if newer_than is None else format_timestamp(moment - newer_than)
        return self._list_index(
            schema.STATUS_INDEX,
            schema.STATUS_INDEX_PK,
            schema.STATUS_INDEX_SK,
            status.value,
            upper_bound=upper_bound,
            lower_bound=lower_bound,
            limit=limit,
            cursor=cursor,
            forward=True,
        )

    # ------------------------------------------------------------------------------------------------ internals

    def _transition_part(
        self,
        part: _Part,
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
        now = self._clock()
        plan = _Plan(request_id)
        self._add_part_change(plan, part, request_id, change, now=now)
        self._add_request_guard(plan, request_id, request_status)
        event_id = None
        if record_event:
            entry = TimelineEntry(
                id=self._new_id(),
                at=now,
                subject=part.subject,
                subject_index=change.index,
                from_status=change.expected_status,
                to_status=change.to,
                cause=cause,
                correlation_id=correlation_id,
                detail=detail,
            )
            plan.add(self._put_event(request_id, entry), _unexpected(request_id))
            event_id = entry.id
        self._add_lookups(plan, request_id, lookups, now)
        self._write(plan)
        return Transition(
            request_id=request_id,
            subject=part.subject,
            subject_index=change.index,
            from_status=change.expected_status,
            to_status=change.to,
            at=now,
            event_id=event_id,
        )

    def _update_part(
        self, part: _Part, request_id: str, change: DocumentChange | SignerChange, request_status: RequestStatus | None
    ) -> None:
        if not change.updates:
            return
        plan = _Plan(request_id)
        self._add_part_change(plan, part, request_id, change, now=self._clock())
        self._add_request_guard(plan, request_id, request_status)
        self._write(plan)

    def _add_part_change(
        self, plan: _Plan, part: _Part, request_id: str, change: DocumentChange | SignerChange, *, now: datetime
    ) -> None:
        subject = f"{part.subject} {change.index}"
        update = _Update()
        if change.to is not None:
            update.set("status", change.to)
            update.set("status_since", now)
        update.apply(_validated_updates(part.model, _PART_PROTECTED, change.updates, subject))
        condition = update.equals("status", change.expected_status)

        def failure(old: dict[str, Any] | None) -> StoreError:
            if old is None:
                return part.not_found(request_id, change.index)
            return ConcurrentUpdateError(
                request_id, subject, expected=str(change.expected_status), actual=old.get("status")
            )

        plan.add(self._update(schema.request_pk(request_id), part.sort_key(change.index), update, condition), failure)

    def _add_request_guard(self, plan: _Plan, request_id: str, request_status: RequestStatus | None) -> None:
        if request_status is None:
            return
        guard = _Update()
        condition = guard.equals("status", request_status)

        def failure(old: dict[str, Any] | None) -> StoreError:
            if old is None:
                return RequestNotFoundError(request_id)
            return ConcurrentUpdateError(request_id, "request", expected=str(request_status), actual=old.get("status"))

        check: dict[str, Any] = {
            "TableName": self._table,
            "Key": _key(schema.request_pk(request_id), schema.REQUEST_SK),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": guard.names,
            "ExpressionAttributeValues": guard.values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        plan.add({"ConditionCheck": check}, failure)

    def _add_lookups(self, plan: _Plan, request_id: str, lookups: Sequence[Lookup], now: datetime) -> None:
        for lookup in lookups:
            values = {
                schema.PK: _lookup_pk(lookup),
                schema.SK: schema.LOOKUP_SK,
                schema.ITEM_TYPE: "lookup",
                "kind": lookup.kind,
                "request_id": request_id,
                "document": lookup.document,
                "signer": lookup.signer,
                "created_at": now,
            }
            put = {
                "TableName": self._table,
                "Item": to_item(values),
                # Unique by construction; the same request may write it again (a retried step).
                "ConditionExpression": "attribute_not_exists(#pk) OR #request_id = :request_id",
                "ExpressionAttributeNames": {"#pk": schema.PK, "#request_id": "request_id"},
                "ExpressionAttributeValues": {":request_id": to_attribute(request_id)},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
            plan.add({"Put": put}, _lookup_conflict(request_id, lookup.kind))

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
            # Refused and logged, not applied (design.md "Request lifecycle").
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

    def _find(self, lookup_pk: str) -> LookupTarget | None:
        response = self._client.get_item(
            TableName=self._table, Key=_key(lookup_pk, schema.LOOKUP_SK), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        values = from_item(cast("Item", response["Item"]))
        return LookupTarget(
            request_id=str(values["request_id"]), document=values.get("document"), signer=values.get("signer")
        )

    def _list_index(
        self,
        index_name: str,
        partition_attribute: str,
        sort_attribute: str,
        partition_value: str,
        *,
        upper_bound: str | None,
        limit: int,
        cursor: str | None,
        forward: bool,
        lower_bound: str | None = None,
    ) -> Page[SignatureRequest]:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        names = {"#p": partition_attribute}
        values: dict[str, Any] = {":p": to_attribute(partition_value)}
        condition = "#p = :p"
        if upper_bound is not None or lower_bound is not None:
            names["#s"] = sort_attribute
        if upper_bound is not None and lower_bound is not None:
            # A key condition takes one range operator; BETWEEN is inclusive at both ends, which for timestamps with
            # microseconds differs from `<` / `>` only at the exact instant.
            values[":lo"] = to_attribute(lower_bound)
            values[":hi"] = to_attribute(upper_bound)
            condition += " AND #s BETWEEN :lo AND :hi"
        elif upper_bound is not None:
            values[":s"] = to_attribute(upper_bound)
            condition += " AND #s < :s"
        elif lower_bound is not None:
            values[":s"] = to_attribute(lower_bound)
            condition += " AND #s > :s"
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
            "ScanIndexForward": forward,
        }
        if cursor is not None:
            query["ExclusiveStartKey"] = decode_cursor(
                cursor,
                index_name=index_name,
                key_attributes=frozenset({schema.PK, schema.SK, partition_attribute, sort_attribute}),
                partition_attribute=partition_attribute,
                partition_value=partition_value,
            )
        response = self._client.query(**query)
        items = tuple(
            SignatureRequest.model_validate(from_item(cast("Item", item))) for item in response.get("Items", [])
        )
        return Page(items=items, next_cursor=encode_cursor(index_name, response.get("LastEvaluatedKey")))

    def _query_partition(self, pk: str) -> Iterator[dict[str, Any]]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": schema.PK},
            "ExpressionAttributeValues": {":pk": to_attribute(pk)},
            "ConsistentRead": True,
        }
        if self._query_page_size is not None:
            query["Limit"] = self._query_page_size
        while True:
            response = self._client.query(**query)
            for item in response.get("Items", []):
                yield from_item(cast("Item", item))
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _put_new(self, values: Mapping[str, object]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(values),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": schema.PK},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _put_event(self, request_id: str, entry: TimelineEntry) -> dict[str, Any]:
        values = {
            **entry.model_dump(),
            schema.PK: schema.request_pk(request_id),
            schema.SK: schema.event_sk(format_timestamp(entry.at), entry.id),
            schema.ITEM_TYPE: "event",
        }
        return self._put_new(values)

    def _update(self, pk: str, sk: str, update: _Update, condition: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": _key(pk, sk),
                "UpdateExpression": update.expression(),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": update.names,
                "ExpressionAttributeValues": update.values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _write(self, plan: _Plan) -> None:
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


# ------------------------------------------------------------------------------------------------ helpers


@dataclass(frozen=True)
class _Part:
    subject: TimelineSubject
    model: type[BaseModel]
    sort_key: Callable[[int], str]
    not_found: Callable[[str, int], StoreError]
    may_move: Callable[[Workflow, Any, Any], bool]


_DOCUMENTS: Final = _Part(
    TimelineSubject.DOCUMENT, Document, schema.document_sk, DocumentNotFoundError, lifecycle.may_transition_document
)
_SIGNERS: Final = _Part(
    TimelineSubject.SIGNER, Signer, schema.signer_sk, SignerNotFoundError, lifecycle.may_transition_signer
)


class _Plan:
    """The items of one transaction, each with how to explain its condition failing."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.items: list[dict[str, Any]] = []
        self._failures: list[Callable[[dict[str, Any] | None], StoreError]] = []

    def add(self, item: dict[str, Any], on_condition_failed: Callable[[dict[str, Any] | None], StoreError]) -> None:
        self.items.append(item)
        self._failures.append(on_condition_failed)

    def interpret(self, reasons: list[dict[str, Any]]) -> Exception:
        for position, reason in enumerate(reasons):
            if reason.get("Code") == "ConditionalCheckFailed" and position < len(self._failures):
                old = from_item(reason["Item"]) if reason.get("Item") else None
                return self._failures[position](old)
        codes = sorted({str(reason.get("Code")) for reason in reasons} - {"None"})
        if "TransactionConflict" in codes:
            return ConcurrentUpdateError(self.request_id, "request", expected="no concurrent transaction")
        return StoreError(f"request {self.request_id}: transaction cancelled ({', '.join(codes) or 'no reason'})")


class _Update:
    """Builds an UpdateExpression with placeholders for every name and value."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._sets: list[str] = []
        self._removes: list[str] = []

    def _name(self, attribute: str) -> str:
        placeholder = f"#a{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def _value(self, value: object) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = to_attribute(value)
        return placeholder

    def set(self, attribute: str, value: object) -> None:
        self._sets.append(f"{self._name(attribute)} = {self._value(value)}")

    def apply(self, updates: Mapping[str, object]) -> None:
        for attribute, value in updates.items():
            if value is None:
                self._removes.append(self._name(attribute))
            else:
                self.set(attribute, value)

    def equals(self, attribute: str, value: object) -> str:
        return f"{self._name(attribute)} = {self._value(value)}"

    def expression(self) -> str:
        clauses = []
        if self._sets:
            clauses.append("SET " + ", ".join(self._sets))
        if self._removes:
            clauses.append("REMOVE " + ", ".join(self._removes))
        return " ".join(clauses)


def _lookup_pk(lookup: Lookup) -> str:
    if lookup.kind is LookupKind.ZAPSIGN_DOC:
        return schema.zapsign_doc_pk(lookup.key)
    return schema.oneshot_request_pk(lookup.key)


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {schema.PK: {"S": pk}, schema.SK: {"S": sk}}


def _lookup_conflict(request_id: str, kind: LookupKind) -> Callable[[dict[str, Any] | None], StoreError]:
    def failure(_: dict[str, Any] | None) -> StoreError:
        return LookupConflictError(request_id, kind.value)

    return failure


def _unexpected(request_id: str) -> Callable[[dict[str, Any] | None], StoreError]:
    def failure(_: dict[str, Any] | None) -> StoreError:
        return StoreError(f"request {request_id}: an item that should be new already exists")

    return failure


@cache
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[(annotation, *info.metadata)]
    return TypeAdapter(annotation)


def _validated_updates(
    model: type[BaseModel], protected: frozenset[str], updates: Mapping[str, object], subject: str
) -> dict[str, object]:
    """Updates checked against the model's own field types, so what is written always reads back."""
    validated: dict[str, object] = {}
    for name, value in updates.items():
        if name in protected or name not in model.model_fields:
            raise InvalidUpdateError(f"{subject}: {name!r} is not a field an update may set")
        if value is None:
            validated[name] = None
            continue
        try:
            validated[name] = _field_adapter(model, name).validate_python(value)
        except ValidationError as error:
            # The message only, never the value: it may be personal data.
            raise InvalidUpdateError(f"{subject}: {name!r}: {error.errors()[0]['msg']}") from None
    return validated


def _check_unique(indexes: Sequence[int], what: str) -> None:
    if len(set(indexes)) != len(indexes):
        raise ValueError(f"{what}: each index at most once per transaction")


def _check_new_aggregate(request: SignatureRequest, documents: Sequence[Document], signers: Sequence[Signer]) -> None:
    if request.version != 1:
        raise ValueError("a new request starts at version 1")
    if [document.index for document in documents] != list(range(len(documents))):
        raise ValueError("documents must be indexed 0..n-1 in order")
    if [signer.index for signer in signers] != list(range(len(signers))):
        raise ValueError("signers must be indexed 0..n-1 in order")
    if request.document_count != len(documents) or request.signer_count != len(signers):
        raise ValueError("document_count and signer_count must match the documents and signers given")
    if len(documents) + len(signers) + 2 > MAX_TRANSACTION_ITEMS:
        raise ValueError("too many documents and signers for one transaction")
