"""In-memory fakes of the workflow's ports, for unit tests (no sockets, no moto).

`MemoryRecords` implements the record store port as the DynamoDB store does: every write is conditional (the request
on its status and version, a part on its status, optionally the request's status as a guard), a move is checked
against the lifecycle first, and each write answers the aggregate as written, computed by the same
`signbridge.storage.written` functions the real store uses. Every write is logged in `writes`, every read counted.
`MemoryQueues` logs what was sent, `MemoryFiles` holds objects in a dict, and the provider fakes log what they were
asked and answer what the test gave them.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from signbridge.config import Settings
from signbridge.domain import lifecycle
from signbridge.domain.changes import (
    DocumentChange,
    Lookup,
    LookupKind,
    LookupTarget,
    SignerChange,
    TimelineNote,
    Transition,
)
from signbridge.domain.errors import ConcurrentUpdateError, RequestNotFoundError, StoredFileNotFoundError
from signbridge.domain.files import ByteSource, FileInfo, FileStream, ObjectSummary, StoredFile
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    Cause,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    TimelineSubject,
)
from signbridge.domain.operations import Queue
from signbridge.domain.verification import (
    Coverage,
    ExpectedSigner,
    FileReport,
    IdentityMatch,
    Indication,
    LongTermLevel,
    QcStatements,
    SignatureReport,
    SubIndication,
    unmatched,
)
from signbridge.storage.written import after_part_change, after_request_move
from signbridge.workflow.ports import FileDownloads, OneShotClient, SignatureVerifier, ZapSignClient
from signbridge.workflow.services import Services

NOW = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)
LONG_TERM_MARKER = b"\n%FakeVerifier: validation material\n"


@dataclass(frozen=True)
class Write:
    """One write the store accepted: `kind` is move_request, move_part or update_part."""

    kind: str
    to: str | None = None
    subject: str = "request"
    index: int | None = None
    updates: Mapping[str, object] = field(default_factory=dict)
    parts: tuple[DocumentChange | SignerChange, ...] = ()
    lookups: tuple[Lookup, ...] = ()
    detail: str | None = None
    guard: RequestStatus | None = None


class MemoryRecords:
    """The record store port in memory; see the module's docstring."""

    def __init__(self, *aggregates: RequestAggregate, clock: Callable[[], datetime] = lambda: NOW) -> None:
        self.stored: dict[str, RequestAggregate] = {aggregate.request.id: aggregate for aggregate in aggregates}
        self.lookups: dict[tuple[LookupKind, str], LookupTarget] = {}
        self.writes: list[Write] = []
        self.reads = 0
        self.rival: RequestAggregate | None = None  # set: the next request move loses its race to this aggregate
        self._clock = clock
        self._events = 0

    # ------------------------------------------------------------------------------------------------ reads

    def get_request(self, request_id: str) -> RequestAggregate:
        self.reads += 1
        if request_id not in self.stored:
            raise RequestNotFoundError(request_id)
        return self.stored[request_id]

    def get_request_item(self, request_id: str) -> SignatureRequest:
        return self.get_request(request_id).request

    def find_by_zapsign_doc_token(self, doc_token: str) -> LookupTarget | None:
        return self.lookups.get((LookupKind.ZAPSIGN_DOC, doc_token))

    def find_by_oneshot_request(self, request_pk: str | int) -> LookupTarget | None:
        return self.lookups.get((LookupKind.ONESHOT_REQUEST, str(request_pk)))

    # ------------------------------------------------------------------------------------------------ writes

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
        request = aggregate.request
        if self.rival is not None:
            self.stored[request.id], self.rival = self.rival, None
            raise ConcurrentUpdateError(request.id, "request", expected=f"version {request.version}")
        held = self.stored[request.id].request
        if (held.status, held.version) != (request.status, request.version):
            raise ConcurrentUpdateError(request.id, "request", expected=f"{request.status} at {request.version}")
        lifecycle.check_move(
            "request",
            request.id,
            workflow=request.workflow,
            from_status=request.status,
            to_status=to,
            may_move=lifecycle.may_transition,
        )
        for change in (*document_changes, *signer_changes):
            self._check_part(request.id, change, check_move=False)
        written = Transition(
            request.id,
            TimelineSubject.REQUEST,
            None,
            request.status,
            to,
            self._clock(),
            self._event_id() if record_event else None,
            version=request.version + 1,
        )
        applied = {
            "cause": cause,
            "correlation_id": correlation_id,
            "detail": detail,
            "updates": dict(updates or {}),
            "document_changes": document_changes,
            "signer_changes": signer_changes,
        }
        self.stored[request.id] = after_request_move(self.stored[request.id], written, **applied)  # type: ignore[arg-type]
        self._add_lookups(request.id, lookups)
        self.writes.append(
            Write(
                "move_request",
                to.value,
                updates=dict(updates or {}),
                parts=(*document_changes, *signer_changes),
                lookups=tuple(lookups),
                detail=detail,
            )
        )
        return after_request_move(aggregate, written, **applied)  # type: ignore[arg-type]

    def record_on_request(
        self,
        aggregate: RequestAggregate,
        *,
        cause: Cause,
        correlation_id: str,
        detail: str,
        updates: Mapping[str, object],
    ) -> RequestAggregate:
        request = aggregate.request
        held = self.stored[request.id].request
        if (held.status, held.version) != (request.status, request.version):
            raise ConcurrentUpdateError(request.id, "request", expected=f"{request.status} at {request.version}")
        written = Transition(
            request.id,
            TimelineSubject.REQUEST,
            None,
            request.status,
            request.status,
            self._clock(),
            self._event_id(),
            version=request.version + 1,
        )
        applied: dict[str, Any] = {
            "cause": cause,
            "correlation_id": correlation_id,
            "detail": detail,
            "updates": dict(updates),
            "document_changes": (),
            "signer_changes": (),
            "status_since": request.status_since,
        }
        self.stored[request.id] = after_request_move(self.stored[request.id], written, **applied)
        self.writes.append(Write("record_on_request", request.status.value, updates=dict(updates), detail=detail))
        return after_request_move(aggregate, written, **applied)

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
        assert change.to is not None
        request_id = aggregate.request.id
        self._guard(request_id, request_status)
        self._check_part(request_id, change)
        subject = TimelineSubject.DOCUMENT if isinstance(change, DocumentChange) else TimelineSubject.SIGNER
        at = self._clock()
        written = Transition(
            request_id,
            subject,
            change.index,
            change.expected_status,
            change.to,
            at,
            self._event_id() if record_event else None,
        )
        context = {"cause": cause, "correlation_id": correlation_id, "detail": detail}
        self.stored[request_id] = after_part_change(self.stored[request_id], change, at, written, **context)  # type: ignore[arg-type]
        self._add_lookups(request_id, lookups)
        self.writes.append(
            Write(
                "move_part",
                change.to.value,
                subject.value,
                change.index,
                dict(change.updates),
                lookups=tuple(lookups),
                detail=detail,
                guard=request_status,
            )
        )
        return after_part_change(aggregate, change, at, written, **context)  # type: ignore[arg-type]

    def update_part(
        self,
        aggregate: RequestAggregate,
        change: DocumentChange | SignerChange,
        *,
        request_status: RequestStatus | None = None,
        note: TimelineNote | None = None,
    ) -> RequestAggregate:
        assert change.to is None
        request_id = aggregate.request.id
        self._guard(request_id, request_status)
        self._check_part(request_id, change)
        subject = "document" if isinstance(change, DocumentChange) else "signer"
        now = self._clock()
        written = None
        if note is not None:
            status = str(change.expected_status)
            written = Transition(
                request_id, TimelineSubject(subject), change.index, status, status, now, uuid.uuid4().hex
            )
        cause, correlation_id, detail = (note.cause, note.correlation_id, note.detail) if note else (None, None, None)
        self.stored[request_id] = after_part_change(
            self.stored[request_id], change, now, written, cause=cause, correlation_id=correlation_id, detail=detail
        )
        self.writes.append(
            Write("update_part", None, subject, change.index, dict(change.updates), guard=request_status)
        )
        return after_part_change(
            aggregate, change, now, written, cause=cause, correlation_id=correlation_id, detail=detail
        )

    # ------------------------------------------------------------------------------------------------ internals

    def _guard(self, request_id: str, request_status: RequestStatus | None) -> None:
        held = self.stored[request_id].request
        if request_status is not None and held.status is not request_status:
            raise ConcurrentUpdateError(request_id, "request", expected=str(request_status), actual=held.status)

    def _check_part(self, request_id: str, change: DocumentChange | SignerChange, *, check_move: bool = True) -> None:
        """The part's status condition; with `check_move`, the lifecycle check of its move (the fake leaves that out
        for parts carried by a request move, whose lifecycle the planner's unit tests cover)."""
        held = self.stored[request_id]
        is_document = isinstance(change, DocumentChange)
        part = held.document(change.index) if is_document else held.signer(change.index)
        if part.status is not change.expected_status:
            raise ConcurrentUpdateError(request_id, f"part {change.index}", expected=str(change.expected_status))
        if check_move and change.to is not None:
            lifecycle.check_move(
                f"part {change.index}",
                request_id,
                workflow=held.request.workflow,
                from_status=change.expected_status,
                to_status=change.to,
                may_move=lifecycle.may_transition_document if is_document else lifecycle.may_transition_signer,
            )

    def _add_lookups(self, request_id: str, lookups: Sequence[Lookup]) -> None:
        for lookup in lookups:
            self.lookups[(lookup.kind, lookup.key)] = LookupTarget(request_id, lookup.document, lookup.signer)

    def _event_id(self) -> str:
        self._events += 1
        return f"evt-{self._events}"


class MemoryQueues:
    """The queue port in memory: what was sent, per queue."""

    def __init__(self) -> None:
        self.sent: list[tuple[Queue, OperationMessage]] = []

    def send(self, queue: Queue, message: OperationMessage, **_: object) -> str:
        self.sent.append((queue, message))
        return "id"

    def send_batch(self, queue: Queue, messages: Sequence[OperationMessage]) -> None:
        self.sent.extend((queue, message) for message in messages)

    def ops(self) -> list[tuple[str, int | None, int | None]]:
        """(op, signer, document) of each message sent, in order."""
        return [(message.op, message.signer, message.document) for _, message in self.sent]


class _Stream(io.BytesIO):
    def __init__(self, key: str, data: bytes) -> None:
        super().__init__(data)
        self.key, self.size, self.sha256, self.content_type = key, len(data), None, "application/pdf"
        self.version_id: str | None = None

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk

    def __iter__(self) -> Iterator[bytes]:  # type: ignore[override]
        return self.iter_chunks()


class MemoryFiles:
    """The file store port in memory: objects by key."""

    def __init__(self, objects: Mapping[str, bytes] | None = None) -> None:
        self.objects: dict[str, bytes] = dict(objects or {})
        self.deleted: list[str] = []

    def store_stream(
        self, key: str, source: ByteSource, *, expect_pdf: bool, max_bytes: int, **_: object
    ) -> StoredFile:
        data = b"".join(source) if not hasattr(source, "read") else cast("Any", source).read()
        return self.store_bytes(key, data, expect_pdf=expect_pdf, max_bytes=max_bytes)

    def store_bytes(self, key: str, data: bytes, *, expect_pdf: bool, max_bytes: int, **_: object) -> StoredFile:
        self.objects[key] = data
        return StoredFile(key=key, size=len(data), sha256=hashlib.sha256(data).hexdigest(), version_id=None)

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)
        self.deleted.append(key)

    def list_objects(self, prefix: str, **_: object) -> Iterator[ObjectSummary]:
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield ObjectSummary(key=key, size=len(self.objects[key]), last_modified=NOW)

    def head(self, key: str) -> FileInfo:
        if key not in self.objects:
            raise StoredFileNotFoundError(key)
        return FileInfo(key, len(self.objects[key]), None, "application/pdf", None, {})

    def open_stream(self, key: str) -> _Stream:
        if key not in self.objects:
            raise StoredFileNotFoundError(key)
        return _Stream(key, self.objects[key])


class Recorder:
    """A provider fake: `calls` logs (method, arguments); `answers[method]` is the answer (or an exception to raise,
    or a callable of the arguments)."""

    def __init__(self, **answers: Any) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.answers = answers

    def _answer(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((method, args, kwargs))
        answer = self.answers.get(method)
        if isinstance(answer, BaseException):
            raise answer
        return answer(*args, **kwargs) if callable(answer) else answer

    def asked(self) -> list[str]:
        return [method for method, _, _ in self.calls]


class FakeZapSign(Recorder):
    def create_document(self, document: Any) -> Any:
        return self._answer("create_document", document)

    def add_extra_document(self, doc_token: str, **kwargs: Any) -> Any:
        return self._answer("add_extra_document", doc_token, **kwargs)

    def get_document(self, token: str) -> Any:
        return self._answer("get_document", token)

    def list_documents(self, **kwargs: Any) -> Any:
        return self._answer("list_documents", **kwargs)

    def cancel_document(self, doc_token: str, rejected_reason: str, *, notify_signer: bool = False) -> Any:
        return self._answer("cancel_document", doc_token, rejected_reason)


class FakeOneShot(Recorder):
    def create_request(self, identity: Any, evidence: Any, **kwargs: Any) -> Any:
        return self._answer("create_request", identity, evidence, **kwargs)

    @contextmanager
    def open_contract(self, pk: int) -> Iterator[FileStream]:
        yield self._answer("open_contract", pk)

    def send_otp(self, pk: int) -> None:
        self._answer("send_otp", pk)

    def sign(self, pk: int, otp: str, **kwargs: Any) -> Any:
        return self._answer("sign", pk, otp)

    def upload_document(self, pk: int, file: Any) -> Any:
        return self._answer("upload_document", pk, file.filename)

    def list_documents(self, pk: int) -> Any:
        return self._answer("list_documents", pk)

    @contextmanager
    def open_document(self, pk: int, uid: str, document_type: str = "original") -> Iterator[FileStream]:
        yield self._answer("open_document", pk, uid, document_type)

    def delete_all_documents(self, pk: int) -> bool:
        return bool(self._answer("delete_all_documents", pk))

    def with_budget(self, **_: Any) -> FakeOneShot:
        return self


class FakeDownloads(Recorder):
    @contextmanager
    def open(self, url: str, **kwargs: Any) -> Iterator[FileStream]:
        yield self._answer("open", url)


def pdf_stream(data: bytes, host: str = "files.example") -> FileStream:
    return FileStream(url_host=host, content_length=len(data), content_type="application/pdf", chunks=iter([data]))


class FakeVerifier(Recorder):
    """The signature verifier's port: each file gets one signature per expected signer (or one platform signature
    when none is expected), all with `indication`/`sub_indication`, naming the expected signer unless `wrong_signer`.
    The real verifier (pyHanko) runs in the integration and e2e tests on the simulators' real signatures."""

    def __init__(
        self,
        indication: Indication = Indication.TOTAL_PASSED,
        sub_indication: SubIndication | None = None,
        *,
        wrong_signer: bool = False,
    ) -> None:
        super().__init__()
        self.indication = indication
        self.sub_indication = sub_indication
        self.wrong_signer = wrong_signer
        self.read: list[bytes] = []

    def verify(self, pdf: Any, *, expected_signers: Sequence[ExpectedSigner] = ()) -> FileReport:
        self.calls.append(("verify", (), {"expected_signers": tuple(expected_signers)}))
        self.read.append(pdf.read())
        wanted = tuple(expected_signers) or (None,)
        signatures = tuple(self._signature(index, signer) for index, signer in enumerate(wanted))
        return FileReport(
            file_size=len(self.read[-1]),
            validated_at=NOW,
            signatures=signatures,
            expected_signers=tuple(expected_signers),
            unmatched_signers=unmatched(signatures, tuple(expected_signers)),
        )

    def embed_validation_material(self, pdf: Any, output: Any) -> LongTermLevel:
        """The file followed by a marker standing for the DSS update: the prefix stays the file as served."""
        self.calls.append(("embed_validation_material", (), {}))
        output.write(pdf.read() + LONG_TERM_MARKER)
        return LongTermLevel.B_LT

    def _signature(self, index: int, expected: ExpectedSigner | None) -> SignatureReport:
        identity = None
        if expected is not None:
            ok = not self.wrong_signer
            identity = IdentityMatch(expected=expected, name_matches=ok, id_number_matches=ok)
        return SignatureReport(
            field_name=f"Signature{index + 1}",
            indication=self.indication,
            sub_indication=self.sub_indication,
            intact=True,
            crypto_valid=True,
            chain_trusted=self.indication is Indication.TOTAL_PASSED,
            coverage=Coverage.ENTIRE_FILE,
            modifications_allowed=True,
            signed_bytes=1,
            qc_statements=QcStatements(qc_compliance=True, qc_sscd=True, qc_type_esign=True),
            identity=identity,
        )


@dataclass
class MemoryServices(Services):
    """`Services` on the in-memory fakes; the provider fakes are fields (None: the step must not call that provider)."""

    zapsign_client: FakeZapSign | None = None
    oneshot_client: FakeOneShot | None = None
    download_client: FakeDownloads | None = None
    verifier_client: FakeVerifier | None = None

    def zapsign(self) -> ZapSignClient:
        assert self.zapsign_client is not None, "this step must not call ZapSign"
        return cast("ZapSignClient", self.zapsign_client)

    def oneshot(self) -> OneShotClient:
        assert self.oneshot_client is not None, "this step must not call One-Shot"
        return cast("OneShotClient", self.oneshot_client)

    def downloads(self) -> FileDownloads:
        assert self.download_client is not None, "this step must not download"
        return cast("FileDownloads", self.download_client)

    def verifier(self) -> SignatureVerifier:
        assert self.verifier_client is not None, "this step must not verify a signed file"
        return cast("SignatureVerifier", self.verifier_client)


SETTINGS = Settings(
    table_name="t",
    bucket_name="b",
    zapsign_queue_url="zq",
    oneshot_queue_url="oq",
    zapsign_secret_name="z",
    webhook_secret_name="w",
    oneshot_secret_name="o",
)


def memory_services(
    records: MemoryRecords,
    queues: MemoryQueues | None = None,
    *,
    files: MemoryFiles | None = None,
    zapsign: FakeZapSign | None = None,
    oneshot: FakeOneShot | None = None,
    downloads: FakeDownloads | None = None,
    verifier: FakeVerifier | None = None,
    settings: Settings = SETTINGS,
    secrets: Any = None,
) -> MemoryServices:
    return MemoryServices(
        settings=settings,
        records=records,
        files=cast("Any", files or MemoryFiles()),
        queues=queues or MemoryQueues(),
        secrets=secrets,
        idempotency=cast("Any", None),
        clock=lambda: NOW,
        zapsign_client=zapsign,
        oneshot_client=oneshot,
        download_client=downloads,
        verifier_client=verifier or FakeVerifier(),
    )


def with_parts(
    aggregate: RequestAggregate, *, request: Mapping[str, Any] | None = None, **parts: Any
) -> RequestAggregate:
    """`aggregate` with request fields and per-part fields replaced: `document0={...}`, `signer1={...}`."""
    documents = tuple(
        document.model_copy(update=parts.get(f"document{document.index}", {})) for document in aggregate.documents
    )
    signers = tuple(signer.model_copy(update=parts.get(f"signer{signer.index}", {})) for signer in aggregate.signers)
    return aggregate.model_copy(
        update={
            "request": aggregate.request.model_copy(update=dict(request or {})),
            "documents": documents,
            "signers": signers,
        }
    )
