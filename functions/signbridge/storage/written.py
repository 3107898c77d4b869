"""The request as a write left it: the aggregate the caller read, with exactly what the store wrote applied.

The record store's aggregate-returning writes (`RecordStore.move_request`, `move_part`, `update_part`) answer with
this, computed from the same change they just wrote, so the write semantics are stated once, here beside the writes,
and a step plans its next steps without reading the request again. Pure: no I/O.

- A request move sets `status`, `version` (+1), `status_since` and `updated_at` (the write's instant), the request
  fields it carried, each document and signer change it carried (`status` and `status_since` for a move, then the
  fields), and appends its timeline entry.
- A document or signer move changes that part the same way and appends its entry (if it recorded one); the request
  item is left as it was.
- A part update sets fields only (no move, no entry).

Fields set to None are removed from the item, which reads back as the model's default (None for every optional field).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from signbridge.domain.changes import DocumentChange, SignerChange, Transition
from signbridge.domain.models import Cause, Document, RequestAggregate, RequestStatus, Signer, TimelineEntry

Part = TypeVar("Part", Document, Signer)


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
) -> RequestAggregate:
    at = written.at
    request = aggregate.request.model_copy(
        update={
            "status": RequestStatus(written.to_status),
            "version": written.version,
            "status_since": at,
            "updated_at": at,
            **updates,
        }
    )
    by_document = {change.index: change for change in document_changes}
    by_signer = {change.index: change for change in signer_changes}
    entries: tuple[TimelineEntry, ...] = ()
    if written.event_id is not None:  # None: a move recorded without a timeline entry (`record_event=False`)
        entries = (
            TimelineEntry(
                id=written.event_id,
                at=at,
                from_status=written.from_status,
                to_status=written.to_status,
                cause=cause,
                correlation_id=correlation_id,
                detail=detail,
            ),
        )
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
