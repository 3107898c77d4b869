"""The One-Shot operation families (`signbridge.workflow.oneshot`: create, upload, contract, otp, sign, retrieve,
cleanup) on in-memory fakes of the ports (`tests/support/memory.py`): each test says what was written, what was
enqueued and what the Optimizer was asked."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from signbridge.domain.changes import LookupKind
from signbridge.domain.credentials import WebhookSecrets
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    Cause,
    DocumentStatus,
    IdImageKind,
    RequestAggregate,
    RequestStatus,
    SignerStatus,
    TimelineEntry,
    Workflow,
)
from signbridge.domain.oneshot import CreatedRequest, NotFoundError, UploadedDocument
from signbridge.domain.operations import Op
from signbridge.domain.provider_errors import RetryableError, UncertainOutcomeError
from signbridge.domain.verification import FileReport, Indication, VerificationSummary
from signbridge.workflow.oneshot import OPERATIONS
from signbridge.workflow.oneshot.cleanup import cancel_oneshot_request, delete_oneshot_documents
from signbridge.workflow.oneshot.contract import store_oneshot_contract
from signbridge.workflow.oneshot.create import (
    CALLBACK_RETRY_SECONDS,
    CREATE_CALLBACK_WINDOW,
    create_oneshot_request,
)
from signbridge.workflow.oneshot.otp import send_oneshot_otp
from signbridge.workflow.oneshot.retrieve import retrieve_oneshot_document
from signbridge.workflow.oneshot.sign import SIGN_SETTLE_SECONDS, confirm_oneshot_signature
from signbridge.workflow.oneshot.upload import upload_oneshot_document
from tests.support.memory import (
    NOW,
    SETTINGS,
    FakeOneShot,
    FakeVerifier,
    MemoryFiles,
    MemoryQueues,
    MemoryRecords,
    MemoryServices,
    memory_services,
    pdf_stream,
    with_parts,
)
from tests.support.samples import PDF_BYTES, new_request

R = RequestStatus
D = DocumentStatus
S = SignerStatus
THEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONTRACT = b"%PDF-1.7 contract\n%%EOF\n"
SIGNED = b"%PDF-1.7 signed at One-Shot\n%%EOF\n"
EVIDENCE = {kind: f"evidence/req-1/0/{kind.value}.jpg" for kind in IdImageKind}


def stored(status: RequestStatus, **parts: object) -> RequestAggregate:
    request, documents, signers = new_request(Workflow.ONESHOT, request_id="req-1", now=THEN)
    first = TimelineEntry(id="evt-0", at=THEN, to_status=R.SUBMITTED, cause=Cause.API, correlation_id="c0")
    aggregate = RequestAggregate(
        request=request.model_copy(update={"status": status, "version": 3, "current_signer": 0}),
        documents=tuple(documents),
        signers=tuple(signers),
        timeline=(first,),
    )
    return with_parts(aggregate, **parts)


def message(op: Op, **fields: object) -> OperationMessage:
    values = {"op": op.value, "request_id": "req-1", "signer": 0, "correlation_id": "corr", **fields}
    return OperationMessage.model_validate(values)


def moves(records: MemoryRecords) -> list[tuple[str, str | None, str]]:
    return [(write.kind, write.to, write.subject) for write in records.writes]


REQUESTED = {"status": S.ONESHOT_REQUESTED, "oneshot_request_pk": "7"}


def test_the_registry_holds_every_oneshot_family() -> None:
    assert set(OPERATIONS) == {
        Op.CREATE_ONESHOT_REQUEST,
        Op.UPLOAD_ONESHOT_DOCUMENT,
        Op.STORE_ONESHOT_CONTRACT,
        Op.SEND_ONESHOT_OTP,
        Op.CONFIRM_ONESHOT_SIGNATURE,
        Op.RETRIEVE_ONESHOT_DOCUMENT,
        Op.DELETE_ONESHOT_DOCUMENTS,
        Op.CANCEL_ONESHOT_REQUEST,
    }


def test_create_records_its_intent_then_the_request_pk_with_its_lookup_and_plans_the_uploads() -> None:
    # Given signer 0's turn, its ID images in S3, and the Optimizer creating request 7
    records, queues = MemoryRecords(stored(R.ONESHOT_PENDING, signer0={"evidence_keys": EVIDENCE})), MemoryQueues()
    files = MemoryFiles(dict.fromkeys(EVIDENCE.values(), b"\xff\xd8\xff image"))
    oneshot = FakeOneShot(create_request=CreatedRequest(pk=7, status=None, async_mode=None, message="ok"))

    # When the create step runs
    create_oneshot_request(
        memory_services(records, queues, files=files, oneshot=oneshot), message(Op.CREATE_ONESHOT_REQUEST)
    )

    # Then the Optimizer was asked once
    assert oneshot.asked() == ["create_request"]
    # And the intent, then the signer's move with the pk and its lookup were written
    assert moves(records) == [("update_part", None, "signer"), ("move_part", "oneshot_requested", "signer")]
    assert records.writes[1].updates == {"oneshot_request_pk": "7"}
    assert records.lookups[(LookupKind.ONESHOT_REQUEST, "7")].signer == 0
    # And the upload of the document was planned from the aggregate as written, without reading again
    assert queues.ops() == [(Op.UPLOAD_ONESHOT_DOCUMENT, 0, 0)]
    assert records.reads == 1


def test_create_whose_earlier_answer_was_lost_creates_again() -> None:
    # Given a create intent without a recorded answer (a crash mid-call): an unused One-Shot request sends no SMS and
    # issues no certificate, so creating again is safe
    aggregate = stored(R.ONESHOT_PENDING, signer0={"evidence_keys": EVIDENCE, "oneshot_create_started_at": THEN})
    records, queues = MemoryRecords(aggregate), MemoryQueues()
    files = MemoryFiles(dict.fromkeys(EVIDENCE.values(), b"\xff\xd8\xff image"))
    oneshot = FakeOneShot(create_request=CreatedRequest(pk=8, status=None, async_mode=None, message="ok"))
    create_oneshot_request(
        memory_services(records, queues, files=files, oneshot=oneshot), message(Op.CREATE_ONESHOT_REQUEST)
    )
    assert oneshot.asked() == ["create_request"]
    assert records.stored["req-1"].signer(0).oneshot_request_pk == "8"


def test_an_uncertain_create_comes_back_later_with_its_intent_forgotten() -> None:
    records = MemoryRecords(stored(R.ONESHOT_PENDING, signer0={"evidence_keys": EVIDENCE}))
    files = MemoryFiles(dict.fromkeys(EVIDENCE.values(), b"\xff\xd8\xff image"))
    oneshot = FakeOneShot(create_request=UncertainOutcomeError("oneshot", "create_request", "HTTP 503", status=503))
    with pytest.raises(RetryableError):
        create_oneshot_request(
            memory_services(records, MemoryQueues(), files=files, oneshot=oneshot), message(Op.CREATE_ONESHOT_REQUEST)
        )
    after = records.stored["req-1"]
    assert (after.request.status, after.signer(0).oneshot_create_started_at) == (R.ONESHOT_PENDING, None)


class _Secrets:
    """The secret store, as far as the create's callback address reads it."""

    def webhooks(self) -> WebhookSecrets:
        return WebhookSecrets(zapsign=(SecretStr("z-secret"),), oneshot=(SecretStr("o-secret"),))


CALLING_BACK = SETTINGS.model_copy(update={"api_base_url": "https://api.example.com/"})


def calling_back(records: MemoryRecords, queues: MemoryQueues, oneshot: FakeOneShot | None = None) -> MemoryServices:
    """Services whose create asks the Optimizer for callbacks (an API base URL and the One-Shot webhook secret)."""
    files = MemoryFiles(dict.fromkeys(EVIDENCE.values(), b"\xff\xd8\xff image"))
    return memory_services(records, queues, files=files, oneshot=oneshot, settings=CALLING_BACK, secrets=_Secrets())


def test_the_create_asks_for_callbacks_at_an_address_naming_the_request_and_signer() -> None:
    records, queues = MemoryRecords(stored(R.ONESHOT_PENDING, signer0={"evidence_keys": EVIDENCE})), MemoryQueues()
    oneshot = FakeOneShot(create_request=CreatedRequest(pk=7, status=None, async_mode=None, message="ok"))
    create_oneshot_request(calling_back(records, queues, oneshot), message(Op.CREATE_ONESHOT_REQUEST))
    assert (
        oneshot.calls[0][2]["callback_url"]
        == "https://api.example.com/webhooks/oneshot/o-secret?request=req-1&signer=0"
    )


def test_a_lost_create_answer_waits_for_the_optimizers_callback_instead_of_creating_again() -> None:
    # Given a create intent without a recorded answer (a crash mid-call), a minute old, and callbacks asked for
    intent = NOW - timedelta(minutes=1)
    aggregate = stored(R.ONESHOT_PENDING, signer0={"evidence_keys": EVIDENCE, "oneshot_create_started_at": intent})
    records, oneshot = MemoryRecords(aggregate), FakeOneShot()
    # When the step runs again, it comes back later without creating anything
    with pytest.raises(RetryableError) as raised:
        create_oneshot_request(calling_back(records, MemoryQueues(), oneshot), message(Op.CREATE_ONESHOT_REQUEST))
    assert raised.value.retry_after == CALLBACK_RETRY_SECONDS
    assert oneshot.asked() == []
    assert records.writes == []


def test_a_lost_create_answer_with_no_callback_in_the_window_creates_again() -> None:
    intent = NOW - CREATE_CALLBACK_WINDOW
    aggregate = stored(R.ONESHOT_PENDING, signer0={"evidence_keys": EVIDENCE, "oneshot_create_started_at": intent})
    records = MemoryRecords(aggregate)
    oneshot = FakeOneShot(create_request=CreatedRequest(pk=8, status=None, async_mode=None, message="ok"))
    create_oneshot_request(calling_back(records, MemoryQueues(), oneshot), message(Op.CREATE_ONESHOT_REQUEST))
    assert oneshot.asked() == ["create_request"]
    assert records.stored["req-1"].signer(0).oneshot_request_pk == "8"


@pytest.mark.parametrize(("status", "intent_kept"), [(500, True), (504, True), (502, False), (503, False)])
def test_an_uncertain_create_keeps_its_intent_unless_a_gateway_answered_before_the_optimizer(
    status: int, *, intent_kept: bool
) -> None:
    records = MemoryRecords(stored(R.ONESHOT_PENDING, signer0={"evidence_keys": EVIDENCE}))
    oneshot = FakeOneShot(create_request=UncertainOutcomeError("oneshot", "create_request", "HTTP 5xx", status=status))
    with pytest.raises(RetryableError):
        create_oneshot_request(calling_back(records, MemoryQueues(), oneshot), message(Op.CREATE_ONESHOT_REQUEST))
    kept = records.stored["req-1"].signer(0).oneshot_create_started_at is not None
    assert kept is intent_kept


def _callback_hint(pk: int, **created_for: object) -> OperationMessage:
    payload = {"oneshot_pk": pk, "event_type": "REQUEST_CREATED", "raw_key": "raw/oneshot/x.json"}
    if created_for:
        payload["created_for"] = created_for
    return OperationMessage(op=Op.CONFIRM_ONESHOT_SIGNATURE.value, correlation_id="cb", payload=payload)


def test_the_callback_of_a_create_whose_answer_was_lost_records_its_pk_as_the_answer_would_have() -> None:
    # Given signer 0's create intent without an answer
    aggregate = stored(R.ONESHOT_PENDING, signer0={"evidence_keys": EVIDENCE, "oneshot_create_started_at": NOW})
    records, queues = MemoryRecords(aggregate), MemoryQueues()
    # When the Optimizer's callback for request 9, at the address naming req-1 and signer 0, is handled
    confirm_oneshot_signature(calling_back(records, queues), _callback_hint(9, request_id="req-1", signer=0))
    # Then the pk is recorded with its lookup, and the upload is planned: the create is not made again
    after = records.stored["req-1"]
    assert (after.signer(0).status, after.signer(0).oneshot_request_pk) == (S.ONESHOT_REQUESTED, "9")
    assert records.lookups[(LookupKind.ONESHOT_REQUEST, "9")].signer == 0
    assert queues.ops() == [(Op.UPLOAD_ONESHOT_DOCUMENT, 0, 0)]


@pytest.mark.parametrize(
    "signer0",
    [
        {"evidence_keys": EVIDENCE},  # no create under way
        {**REQUESTED, "oneshot_create_started_at": NOW},  # its answer was recorded
    ],
)
def test_a_callback_for_an_unrecorded_pk_changes_nothing_when_no_create_waits(signer0: dict[str, object]) -> None:
    records, queues = MemoryRecords(stored(R.ONESHOT_PENDING, signer0=signer0)), MemoryQueues()
    confirm_oneshot_signature(calling_back(records, queues), _callback_hint(9, request_id="req-1", signer=0))
    assert records.writes == []
    assert queues.ops() == []


def test_upload_records_its_intent_then_moves_the_document_with_its_uid() -> None:
    # Given signer 0's One-Shot request and the received original
    aggregate = stored(R.ONESHOT_PENDING, signer0=REQUESTED)
    records, queues = MemoryRecords(aggregate), MemoryQueues()
    files = MemoryFiles({aggregate.document(0).original_key or "": PDF_BYTES})
    oneshot = FakeOneShot(upload_document=UploadedDocument(uid="uid-0", field_name="file", filename="f.pdf"))

    # When the upload step runs
    upload_oneshot_document(
        memory_services(records, queues, files=files, oneshot=oneshot), message(Op.UPLOAD_ONESHOT_DOCUMENT, document=0)
    )

    # Then the document was uploaded under its stable name
    assert oneshot.calls == [("upload_document", (7, "req-1-000-0.pdf"), {})]
    # And the intent, then the document's move with the uid were written
    assert moves(records) == [("update_part", None, "document"), ("move_part", "oneshot_uploaded", "document")]
    assert records.stored["req-1"].document(0).oneshot_document_uids == {0: "uid-0"}
    # And the contract is next
    assert queues.ops() == [(Op.STORE_ONESHOT_CONTRACT, 0, None)]


def test_contract_is_stored_and_the_signer_moved_then_the_sms_is_planned() -> None:
    # Given every document uploaded for signer 0
    aggregate = stored(
        R.ONESHOT_PENDING,
        signer0=REQUESTED,
        document0={"status": D.ONESHOT_UPLOADED, "oneshot_document_uids": {0: "uid-0"}},
    )
    records, queues, files = MemoryRecords(aggregate), MemoryQueues(), MemoryFiles()
    oneshot = FakeOneShot(open_contract=lambda pk: pdf_stream(CONTRACT))

    # When the contract step runs
    store_oneshot_contract(
        memory_services(records, queues, files=files, oneshot=oneshot), message(Op.STORE_ONESHOT_CONTRACT)
    )

    # Then the contract was read from the Optimizer and stored
    assert oneshot.calls == [("open_contract", (7,), {})]
    assert files.objects["contracts/req-1/000.pdf"] == CONTRACT
    # And the signer moved (while the request is oneshot_pending), then the first SMS was planned
    assert moves(records) == [("move_part", "contract_stored", "signer")]
    assert records.writes[0].guard is R.ONESHOT_PENDING
    assert queues.ops() == [(Op.SEND_ONESHOT_OTP, 0, None)]


def test_the_first_sms_moves_the_signer_and_the_request_together() -> None:
    # Given a stored contract
    aggregate = stored(R.ONESHOT_PENDING, signer0={**REQUESTED, "status": S.CONTRACT_STORED})
    records, queues, oneshot = MemoryRecords(aggregate), MemoryQueues(), FakeOneShot()

    # When the SMS step runs
    send_oneshot_otp(memory_services(records, queues, oneshot=oneshot), message(Op.SEND_ONESHOT_OTP))

    # Then the Optimizer texted the code once, after the intent was recorded
    assert oneshot.calls == [("send_otp", (7,), {})]
    assert moves(records) == [("update_part", None, "signer"), ("move_request", "awaiting_otp", "request")]
    after = records.stored["req-1"]
    assert (after.request.status, after.signer(0).status, after.signer(0).otp_generation) == (
        R.AWAITING_OTP,
        S.OTP_SENT,
        0,
    )
    assert after.signer(0).otp_intent_generation is None
    # And nothing is enqueued: the signer submits the code
    assert queues.sent == []


def signing(**signer: object) -> RequestAggregate:
    return stored(
        R.SIGNING,
        signer0={**REQUESTED, "status": S.OTP_SENT, **signer},
        document0={"status": D.ONESHOT_UPLOADED, "oneshot_document_uids": {0: "uid-0"}},
        request={"status_since": NOW - timedelta(seconds=SIGN_SETTLE_SECONDS + 1)},
    )


def test_confirm_finds_the_signed_document_and_records_the_signature() -> None:
    # Given a sign whose result was never recorded, and the Optimizer holding the signed document
    records, queues = MemoryRecords(signing()), MemoryQueues()
    oneshot = FakeOneShot(open_document=lambda pk, uid, kind: pdf_stream(SIGNED))

    # When the confirm step runs
    confirm_oneshot_signature(memory_services(records, queues, oneshot=oneshot), message(Op.CONFIRM_ONESHOT_SIGNATURE))

    # Then it asked for the first document's signed version, and moved the signer while the request is signing
    assert oneshot.calls == [("open_document", (7, "uid-0", "signed"), {})]
    assert moves(records) == [("move_part", "signed", "signer")]
    assert records.writes[0].guard is R.SIGNING
    # And the retrieval was planned from the aggregate as written
    assert queues.ops() == [(Op.RETRIEVE_ONESHOT_DOCUMENT, 0, 0)]


def test_confirm_without_a_signed_document_gives_the_signer_the_code_back() -> None:
    records, queues = MemoryRecords(signing()), MemoryQueues()
    oneshot = FakeOneShot(open_document=NotFoundError("oneshot", "get_document", "no such document", status=404))
    confirm_oneshot_signature(memory_services(records, queues, oneshot=oneshot), message(Op.CONFIRM_ONESHOT_SIGNATURE))
    assert moves(records) == [("move_request", "awaiting_otp", "request")]
    assert records.stored["req-1"].request.status is R.AWAITING_OTP


def test_retrieve_stores_the_signed_document_and_the_request_completes() -> None:
    # Given a signed signer
    records, queues, files = MemoryRecords(signing(status=S.SIGNED)), MemoryQueues(), MemoryFiles()
    oneshot = FakeOneShot(open_document=lambda pk, uid, kind: pdf_stream(SIGNED))

    # When the retrieve step runs
    retrieve_oneshot_document(
        memory_services(records, queues, files=files, oneshot=oneshot),
        message(Op.RETRIEVE_ONESHOT_DOCUMENT, document=0),
    )

    # Then the signed PDF was stored, the document moved, and advance completed the request without reading
    assert files.objects["signed/req-1/000/oneshot-0.pdf"] == SIGNED
    assert moves(records) == [
        ("move_part", "oneshot_signed", "document"),
        ("move_request", "archiving", "request"),
        ("move_request", "completed", "request"),
    ]
    assert records.reads == 1
    # And the Optimizer's copies are to be deleted
    assert queues.ops() == [(Op.DELETE_ONESHOT_DOCUMENTS, 0, None), (Op.BUILD_EVIDENCE_PACKAGE, None, None)]


def test_cleanup_deletes_at_the_optimizer_and_records_it() -> None:
    # Given a completed request whose signer's outputs are stored
    aggregate = with_parts(
        signing(status=S.SIGNED),
        request={"status": R.COMPLETED},
        document0={"status": D.ARCHIVED, "signed_keys": {"oneshot-0": "signed/req-1/000/oneshot-0.pdf"}},
    )
    records, queues = MemoryRecords(aggregate), MemoryQueues()
    oneshot = FakeOneShot(delete_all_documents=True)

    # When the delete step runs
    delete_oneshot_documents(memory_services(records, queues, oneshot=oneshot), message(Op.DELETE_ONESHOT_DOCUMENTS))

    # Then the Optimizer deleted the request's documents, and the time was recorded on the signer
    assert oneshot.calls == [("delete_all_documents", (7,), {})]
    assert [(write.kind, sorted(write.updates)) for write in records.writes] == [
        ("update_part", ["oneshot_deleted_at"])
    ]
    assert queues.sent == []


def test_cancel_deletes_what_the_optimizer_holds_for_an_ended_request() -> None:
    records, queues = MemoryRecords(stored(R.CANCELLED, signer0=REQUESTED)), MemoryQueues()
    oneshot = FakeOneShot(delete_all_documents=False)
    cancel_oneshot_request(memory_services(records, queues, oneshot=oneshot), message(Op.CANCEL_ONESHOT_REQUEST))
    assert oneshot.asked() == ["delete_all_documents"]
    assert records.stored["req-1"].signer(0).oneshot_deleted_at == NOW
    assert queues.sent == []


def test_retrieve_verifies_the_file_with_the_signer_expected_before_recording_it() -> None:
    # Given a signed signer, and a verifier that finds the file's signature by someone else
    records, queues, files = MemoryRecords(signing(status=S.SIGNED)), MemoryQueues(), MemoryFiles()
    oneshot = FakeOneShot(open_document=lambda pk, uid, kind: pdf_stream(SIGNED))
    verifier = FakeVerifier(wrong_signer=True)

    # When the retrieve step runs
    retrieve_oneshot_document(
        memory_services(records, queues, files=files, oneshot=oneshot, verifier=verifier),
        message(Op.RETRIEVE_ONESHOT_DOCUMENT, document=0),
    )

    # Then the verifier read the file as stored, with the signer's given name, surnames and ID number expected
    assert verifier.read == [SIGNED]
    (expected,) = verifier.calls[0][2]["expected_signers"]
    assert (expected.name, expected.id_number) == ("Ana Souza", "12345678Z")
    # And the report is beside the file
    report = FileReport.model_validate_json(files.objects["reports/req-1/000/oneshot-0.json"])
    assert report.unmatched_signers == (expected,)
    # And the request waits in verification_failed saying why, the document not recorded as signed
    after = records.stored["req-1"]
    assert moves(records) == [("move_request", "verification_failed", "request")]
    assert after.request.verification_held_from is R.SIGNING
    assert after.request.verification_problem == (
        "document 0 (oneshot-0) did not pass verification: Signature1: the certificate does not name an expected "
        "signer; no signature by expected signer #0"
    )
    assert after.document(0).status is D.ONESHOT_UPLOADED
    assert "oneshot-0" not in after.document(0).signed_keys
    summary = VerificationSummary.model_validate(after.document(0).verifications["oneshot-0"])
    assert (summary.passed, summary.report_key, summary.signatures[0].signer) == (
        False,
        "reports/req-1/000/oneshot-0.json",
        None,
    )
    # And nothing is planned: an operator decides (the Optimizer keeps its copy)
    assert queues.sent == []


def test_retrieve_records_the_verification_of_a_file_that_passes() -> None:
    records, queues, files = MemoryRecords(signing(status=S.SIGNED)), MemoryQueues(), MemoryFiles()
    oneshot = FakeOneShot(open_document=lambda pk, uid, kind: pdf_stream(SIGNED))
    retrieve_oneshot_document(
        memory_services(records, queues, files=files, oneshot=oneshot),
        message(Op.RETRIEVE_ONESHOT_DOCUMENT, document=0),
    )
    summary = VerificationSummary.model_validate(records.stored["req-1"].document(0).verifications["oneshot-0"])
    assert (summary.indication, summary.passed, summary.signatures[0].signer) == (Indication.TOTAL_PASSED, True, 0)
    assert summary.sha256 == hashlib.sha256(SIGNED).hexdigest()


def test_a_create_waiting_for_its_callback_stays_within_the_queues_receive_count() -> None:
    """The uncertain answer, then a look every `CALLBACK_RETRY_SECONDS` until the window ends: three deliveries of the
    message, two of the queues' maxReceiveCount of 5 left for other failures."""
    looks = -(-CREATE_CALLBACK_WINDOW.total_seconds() // CALLBACK_RETRY_SECONDS)  # ceiling
    assert 1 + looks <= 3
