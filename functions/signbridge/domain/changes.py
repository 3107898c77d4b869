"""What a step asks the record store to change, and what a change wrote: plain data, no I/O.

`DocumentChange` and `SignerChange` ride along a request transition; `Transition` is what the store reports back;
`Lookup` names a provider identifier that must lead back to its request (the store keeps one item per identifier).
`Move` and `Plan` are the planner's answer (`signbridge.workflow.planner`): a request transition it can make on its own
and the operation messages to enqueue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, DocumentStatus, RequestStatus, SignerStatus, TimelineSubject


class LookupKind(StrEnum):
    ZAPSIGN_DOC = "zapsign_doc"
    ONESHOT_REQUEST = "oneshot_request"


@dataclass(frozen=True)
class Lookup:
    """A provider identifier that must lead back to its request. Build with the class methods."""

    kind: LookupKind
    key: str
    document: int | None = None
    signer: int | None = None

    @classmethod
    def zapsign_doc(cls, doc_token: str, *, document: int | None = None) -> Lookup:
        """A ZapSign document token: the main document's (document None) or an extra document's."""
        return cls(LookupKind.ZAPSIGN_DOC, doc_token, document=document)

    @classmethod
    def oneshot_request(cls, request_pk: str | int, *, signer: int) -> Lookup:
        return cls(LookupKind.ONESHOT_REQUEST, str(request_pk), signer=signer)


@dataclass(frozen=True)
class LookupTarget:
    request_id: str
    document: int | None
    signer: int | None


@dataclass(frozen=True)
class DocumentChange:
    """A document change carried by a request move (`move_request`): a move (`to`) and/or field updates, conditional on
    `expected_status`. No timeline entry of its own: the request's entry covers it."""

    index: int
    expected_status: DocumentStatus
    to: DocumentStatus | None = None
    updates: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class SignerChange:
    """A signer change carried by a request move; see `DocumentChange`."""

    index: int
    expected_status: SignerStatus
    to: SignerStatus | None = None
    updates: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class TimelineNote:
    """A timeline entry an update writes without a move (the part's status to itself): who, why, what happened."""

    cause: Cause
    correlation_id: str
    detail: str


@dataclass(frozen=True)
class Transition:
    """What a transition wrote. `version` is the request's new version (request transitions only)."""

    request_id: str
    subject: TimelineSubject
    subject_index: int | None
    from_status: str
    to_status: str
    at: datetime
    event_id: str | None
    version: int | None = None


@dataclass(frozen=True)
class Move:
    """A request transition the planner can make on its own (no provider call)."""

    to: RequestStatus
    detail: str
    updates: Mapping[str, object] = field(default_factory=dict)
    document_changes: tuple[DocumentChange, ...] = ()
    signer_changes: tuple[SignerChange, ...] = ()


@dataclass(frozen=True)
class Plan:
    move: Move | None = None
    steps: tuple[OperationMessage, ...] = ()

    @property
    def empty(self) -> bool:
        return self.move is None and not self.steps
