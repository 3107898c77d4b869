"""`archive_zapsign_document` (the signed PDF from a fresh link: they last 60 minutes, §3.2; verified before it is
recorded, `signbridge.workflow.verification`) and
`archive_zapsign_evidence` (`zapsign_oneshot` only: the signer's ID photos and selfie), each streamed to S3."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from functools import partial
from typing import TypeVar

from aws_lambda_powertools import Logger

from signbridge.domain import keys
from signbridge.domain.errors import FileTooLargeError, NotAPdfError
from signbridge.domain.files import FileStream, StoredFile
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import ZAPSIGN_STAGE, Cause, DocumentStatus, IdImageKind, RequestStatus, Workflow
from signbridge.domain.provider_errors import PermanentError, RetryableError
from signbridge.domain.validation import MAX_ID_IMAGE_BYTES, PNG_MAGIC, id_image_media_type
from signbridge.domain.zapsign import PROVIDER, ZapSignSigner
from signbridge.workflow.planner import final_key
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step
from signbridge.workflow.verification import hold, store_and_verify, verify_earlier
from signbridge.workflow.zapsign.common import evidence_url, get_main, request_id_of

logger = Logger(child=True)
T = TypeVar("T")
R = RequestStatus
D = DocumentStatus


def archive_zapsign_document(services: Services, message: OperationMessage) -> None:
    request_id = request_id_of(message)
    if message.document is None:
        raise ValueError("archive_zapsign_document needs a document index")
    step = Step.read(services, request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)
    aggregate = step.aggregate
    request = aggregate.request
    document = aggregate.document(message.document)
    if request.status is not R.ZAPSIGN_SIGNED or document.status is not D.ZAPSIGN_PENDING:
        logger.info("nothing to archive", extra={"request_id": request_id, "document_status": document.status.value})
        return
    token = document.zapsign_doc_token
    if token is None:
        step.fail(f"document {document.index} has no ZapSign token")
        return
    client = services.zapsign()

    def fresh_signed_file_link() -> str | None:
        # ZapSign's links last 60 minutes (§3.2). An extra-doc token answers the short body.
        return client.get_document(token).signed_file

    given = message.payload.get("file_url")
    signed_file_link = _first_then_fresh(given if isinstance(given, str) else None, fresh_signed_file_link)

    key = keys.signed_key(request_id, document.index, ZAPSIGN_STAGE)
    try:
        verified = verify_earlier(
            services, aggregate, key=key, document_index=document.index, stage=ZAPSIGN_STAGE, provider=PROVIDER
        ) or _download(
            services,
            signed_file_link,
            lambda stream: store_and_verify(
                services,
                aggregate,
                key=key,
                chunks=stream.chunks,
                document_index=document.index,
                stage=ZAPSIGN_STAGE,
                provider=PROVIDER,
            ),
            operation="download_signed_file",
        )
    except NotAPdfError:
        step.fail(f"ZapSign's signed file of document {document.index} is not a PDF")
        return
    except FileTooLargeError:
        step.fail(
            f"ZapSign's signed file of document {document.index} exceeds {services.settings.max_file_bytes} bytes"
        )
        return
    if not verified.passed:
        hold(step, document.index, verified)
        return
    stored = verified.stored
    signed_keys = {**document.signed_keys, ZAPSIGN_STAGE: key}
    updates: dict[str, object] = {
        "signed_keys": signed_keys,
        "signed_sha256": {**document.signed_sha256, ZAPSIGN_STAGE: stored.sha256},
        "verifications": {**document.verifications, ZAPSIGN_STAGE: verified.record()},
    }
    if request.workflow is Workflow.ZAPSIGN:
        target = D.ARCHIVED
        updates["final_key"] = final_key(
            request.workflow, document.model_copy(update={"signed_keys": signed_keys}), len(aggregate.signers)
        )
    else:
        target = D.ZAPSIGN_SIGNED  # the input of the One-Shot part
    step.move_document(
        document.index,
        target,
        expected=D.ZAPSIGN_PENDING,
        updates=updates,
        detail=f"ZapSign-signed PDF stored and verified ({stored.size} bytes)",
        while_request=R.ZAPSIGN_SIGNED,
    )
    step.advance()


class _LinkNotReadyError(RetryableError):
    """ZapSign has no link for the file yet (e.g. `signed_file` still null right after the last signature)."""


def _download(
    services: Services,
    fresh_link: Callable[[], str | None],
    store: Callable[[FileStream], T],
    *,
    operation: str,
) -> T:
    """Stream a ZapSign file link into S3. An expired link (403) is fetched afresh once; a second 403 is retried
    later."""
    settings = services.settings
    for attempt in (1, 2):
        url = fresh_link()
        if not url:
            raise _LinkNotReadyError(PROVIDER, operation, "ZapSign gives no link for the file yet")
        try:
            with services.downloads().open(
                url,
                allowed_hosts=settings.zapsign_file_hosts,
                allow_loopback_http=settings.allow_loopback_http,
                max_bytes=settings.max_file_bytes,
                provider=PROVIDER,
                operation=operation,
            ) as stream:
                return store(stream)
        except PermanentError as error:
            if error.status != 403:
                raise
            if attempt == 2:
                raise RetryableError(PROVIDER, operation, "file link refused twice (403)", status=403) from error
            logger.info("file link expired; fetching a fresh one", extra={"operation": operation})
    raise AssertionError("unreachable")


def archive_zapsign_evidence(services: Services, message: OperationMessage) -> None:
    request_id = request_id_of(message)
    if message.signer is None:
        raise ValueError("archive_zapsign_evidence needs a signer index")
    step = Step.read(services, request_id, cause=Cause.WORKER, correlation_id=message.correlation_id)
    aggregate = step.aggregate
    request = aggregate.request
    signer = aggregate.signer(message.signer)
    wanted = [kind for kind in IdImageKind if kind not in signer.evidence_keys]
    if request.workflow is not Workflow.ZAPSIGN_ONESHOT or request.status is not R.ZAPSIGN_SIGNED or not wanted:
        logger.info("no evidence to archive", extra={"request_id": request_id, "signer": signer.index})
        return
    main_token = request.zapsign_doc_token
    if main_token is None or signer.zapsign_signer_token is None:
        step.fail(f"signer {signer.index} has no ZapSign record")
        return
    client = services.zapsign()
    signer_token = signer.zapsign_signer_token

    def remote_signer() -> ZapSignSigner | None:
        return get_main(client, main_token).signer(signer_token)

    given = message.payload.get("photo_urls")
    given_urls = {kind: given.get(kind.value) for kind in wanted} if isinstance(given, dict) else {}
    if all(isinstance(url, str) and url for url in given_urls.values()) and given_urls:
        urls: dict[IdImageKind, str | None] = dict(given_urls)  # from the sync step's read, less than an hour old
    else:
        first = remote_signer()
        urls = {kind: evidence_url(first, kind) for kind in wanted}
    missing = [kind.value for kind in wanted if not urls[kind]]
    if missing:
        # Names the kind of evidence, never the person.
        step.fail(f"ZapSign holds no {', '.join(missing)} photo for signer {signer.index}")
        return
    evidence = dict(signer.evidence_keys)
    for kind in wanted:
        try:
            stored = _download(
                services,
                _first_then_fresh(urls[kind], partial(_read_evidence_url, remote_signer, kind)),
                partial(_store_image, services, request_id, signer.index, kind),
                operation="download_evidence",
            )
        except (_NotAnImageError, FileTooLargeError) as error:
            problem = "is not a JPEG or PNG" if isinstance(error, _NotAnImageError) else "is too large"
            step.fail(f"ZapSign's {kind.value} photo of signer {signer.index} {problem}")
            return
        evidence[kind] = stored.key
    step.update_signer(signer.index, {"evidence_keys": evidence}, while_request=R.ZAPSIGN_SIGNED)
    logger.info("evidence stored", extra={"request_id": request_id, "signer": signer.index, "images": len(wanted)})
    step.advance()


class _NotAnImageError(Exception):
    """A downloaded evidence image does not start with JPEG or PNG magic bytes; nothing was stored."""


def _read_evidence_url(remote_signer: Callable[[], ZapSignSigner | None], kind: IdImageKind) -> str | None:
    return evidence_url(remote_signer(), kind)


def _first_then_fresh(first: str | None, fresh: Callable[[], str | None]) -> Callable[[], str | None]:
    """A link source for `_download`: the link already read, then a freshly read one (after a 403). Without a link
    already read (a reconciler re-plan or a redelivery after the DLQ carries no payload) the first link is read fresh
    from ZapSign too: the message never holds the truth, ZapSign does."""
    unused = [first] if first else []

    def link() -> str | None:
        return unused.pop() if unused else fresh()

    return link


def _store_image(
    services: Services, request_id: str, signer_index: int, kind: IdImageKind, stream: FileStream
) -> StoredFile:
    """Check the magic bytes on the first chunks, then stream the image to its key (extension from the format)."""
    chunks: Iterator[bytes] = iter(stream.chunks)
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size >= len(PNG_MAGIC):
            break
    media_type = id_image_media_type(b"".join(head))
    if media_type is None:
        raise _NotAnImageError(kind.value)
    extension = "png" if media_type == "image/png" else "jpg"
    key = keys.evidence_key(request_id, signer_index, kind.value, extension)
    return services.files.store_stream(
        key,
        itertools.chain(head, chunks),
        expect_pdf=False,
        max_bytes=min(MAX_ID_IMAGE_BYTES, services.settings.max_file_bytes),
        content_type=media_type,
    )
