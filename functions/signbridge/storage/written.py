"""The request as a write left it: the aggregate the caller read, with exactly what the store wrote applied.

The record store's aggregate-returning writes (`RecordStore.move_request`, `move_part`, `update_part`) answer with
this, computed from the same change they just wrote, so the write semantics are stated once, here beside the writes,
and a step plans its next steps without reading the request again. Pure: no I/O.

- A request move sets `status`, `version` (+1), `status_since` and `updated_at` (the write's instant), the request
  fields it carried, each document and signer change it carried (`status` and `status_since` for a move, then the
  fields), and appends its timeline entry followed by one entry per document and signer move it carried
  (`carried_entries`; all of them are stored in the one timeline item the transaction writes).
- A document or signer move changes that part the same way and appends its entry (if it recorded one); the request
  item is left as it was.
- A part update sets fields only (no move, no entry).

Fields set to None are removed from the item, which reads back as the model's default (None for every optional field).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar

from signbridge.domain.changes import DocumentChange, SignerChange, Transition
from signbridge.domain.models import (
    Cause,
    Document,
    RequestAggregate,
    RequestStatus,
    Signer,
    TimelineEntry,
    TimelineSubject,
)

Part = TypeVar("Part", Document, Signer)

# The attribute of a timeline item that holds the part moves written with it (`carried_entries`).
CARRIED: Final = "changes"
_CARRIED_FIELDS: Final = ("subject", "subject_index", "from_status", "to_status")


def carried_entries(
    entry: TimelineEntry, document_changes: Sequence[DocumentChange], signer_changes: Sequence[SignerChange]
) -> tuple[TimelineEntry, ...]:
    """One entry per document and signer move written together with the request move of `entry` (same instant,
    cause, correlation and detail), documents first, each by index; field updates without a move have none."""
    moves: list[tuple[TimelineSubject, DocumentChange | SignerChange]] = [
        *((TimelineSubject.DOCUMENT, change) for change in sorted(document_changes, key=lambda c: c.index)),
        *((TimelineSubject.SIGNER, change) for change in sorted(signer_changes, key=lambda c: c.index)),
    ]
    return tuple(
        entry.model_copy(
            update={
                "id": f"{entry.id}-{subject}-{change.index}",
                "subject": subject,
                "subject_index": change.index,
                "from_status": str(change.expected_status),
                "to_status": str(change.to),
            }
        )
        for subject, change in moves
        if change.to is not None
    )


def carried_values(entries: Sequence[TimelineEntry]) -> list[dict[str, Any]]:
    """What a timeline item stores of the carried entries: only what differs from its own entry."""
    return [entry.model_dump(include=set(_CARRIED_FIELDS)) for entry in entries]


def stored_entries(values: Mapping[str, Any]) -> Iterator[TimelineEntry]:
    """The entries of one timeline item: its own, then those it carries."""
    entry = TimelineEntry.model_validate(values)
    yield entry
    for carried in values.get(CARRIED) or ():
        subject = TimelineSubject(carried["subject"])
        index = int(carried["subject_index"])
        yield entry.model_copy(
            update={
                "id": f"{entry.id}-{subject}-{index}",
                "subject": subject,
                "subject_index": index,
                "from_status": carried["from_status"],
                "to_status": carried["to_status"],
            }
        )


def after_request_move(
    aggregate: RequestAggregate,
    written: Transition,
    *,
    cause: Cause,
    correlation_id: str,
    detail: str | None,
    updates: Mapping[str, object],
    document_changes: Sequence[DocumentChange],
    signer_changes: Sequence[SignerChange],
    status_since: datetime | None = None,
) -> RequestAggregate:
    """The aggregate after a request move (or, with `status_since` kept, after `record_on_request`)."""
    at = written.at
    request = aggregate.request.model_copy(
        update={
            "status": RequestStatus(written.to_status),
            "version": written.version,
            "status_since": status_since or at,
            "updated_at": at,
            **updates,
        }
    )
    by_document = {change.index: change for change in document_changes}
    by_signer = {change.index: change for change in signer_changes}
    entries: tuple[TimelineEntry, ...] = ()
    if written.event_id is not None:  # None: a move recorded without a timeline entry (`record_event=False`)
        entry = TimelineEntry(
            id=written.event_id,
            at=at,
            from_status=written.from_status,
            to_status=written.to_status,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
        )
        entries = (entry, *carried_entries(entry, document_changes, signer_changes))
    return RequestAggregate(
        request=request,
        documents=tuple(_changed(document, by_document.get(document.index), at) for document in aggregate.documents),
        signers=tuple(_changed(signer, by_signer.get(signer.index), at) for signer in aggregate.signers),
        timeline=(*aggregate.timeline, *entries),
    )


def after_part_change(
    aggregate: RequestAggregate,
    change: DocumentChange | SignerChange,
    at: datetime,
    written: Transition | None = None,
    *,
    cause: Cause | None = None,
    correlation_id: str | None = None,
    detail: str | None = None,
) -> RequestAggregate:
    """`change` applied to its document or signer (a move when `change.to` is set), and the timeline entry of
    `written` appended when the write recorded one."""
    timeline = aggregate.timeline
    if written is not None and written.event_id is not None:
        assert cause is not None
        assert correlation_id is not None
        entry = TimelineEntry(
            id=written.event_id,
            at=written.at,
            subject=written.subject,
            subject_index=written.subject_index,
            from_status=written.from_status,
            to_status=written.to_status,
            cause=cause,
            correlation_id=correlation_id,
            detail=detail,
        )
        timeline = (*timeline, entry)
    if isinstance(change, DocumentChange):
        documents = tuple(
            _changed(document, change if document.index == change.index else None, at)
            for document in aggregate.documents
        )
        return aggregate.model_copy(update={"documents": documents, "timeline": timeline})
    signers = tuple(
        _changed(signer, change if signer.index == change.index else None, at) for signer in aggregate.signers
    )
    return aggregate.model_copy(update={"signers": signers, "timeline": timeline})


def _changed(part: Part, change: DocumentChange | SignerChange | None, at: datetime) -> Part:
    if change is None:
        return part
    moved: dict[str, object] = {"status": change.to, "status_since": at} if change.to is not None else {}
    return part.model_copy(update={**moved, **change.updates})
