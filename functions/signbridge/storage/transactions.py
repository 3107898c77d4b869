"""The transaction builder of the record store: one TransactWriteItems as a plan of items, each with how to explain
its condition failing, and the UpdateExpression builder that names every attribute and value by placeholder.

Also the checks every write makes before it is sent: updates validated against the model's own field types (so what
is written always reads back), the fields only the store sets, and the shape of a new request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Final

from pydantic import BaseModel, TypeAdapter, ValidationError

from signbridge.domain import lifecycle
from signbridge.domain.changes import DocumentChange, Lookup, LookupKind, SignerChange
from signbridge.domain.errors import (
    ConcurrentUpdateError,
    DocumentNotFoundError,
    InvalidUpdateError,
    LookupConflictError,
    RequestNotFoundError,
    SignerNotFoundError,
    StoreError,
)
from signbridge.domain.models import (
    Document,
    RequestStatus,
    SignatureRequest,
    Signer,
    TimelineEntry,
    TimelineSubject,
    Workflow,
)
from signbridge.storage import schema
from signbridge.storage.attributes import format_timestamp, from_item, to_attribute, to_item
from signbridge.storage.written import CARRIED, carried_values

MAX_TRANSACTION_ITEMS: Final = 100  # DynamoDB's TransactWriteItems limit

# Fields only the store sets (by creating the item or by a transition); updates may not touch them.
REQUEST_PROTECTED: Final = frozenset(
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
PART_PROTECTED: Final = frozenset({"index", "status", "status_since"})


@dataclass(frozen=True)
class Part:
    subject: TimelineSubject
    model: type[BaseModel]
    sort_key: Callable[[int], str]
    not_found: Callable[[str, int], StoreError]
    may_move: Callable[[Workflow, Any, Any], bool]


DOCUMENTS: Final = Part(
    TimelineSubject.DOCUMENT, Document, schema.document_sk, DocumentNotFoundError, lifecycle.may_transition_document
)
SIGNERS: Final = Part(
    TimelineSubject.SIGNER, Signer, schema.signer_sk, SignerNotFoundError, lifecycle.may_transition_signer
)


class Plan:
    """The items of one transaction, each with how to explain its condition failing."""

    def __init__(self, table: str, request_id: str) -> None:
        self.table = table
        self.request_id = request_id
        self.items: list[dict[str, Any]] = []
        self._failures: list[Callable[[dict[str, Any] | None], StoreError]] = []

    def add(self, item: dict[str, Any], on_condition_failed: Callable[[dict[str, Any] | None], StoreError]) -> None:
        self.items.append(item)
        self._failures.append(on_condition_failed)

    def part_change(self, part: Part, change: DocumentChange | SignerChange, *, now: datetime) -> None:
        """A document or signer update (a move when `change.to` is set), conditional on the part's status."""
        request_id = self.request_id
        subject = f"{part.subject} {change.index}"
        update = Update()
        if change.to is not None:
            update.set("status", change.to)
            update.set("status_since", now)
        update.apply(validated_updates(part.model, PART_PROTECTED, change.updates, subject))
        condition = update.equals("status", change.expected_status)

        def failure(old: dict[str, Any] | None) -> StoreError:
            if old is None:
                return part.not_found(request_id, change.index)
            return ConcurrentUpdateError(
                request_id, subject, expected=str(change.expected_status), actual=old.get("status")
            )

        self.add(
            self.update_item(schema.request_pk(request_id), part.sort_key(change.index), update, condition), failure
        )

    def request_guard(self, request_status: RequestStatus | None) -> None:
        """A condition check: the request is in `request_status` (nothing when None)."""
        request_id = self.request_id
        if request_status is None:
            return
        guard = Update()
        condition = guard.equals("status", request_status)

        def failure(old: dict[str, Any] | None) -> StoreError:
            if old is None:
                return RequestNotFoundError(request_id)
            return ConcurrentUpdateError(request_id, "request", expected=str(request_status), actual=old.get("status"))

        check: dict[str, Any] = {
            "TableName": self.table,
            "Key": key(schema.request_pk(request_id), schema.REQUEST_SK),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": guard.names,
            "ExpressionAttributeValues": guard.values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        self.add({"ConditionCheck": check}, failure)

    def lookups(self, lookups: Sequence[Lookup], now: datetime) -> None:
        """The lookup items of provider identifiers, each unique to this request."""
        request_id = self.request_id
        for lookup in lookups:
            values = {
                schema.PK: lookup_pk(lookup),
                schema.SK: schema.LOOKUP_SK,
                schema.ITEM_TYPE: "lookup",
                "kind": lookup.kind,
                "request_id": request_id,
                "document": lookup.document,
                "signer": lookup.signer,
                "created_at": now,
            }
            put = {
                "TableName": self.table,
                "Item": to_item(values),
                # Unique by construction; the same request may write it again (a retried step).
                "ConditionExpression": "attribute_not_exists(#pk) OR #request_id = :request_id",
                "ExpressionAttributeNames": {"#pk": schema.PK, "#request_id": "request_id"},
                "ExpressionAttributeValues": {":request_id": to_attribute(request_id)},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
            self.add({"Put": put}, lookup_conflict(request_id, lookup.kind))

    def put_new(self, values: Mapping[str, object]) -> dict[str, Any]:
        """A Put of an item that must not exist yet."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(values),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": schema.PK},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def put_event(self, entry: TimelineEntry, carried: Sequence[TimelineEntry] = ()) -> dict[str, Any]:
        """A Put of a timeline entry of this request, with the entries of the part moves written together with it in
        the same item (one item per transaction: every step reads the timeline)."""
        request_id = self.request_id
        values: dict[str, object] = {
            **entry.model_dump(),
            schema.PK: schema.request_pk(request_id),
            schema.SK: schema.event_sk(format_timestamp(entry.at), entry.id),
            schema.ITEM_TYPE: "event",
        }
        if carried:
            values[CARRIED] = carried_values(carried)
        return self.put_new(values)

    def update_item(self, pk: str, sk: str, update: Update, condition: str) -> dict[str, Any]:
        """A conditional Update of one item."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": key(pk, sk),
                "UpdateExpression": update.expression(),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": update.names,
                "ExpressionAttributeValues": update.values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def interpret(self, reasons: list[dict[str, Any]]) -> Exception:
        for position, reason in enumerate(reasons):
            if reason.get("Code") == "ConditionalCheckFailed" and position < len(self._failures):
                old = from_item(reason["Item"]) if reason.get("Item") else None
                return self._failures[position](old)
        codes = sorted({str(reason.get("Code")) for reason in reasons} - {"None"})
        if "TransactionConflict" in codes:
            return ConcurrentUpdateError(self.request_id, "request", expected="no concurrent transaction")
        return StoreError(f"request {self.request_id}: transaction cancelled ({', '.join(codes) or 'no reason'})")


class Update:
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


def lookup_pk(lookup: Lookup) -> str:
    if lookup.kind is LookupKind.ZAPSIGN_DOC:
        return schema.zapsign_doc_pk(lookup.key)
    return schema.oneshot_request_pk(lookup.key)


def key(pk: str, sk: str) -> dict[str, Any]:
    return {schema.PK: {"S": pk}, schema.SK: {"S": sk}}


def lookup_conflict(request_id: str, kind: LookupKind) -> Callable[[dict[str, Any] | None], StoreError]:
    def failure(_: dict[str, Any] | None) -> StoreError:
        return LookupConflictError(request_id, kind.value)

    return failure


def unexpected(request_id: str) -> Callable[[dict[str, Any] | None], StoreError]:
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


def validated_updates(
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


def check_unique(indexes: Sequence[int], what: str) -> None:
    if len(set(indexes)) != len(indexes):
        raise ValueError(f"{what}: each index at most once per transaction")


def check_new_aggregate(request: SignatureRequest, documents: Sequence[Document], signers: Sequence[Signer]) -> None:
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
