"""`upload_oneshot_document`: one document for the current signer, its intent recorded first; a lost answer is
resolved from the Optimizer's listing of the request's documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Final, cast

from aws_lambda_powertools import Logger

from signbridge.domain.errors import StoredFileNotFoundError
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Document, DocumentStatus, RequestAggregate, RequestStatus, Signer, SignerStatus
from signbridge.domain.oneshot import FilePart
from signbridge.domain.provider_errors import RetryableError, UncertainOutcomeError
from signbridge.workflow.oneshot.common import CannotProceedError, current_turn, document_of, fail, skip
from signbridge.workflow.planner import oneshot_input_key
from signbridge.workflow.ports import OneShotClient
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

logger = Logger(child=True)
R = RequestStatus
D = DocumentStatus
S = SignerStatus


# The documents an upload may start from, per workflow stage: the original, ZapSign's output, the previous signer's.
_UPLOAD_FROM: Final = frozenset({D.RECEIVED, D.ZAPSIGN_SIGNED, D.ONESHOT_SIGNED})


def upload_oneshot_document(services: Services, message: OperationMessage) -> None:
    """`POST document/{pk}` with the document's current input (original, ZapSign-signed, or the previous signer's
    output), streamed from S3 under a stable name."""
    turn = current_turn(services, message, (R.ONESHOT_PENDING,))
    if turn is None:
        return
    step, signer = turn
    aggregate = step.aggregate
    request = aggregate.request
    document = document_of(aggregate, message)
    if document is None or signer.status is not S.ONESHOT_REQUESTED or signer.oneshot_request_pk is None:
        skip("not uploading now", signer=signer.index, status=signer.status)
        return
    if signer.index in document.oneshot_document_uids:
        skip("already uploaded", signer=signer.index, document=document.index)
        return
    if document.status not in _UPLOAD_FROM:
        skip("the document is not ready for this signer", document=document.index, status=document.status)
        return
    target = _Upload(
        aggregate=aggregate,
        signer=signer,
        document=document,
        pk=int(signer.oneshot_request_pk),
        filename=f"{request.id}-{document.index:03d}-{signer.index}.pdf",  # stable: recognisable in a listing
    )
    client = services.oneshot()
    try:
        uid: str | None = None
        if signer.index in document.oneshot_upload_started:
            # A previous attempt sent this upload and its answer was lost: adopt what it left, if anything.
            uid = _previous_upload(client, target)
        if uid is None:
            uid = _upload(step, client, target)
    except CannotProceedError as error:
        fail(services, message, str(error))
        return
    step.move_document(
        document.index,
        D.ONESHOT_UPLOADED,
        expected=document.status,
        updates={"oneshot_document_uids": {**document.oneshot_document_uids, signer.index: uid}},
        detail=f"uploaded to One-Shot request {target.pk} for signer {signer.index}",
    )
    step.advance()


@dataclass(frozen=True)
class _Upload:
    """One document uploaded for one signer: where it goes, and under which name."""

    aggregate: RequestAggregate
    signer: Signer
    document: Document
    pk: int
    filename: str


def _upload(step: Step, client: OneShotClient, target: _Upload) -> str:
    services = step.services
    request, signer, document = target.aggregate.request, target.signer, target.document
    input_key = oneshot_input_key(request.workflow, document, signer.index)
    if input_key is None:
        raise CannotProceedError(f"document {document.index}: no signed input in S3 for signer {signer.index}")
    try:
        stream = services.files.open_stream(input_key)
    except StoredFileNotFoundError:
        raise CannotProceedError(f"document {document.index}: {input_key} is missing from S3") from None
    with stream:
        part = FilePart(cast("IO[bytes]", stream), target.filename, "application/pdf", size=stream.size)
        if signer.index not in document.oneshot_upload_started:
            started = {**document.oneshot_upload_started, signer.index: services.clock()}
            step.update_document(
                document.index,
                {"oneshot_upload_started": started},
                expected=document.status,
                while_request=R.ONESHOT_PENDING,
            )
        try:
            return client.upload_document(target.pk, part).uid
        except UncertainOutcomeError:
            found = _previous_upload(client, target)
            if found is not None:
                return found
            # Nothing arrived: send it again on the next delivery (the intent stays, so it looks again first).
            raise RetryableError(
                "oneshot", "upload_documents", "upload outcome unknown and nothing arrived; uploading again"
            ) from None


def _previous_upload(client: OneShotClient, target: _Upload) -> str | None:
    """The uid an earlier upload of the document left at the Optimizer, None if it left nothing.

    The Optimizer's documents that no document of ours is recorded with are the candidates. The listing names them
    only in the legacy shape (the new one has an empty object per uid, docs/providers/oneshot.md §5.7); without names,
    several candidates, or another document's upload also unresolved, leave no telling which is which.
    """
    aggregate, signer, document = target.aggregate, target.signer, target.document
    ours = {
        other.oneshot_document_uids[signer.index]
        for other in aggregate.documents
        if signer.index in other.oneshot_document_uids
    }
    unclaimed = [info for info in client.list_documents(target.pk) if info.uid not in ours]
    named = any(info.filename for info in unclaimed)
    if named:
        unclaimed = [info for info in unclaimed if info.filename == target.filename]
    if not unclaimed:
        return None
    pending_elsewhere = [
        other.index
        for other in aggregate.documents
        if other.index != document.index
        and signer.index in other.oneshot_upload_started
        and signer.index not in other.oneshot_document_uids
    ]
    if len(unclaimed) == 1 and (named or not pending_elsewhere):
        logger.info("adopted a document uploaded by an earlier attempt", extra={"document": document.index})
        return unclaimed[0].uid
    also = f" while the uploads of documents {pending_elsewhere} are also unresolved" if pending_elsewhere else ""
    raise CannotProceedError(
        f"document {document.index}, signer {signer.index}: One-Shot request {target.pk} holds {len(unclaimed)} "
        f"document(s) that no document of this request is recorded with{also}; cannot tell which one is this "
        "document. Delete the request's documents on the Optimizer and create a new SignBridge request"
    )
