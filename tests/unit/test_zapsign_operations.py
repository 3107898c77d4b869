"""The ZapSign operation families (`signbridge.workflow.zapsign`: create, sync, archive, cancel) on in-memory fakes of
the ports (`tests/support/memory.py`): each test says what was written, what was enqueued and what ZapSign was
asked."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from signbridge.domain.changes import LookupKind
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    Cause,
    DocumentStatus,
    RequestAggregate,
    RequestStatus,
    SignerStatus,
    TimelineEntry,
    Workflow,
)
from signbridge.domain.operations import Op
from signbridge.domain.verification import (
    Indication,
    LongTermCopy,
    LongTermLevel,
    SubIndication,
    VerificationSummary,
)
from signbridge.domain.zapsign import ZapSignDocument, ZapSignSigner
from signbridge.workflow.verification import VerificationNotHeldError, accept_verification, retry_verification
from signbridge.workflow.zapsign import OPERATIONS
from signbridge.workflow.zapsign.archive import archive_zapsign_document
from signbridge.workflow.zapsign.cancel import cancel_zapsign_document
from signbridge.workflow.zapsign.create import (
    CREATE_RESOLUTION_WINDOW,
    create_zapsign_document,
    list_retry_seconds,
    zapsign_signer_external_id,
)
from signbridge.workflow.zapsign.sync import sync_zapsign_document
from tests.support.memory import (
    LONG_TERM_MARKER,
    NOW,
    SETTINGS,
    FakeDownloads,
    FakeVerifier,
    FakeZapSign,
    MemoryFiles,
    MemoryQueues,
    MemoryRecords,
    memory_services,
    pdf_stream,
    with_parts,
)
from tests.support.samples import PDF_BYTES, new_request

R = RequestStatus
D = DocumentStatus
S = SignerStatus
THEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SIGNED_PDF = b"%PDF-1.7 signed by ZapSign\n%%EOF\n"


def stored(status: RequestStatus, workflow: Workflow = Workflow.ZAPSIGN) -> RequestAggregate:
    request, documents, signers = new_request(workflow, request_id="req-1", now=THEN)
    first = TimelineEntry(id="evt-0", at=THEN, to_status=R.SUBMITTED, cause=Cause.API, correlation_id="c0")
    return RequestAggregate(
        request=request.model_copy(update={"status": status, "version": 2}),
        documents=tuple(documents),
        signers=tuple(signers),
        timeline=(first,),
    )


def message(op: Op, **fields: object) -> OperationMessage:
    return OperationMessage.model_validate({"op": op.value, "request_id": "req-1", "correlation_id": "corr", **fields})


def waiting_on_zapsign() -> RequestAggregate:
    return with_parts(
        stored(R.ZAPSIGN_PENDING),
        request={"zapsign_doc_token": "doc-1"},
        document0={"status": D.ZAPSIGN_PENDING, "zapsign_doc_token": "doc-1"},
        signer0={"zapsign_signer_token": "sig-1"},
    )


def test_the_registry_holds_every_zapsign_family() -> None:
    assert set(OPERATIONS) == {
        Op.CREATE_ZAPSIGN_DOCUMENT,
        Op.SYNC_ZAPSIGN_DOCUMENT,
        Op.ARCHIVE_ZAPSIGN_DOCUMENT,
        Op.ARCHIVE_ZAPSIGN_EVIDENCE,
        Op.CANCEL_ZAPSIGN_DOCUMENT,
    }


def test_create_records_its_intent_then_the_token_then_moves_the_request_with_its_lookup() -> None:
    # Given a submitted ZapSign request whose original is stored, and ZapSign creating its document
    aggregate = stored(R.SUBMITTED)
    records, queues = MemoryRecords(aggregate), MemoryQueues()
    files = MemoryFiles({aggregate.document(0).original_key or "": PDF_BYTES})
    created = ZapSignDocument(
        token="doc-1",
        signers=[ZapSignSigner(token="sig-1", external_id=zapsign_signer_external_id("req-1", 0), sign_url="u")],
    )
    zapsign = FakeZapSign(create_document=created)
    services = memory_services(records, queues, files=files, zapsign=zapsign)

    # When the create step runs
    create_zapsign_document(services, message(Op.CREATE_ZAPSIGN_DOCUMENT))

    # Then ZapSign was asked once, for a document in the request's own folder
    assert zapsign.asked() == ["create_document"]
    assert zapsign.calls[0][1][0].folder_path == "/signbridge/req-1/"
    # And the intent, the token, then the move with every change and the lookup were written, in that order
    assert [(write.kind, write.to, sorted(write.updates)) for write in records.writes] == [
        ("update_part", None, ["zapsign_create_started_at"]),
        ("update_part", None, ["zapsign_doc_token", "zapsign_is_extra"]),
        ("move_request", "zapsign_pending", ["zapsign_doc_token"]),
    ]
    assert records.find_by_zapsign_doc_token("doc-1") is not None
    assert (LookupKind.ZAPSIGN_DOC, "doc-1") in records.lookups
    after = records.stored["req-1"]
    assert after.document(0).status is D.ZAPSIGN_PENDING
    assert (after.signer(0).zapsign_signer_token, after.signer(0).sign_url) == ("sig-1", "u")
    # And nothing is enqueued: the request now waits on ZapSign's webhooks
    assert queues.sent == []


def test_create_for_a_request_no_longer_submitted_calls_nobody_and_writes_nothing() -> None:
    records, queues = MemoryRecords(stored(R.CANCELLED)), MemoryQueues()
    zapsign = FakeZapSign()
    create_zapsign_document(memory_services(records, queues, zapsign=zapsign), message(Op.CREATE_ZAPSIGN_DOCUMENT))
    assert (records.writes, queues.sent, zapsign.calls) == ([], [], [])


def test_sync_of_a_signed_document_moves_the_request_and_hands_the_links_to_the_archive_steps() -> None:
    # Given a request waiting on ZapSign, and ZapSign's Detail saying every signer signed
    records, queues = MemoryRecords(waiting_on_zapsign()), MemoryQueues()
    detail = ZapSignDocument(
        token="doc-1",
        status="signed",
        signed_file="https://files.example/doc-1.pdf",
        signers=[ZapSignSigner(token="sig-1", status="signed")],
    )
    zapsign = FakeZapSign(get_document=detail)

    # When a doc_signed hint is synced
    sync_zapsign_document(
        memory_services(records, queues, zapsign=zapsign),
        message(Op.SYNC_ZAPSIGN_DOCUMENT, payload={"event_type": "doc_signed"}),
    )

    # Then ZapSign was read once, and the request moved with its signer in one write
    assert zapsign.asked() == ["get_document"]
    assert [(write.kind, write.to) for write in records.writes] == [("move_request", "zapsign_signed")]
    assert records.stored["req-1"].signer(0).status is S.SIGNED
    # And the archive step was enqueued with the link just read, planned without reading the request again
    assert queues.ops() == [(Op.ARCHIVE_ZAPSIGN_DOCUMENT, None, 0)]
    assert queues.sent[0][1].payload == {"file_url": "https://files.example/doc-1.pdf"}
    assert records.reads == 1


def test_sync_of_a_refusal_records_who_refused_and_why() -> None:
    # Given a request waiting on ZapSign, and ZapSign's Detail refused with a reason but no refused signer status
    # (Detail documents none): the one signer who had not signed is the one who refused
    records, queues = MemoryRecords(waiting_on_zapsign()), MemoryQueues()
    detail = ZapSignDocument(
        token="doc-1",
        status="recusado",
        rejected_reason="Não concordo",
        signers=[ZapSignSigner(token="sig-1", status="new")],
    )
    sync_zapsign_document(
        memory_services(records, queues, zapsign=FakeZapSign(get_document=detail)),
        message(Op.SYNC_ZAPSIGN_DOCUMENT, payload={"event_type": "doc_refused"}),
    )
    after = records.stored["req-1"]
    assert (after.request.status, after.request.refused_by, after.request.refusal_reason) == (
        R.REFUSED,
        0,
        "Não concordo",
    )
    assert after.signer(0).status is S.REFUSED
    assert after.signer(0).status_since == NOW


def test_sync_of_an_irrelevant_hint_reads_nothing() -> None:
    records, queues = MemoryRecords(waiting_on_zapsign()), MemoryQueues()
    zapsign = FakeZapSign()
    sync_zapsign_document(
        memory_services(records, queues, zapsign=zapsign),
        message(Op.SYNC_ZAPSIGN_DOCUMENT, payload={"event_type": "email_bounced"}),
    )
    assert (records.reads, records.writes, queues.sent, zapsign.calls) == (0, [], [], [])


def test_a_doc_expired_hint_past_the_deadline_expires_the_request_and_refuses_the_document() -> None:
    # Given a request waiting on ZapSign whose deadline has passed, and ZapSign's Detail still pending
    aggregate = with_parts(waiting_on_zapsign(), request={"deadline": NOW - timedelta(minutes=1)})
    records, queues = MemoryRecords(aggregate), MemoryQueues()
    zapsign = FakeZapSign(get_document=ZapSignDocument(token="doc-1", status="pending"))

    # When a doc_expired hint is synced
    sync_zapsign_document(
        memory_services(records, queues, zapsign=zapsign),
        message(Op.SYNC_ZAPSIGN_DOCUMENT, payload={"event_type": "doc_expired"}),
    )

    # Then ZapSign was read, the request expired, and the ZapSign document is refused so nobody signs it late
    assert zapsign.asked() == ["get_document"]
    assert [(write.kind, write.to) for write in records.writes] == [("move_request", "expired")]
    assert queues.ops() == [(Op.CANCEL_ZAPSIGN_DOCUMENT, None, None)]


def test_a_doc_expired_hint_before_the_deadline_changes_nothing() -> None:
    aggregate = with_parts(waiting_on_zapsign(), request={"deadline": NOW + timedelta(days=1)})
    records, queues = MemoryRecords(aggregate), MemoryQueues()
    zapsign = FakeZapSign(get_document=ZapSignDocument(token="doc-1", status="pending"))
    sync_zapsign_document(
        memory_services(records, queues, zapsign=zapsign),
        message(Op.SYNC_ZAPSIGN_DOCUMENT, payload={"event_type": "doc_expired"}),
    )
    assert (records.writes, queues.sent) == ([], [])
    assert records.stored["req-1"].request.status is R.ZAPSIGN_PENDING


def test_archive_stores_the_signed_pdf_moves_the_document_and_completes_the_request() -> None:
    # Given a ZapSign-signed request and the link the sync step handed over
    aggregate = with_parts(waiting_on_zapsign(), request={"status": R.ZAPSIGN_SIGNED}, signer0={"status": S.SIGNED})
    records, queues, files = MemoryRecords(aggregate), MemoryQueues(), MemoryFiles()
    downloads = FakeDownloads(open=lambda url: pdf_stream(SIGNED_PDF))
    services = memory_services(records, queues, files=files, zapsign=FakeZapSign(), downloads=downloads)

    # When the archive step runs
    archive_zapsign_document(
        services, message(Op.ARCHIVE_ZAPSIGN_DOCUMENT, document=0, payload={"file_url": "https://files.example/x"})
    )

    # Then the link was downloaded (ZapSign not asked again) and the PDF stored
    assert downloads.asked() == ["open"]
    assert files.objects["signed/req-1/000/zapsign.pdf"] == SIGNED_PDF
    # And the document moved to archived (while the request is zapsign_signed), then advance moved the request on
    # twice from the aggregate as written, without reading it
    assert [(write.kind, write.to, write.guard) for write in records.writes] == [
        ("move_part", "archived", R.ZAPSIGN_SIGNED),
        ("move_request", "archiving", None),
        ("move_request", "completed", None),
    ]
    assert records.stored["req-1"].document(0).final_key == "signed/req-1/000/zapsign.pdf"
    assert records.reads == 1
    assert [message.op for _, message in queues.sent] == [Op.BUILD_EVIDENCE_PACKAGE]  # its evidence package
    # And, as it passed verification, its long-term copy is stored beside it (the file as served, then the
    # validation material) and recorded with the verification; the file as served is unchanged
    long_term = VerificationSummary.model_validate(
        records.stored["req-1"].document(0).verifications["zapsign"]
    ).long_term
    copy = files.objects["signed/req-1/000/zapsign.ltv.pdf"]
    assert copy == SIGNED_PDF + LONG_TERM_MARKER
    assert long_term == LongTermCopy(
        key="signed/req-1/000/zapsign.ltv.pdf",
        sha256=hashlib.sha256(copy).hexdigest(),
        size=len(copy),
        level=LongTermLevel.B_LT,
    )


def test_archive_without_a_link_reads_a_fresh_one_from_zapsign() -> None:
    # Given a ZapSign-signed request and an archive message re-planned by the reconciler (no `file_url` payload)
    aggregate = with_parts(waiting_on_zapsign(), request={"status": R.ZAPSIGN_SIGNED}, signer0={"status": S.SIGNED})
    records, queues, files = MemoryRecords(aggregate), MemoryQueues(), MemoryFiles()
    detail = ZapSignDocument(token="doc-1", status="signed", signed_file="https://files.example/fresh.pdf")
    zapsign = FakeZapSign(get_document=detail)
    opened: list[str] = []

    def open_link(url: str) -> object:
        opened.append(url)
        return pdf_stream(SIGNED_PDF)

    downloads = FakeDownloads(open=open_link)
    services = memory_services(records, queues, files=files, zapsign=zapsign, downloads=downloads)

    # When the archive step runs
    archive_zapsign_document(services, message(Op.ARCHIVE_ZAPSIGN_DOCUMENT, document=0))

    # Then ZapSign was read once for a fresh link, which was downloaded, and the request completed
    assert zapsign.asked() == ["get_document"]
    assert opened == ["https://files.example/fresh.pdf"]
    assert files.objects["signed/req-1/000/zapsign.pdf"] == SIGNED_PDF
    assert records.stored["req-1"].request.status is R.COMPLETED


def test_cancel_asks_zapsign_to_refuse_the_document_of_a_cancelled_request() -> None:
    # Given a request cancelled while ZapSign held its document
    aggregate = with_parts(waiting_on_zapsign(), request={"status": R.CANCELLED})
    records, queues = MemoryRecords(aggregate), MemoryQueues()
    zapsign = FakeZapSign(cancel_document="cancelled")

    # When the cancel step runs
    cancel_zapsign_document(memory_services(records, queues, zapsign=zapsign), message(Op.CANCEL_ZAPSIGN_DOCUMENT))

    # Then ZapSign was asked to refuse it, in the document's language, and nothing was written or enqueued
    assert zapsign.calls == [("cancel_document", ("doc-1", "Cancelado por el remitente"), {})]
    assert (records.writes, queues.sent) == ([], [])


def held_after_a_tampered_file() -> tuple[MemoryRecords, MemoryQueues, MemoryFiles]:
    aggregate = with_parts(waiting_on_zapsign(), request={"status": R.ZAPSIGN_SIGNED}, signer0={"status": S.SIGNED})
    records, queues, files = MemoryRecords(aggregate), MemoryQueues(), MemoryFiles()
    downloads = FakeDownloads(open=lambda url: pdf_stream(SIGNED_PDF))
    verifier = FakeVerifier(Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE)
    services = memory_services(
        records, queues, files=files, zapsign=FakeZapSign(), downloads=downloads, verifier=verifier
    )
    archive_zapsign_document(
        services, message(Op.ARCHIVE_ZAPSIGN_DOCUMENT, document=0, payload={"file_url": "https://files.example/x"})
    )
    return records, queues, files


def test_a_signed_file_that_fails_verification_holds_the_request_and_is_not_archived() -> None:
    # Given a ZapSign-signed request whose signed file was changed after signing
    records, queues, files = held_after_a_tampered_file()
    # Then the file and its report are stored for the operator to look at
    assert files.objects["signed/req-1/000/zapsign.pdf"] == SIGNED_PDF
    assert "reports/req-1/000/zapsign.json" in files.objects
    # And no long-term copy is made of a file that did not pass
    assert "signed/req-1/000/zapsign.ltv.pdf" not in files.objects
    # And the request waits in verification_failed, the document still pending and nothing planned
    after = records.stored["req-1"]
    assert after.request.status is R.VERIFICATION_FAILED
    assert after.request.verification_problem == (
        "document 0 (zapsign) did not pass verification: Signature1: TOTAL-FAILED/HASH_FAILURE"
    )
    assert after.document(0).status is D.ZAPSIGN_PENDING
    assert after.document(0).signed_keys == {}
    assert after.timeline[-1].to_status == R.VERIFICATION_FAILED
    assert queues.sent == []


def test_an_operator_retry_fetches_and_verifies_the_file_again() -> None:
    records, queues, _ = held_after_a_tampered_file()
    after = retry_verification(memory_services(records, queues), "req-1", correlation_id="op")
    assert after.request.status is R.ZAPSIGN_SIGNED
    assert after.request.verification_problem is None
    assert after.timeline[-1].cause is Cause.OPERATOR
    assert queues.ops() == [(Op.ARCHIVE_ZAPSIGN_DOCUMENT, None, 0)]


def test_an_operator_accepts_that_very_file_and_the_next_archive_records_it_as_accepted() -> None:
    # Given a held request, and an operator who accepts the stored file by its sha256
    records, queues, files = held_after_a_tampered_file()
    sha256 = hashlib.sha256(SIGNED_PDF).hexdigest()
    with pytest.raises(VerificationNotHeldError):
        accept_verification(memory_services(records, queues), "req-1", "0" * 64, correlation_id="op")
    accept_verification(memory_services(records, queues), "req-1", sha256, correlation_id="op")
    # When the archive step fetches the same file again (still failing verification)
    downloads = FakeDownloads(open=lambda url: pdf_stream(SIGNED_PDF))
    verifier = FakeVerifier(Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE)
    services = memory_services(
        records, queues, files=files, zapsign=FakeZapSign(), downloads=downloads, verifier=verifier
    )
    archive_zapsign_document(
        services, message(Op.ARCHIVE_ZAPSIGN_DOCUMENT, document=0, payload={"file_url": "https://files.example/x"})
    )
    # Then it is archived, its verification saying an operator accepted it, and the request completes
    after = records.stored["req-1"]
    assert after.request.status is R.COMPLETED
    summary = VerificationSummary.model_validate(after.document(0).verifications["zapsign"])
    assert (summary.passed, summary.accepted_by_operator) == (False, True)


def test_a_request_not_held_takes_no_retry() -> None:
    aggregate = with_parts(waiting_on_zapsign(), request={"status": R.ZAPSIGN_SIGNED})
    records = MemoryRecords(aggregate)
    with pytest.raises(VerificationNotHeldError):
        retry_verification(memory_services(records), "req-1", correlation_id="op")
    assert records.writes == []


@pytest.mark.parametrize(("accepted", "status"), [((), R.VERIFICATION_FAILED), (("TRY_LATER",), R.COMPLETED)])
def test_an_indeterminate_file_passes_only_with_its_sub_indication_accepted_by_the_stage(
    accepted: tuple[str, ...], status: RequestStatus
) -> None:
    # Given a signed file whose revocation information is not available yet (INDETERMINATE/TRY_LATER)
    aggregate = with_parts(waiting_on_zapsign(), request={"status": R.ZAPSIGN_SIGNED}, signer0={"status": S.SIGNED})
    records, queues, files = MemoryRecords(aggregate), MemoryQueues(), MemoryFiles()
    services = memory_services(
        records,
        queues,
        files=files,
        zapsign=FakeZapSign(),
        downloads=FakeDownloads(open=lambda url: pdf_stream(SIGNED_PDF)),
        verifier=FakeVerifier(Indication.INDETERMINATE, SubIndication.TRY_LATER),
        settings=SETTINGS.model_copy(update={"accept_indeterminate": accepted}),
    )
    # When it is archived under a stage that accepts TRY_LATER, or accepts nothing (the default)
    archive_zapsign_document(
        services, message(Op.ARCHIVE_ZAPSIGN_DOCUMENT, document=0, payload={"file_url": "https://files.example/x"})
    )
    # Then it completes only where TRY_LATER is accepted
    assert records.stored["req-1"].request.status is status


def test_an_unresolved_create_is_looked_for_within_the_queues_receive_count() -> None:
    """An uncertain create waits `CREATE_RESOLUTION_WINDOW` for ZapSign's list: its message must not reach the
    dead-letter queue (maxReceiveCount 5) while it waits. Deliveries: the uncertain answer, then each retry."""
    age, deliveries = timedelta(0), 1
    while age < CREATE_RESOLUTION_WINDOW:
        age += timedelta(seconds=list_retry_seconds(age))
        deliveries += 1
    assert deliveries <= 3  # two of the five left for other failures
    assert list_retry_seconds(timedelta(0)) == 60  # the first look, once the list has caught up
