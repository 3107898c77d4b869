"""The One-Shot operations through the real worker handler (SQS FIFO events from the real queue), against moto and the
One-Shot simulator: from `submitted` to `completed`, and every way a step can be repeated, lost or uncertain."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any

import pytest
import requests
from pypdf import PdfReader

from signbridge.domain import keys
from signbridge.domain.changes import DocumentChange, SignerChange
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    ZAPSIGN_STAGE,
    Cause,
    DocumentStatus,
    RequestAggregate,
    RequestStatus,
    SignerStatus,
    Workflow,
    oneshot_stage,
)
from signbridge.domain.oneshot import FilePart
from signbridge.domain.operations import Op
from signbridge.providers.http import ProviderHttp
from signbridge.providers.oneshot import OneShotClient
from signbridge.workflow import progress, signing
from signbridge.workflow.errors import OtpRejectedError, OtpResendTooSoonError
from signbridge.workflow.oneshot.sign import SIGN_SETTLE_SECONDS
from signbridge.workflow.services import Services
from simulators.oneshot.simulator import OneShotSimulator
from tests.simulators.conftest_oneshot import oneshot_credentials
from tests.support.oneshot import ShiftedClock, WorkerDriver, seed_request, signer_pk
from tests.support.signatures import signer_names, validate_signatures

R = RequestStatus
S = SignerStatus
D = DocumentStatus


def sim_get(simulator: OneShotSimulator, path: str) -> Any:
    response = requests.get(f"{simulator.base_url}{path}", timeout=5)
    response.raise_for_status()
    return response.json()


def set_faults(simulator: OneShotSimulator, plan: dict[str, Any]) -> None:
    requests.post(f"{simulator.base_url}/_sim/faults", json=plan, timeout=5).raise_for_status()


def otp_of(simulator: OneShotSimulator, pk: int) -> str:
    """The code the signer received, read from the simulator's control API (as a test reads a phone)."""
    return str(sim_get(simulator, f"/_sim/oneshot/requests/{pk}/otp")["code"])


def direct_client(simulator: OneShotSimulator) -> OneShotClient:
    """A client acting outside SignBridge (a lost attempt, an operator)."""
    http = ProviderHttp("oneshot", simulator.api_url, sleep=lambda _: None, read_timeout=5.0)
    return OneShotClient(simulator.api_url, oneshot_credentials(), http=http)


def to_awaiting_otp(services: Services, worker: WorkerDriver, **seed: Any) -> RequestAggregate:
    request_id = seed_request(services, **seed)
    worker.run()
    aggregate = services.records.get_request(request_id)
    assert aggregate.request.status is R.AWAITING_OTP, aggregate.request
    return aggregate


def sign_current(services: Services, worker: WorkerDriver, simulator: OneShotSimulator, request_id: str) -> None:
    aggregate = services.records.get_request(request_id)
    current = aggregate.request.current_signer or 0
    code = otp_of(simulator, signer_pk(aggregate, current))
    signing.submit_otp(services, request_id, current, code, correlation_id="test-sign")
    worker.run()


def complete(
    services: Services, worker: WorkerDriver, simulator: OneShotSimulator, request_id: str
) -> RequestAggregate:
    """Sign for every signer in turn until the request is completed."""
    for _ in range(10):
        aggregate = services.records.get_request(request_id)
        if aggregate.request.status is R.COMPLETED:
            return aggregate
        assert aggregate.request.status is R.AWAITING_OTP, aggregate.request
        sign_current(services, worker, simulator, request_id)
    raise AssertionError("never completed")


def stored_bytes(services: Services, key: str) -> bytes:
    with services.files.open_stream(key) as stream:
        return stream.read()


# ------------------------------------------------------------------------------------------------ the happy path


def test_one_signer_reaches_awaiting_otp_with_its_contract_stored_and_one_sms_sent(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a submitted oneshot request with two documents
    # When the worker runs what the planner queues
    aggregate = to_awaiting_otp(oneshot_services, oneshot_worker, documents=2)
    # Then the request awaits the code of signer 0, whose One-Shot request exists with both documents uploaded
    request_id = aggregate.request.id
    signer = aggregate.signer(0)
    pk = signer_pk(aggregate)
    assert signer.status is S.OTP_SENT
    assert signer.otp_generation == 0
    assert signer.otp_sent_at is not None
    assert oneshot_services.records.find_by_oneshot_request(pk) is not None
    assert [document.status for document in aggregate.documents] == [D.ONESHOT_UPLOADED, D.ONESHOT_UPLOADED]
    at_optimizer = sim_get(oneshot_simulator, f"/_sim/oneshot/requests/{pk}")
    assert at_optimizer["status"] == "ENROLLREADY"
    assert at_optimizer["otp_sent"] is True
    assert {document["uid"]: document["filename"] for document in at_optimizer["documents"]} == {
        document.oneshot_document_uids[0]: f"{request_id}-{document.index:03d}-0.pdf"
        for document in aggregate.documents
    }
    # and the uploaded documents are the originals, byte for byte
    for document in aggregate.documents:
        uploaded = oneshot_simulator.requests[pk].documents[document.oneshot_document_uids[0]].original
        assert uploaded == stored_bytes(oneshot_services, keys.original_key(request_id, document.index))
    # and the service contract is in S3, a PDF, the one the Optimizer served
    assert signer.contract_key == keys.contract_key(request_id, 0)
    contract = stored_bytes(oneshot_services, signer.contract_key)
    assert contract.startswith(b"%PDF-")
    assert contract == oneshot_simulator.requests[pk].contract
    # and the signer got exactly one SMS, readable from the simulator's control API
    assert len(otp_of(oneshot_simulator, pk)) == 6
    calls = oneshot_simulator.calls
    assert (calls["create"], calls["document_upload"], calls["contract"], calls["otp"]) == (1, 2, 1, 1)
    # and each step left a timeline entry
    assert [entry.to_status for entry in aggregate.timeline if entry.subject.value == "request"][-1] == "awaiting_otp"


def test_a_wrong_code_is_rejected_then_the_right_one_signs_and_every_signed_pdf_is_archived(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request awaiting the code, with two documents
    aggregate = to_awaiting_otp(oneshot_services, oneshot_worker, documents=2)
    request_id, pk = aggregate.request.id, signer_pk(aggregate)
    right = otp_of(oneshot_simulator, pk)
    wrong = "000000" if right != "000000" else "111111"
    # When a wrong code is submitted
    with pytest.raises(OtpRejectedError):
        signing.submit_otp(oneshot_services, request_id, 0, wrong, correlation_id="wrong")
    # Then the request is back to awaiting the code (through signing: the intent was recorded first, two versions),
    # and the try is a count on the signer rather than timeline entries
    after_wrong = oneshot_services.records.get_request(request_id)
    assert after_wrong.request.status is R.AWAITING_OTP
    assert after_wrong.request.version == aggregate.request.version + 2
    assert after_wrong.signer(0).otp_failures == 1
    assert len(after_wrong.timeline) == len(aggregate.timeline)
    # When the right code is submitted
    signed = signing.submit_otp(oneshot_services, request_id, 0, right, correlation_id="right")
    # Then the signer is signed at once and the retrievals are queued
    assert signed.signer(0).status is S.SIGNED
    assert signed.signer(0).oneshot_signed_at is not None
    assert signed.request.status is R.SIGNING
    # When the worker runs them
    oneshot_worker.run()
    # Then the request is completed, each final PDF is in S3 and is exactly what the Optimizer signed
    done = oneshot_services.records.get_request(request_id)
    assert done.request.status is R.COMPLETED
    stage = oneshot_stage(0)
    for document in done.documents:
        assert document.status is D.ARCHIVED
        assert document.final_key == document.signed_keys[stage] == keys.signed_key(request_id, document.index, stage)
        served = oneshot_simulator.requests[pk].documents.get(document.oneshot_document_uids[0])
        stored = stored_bytes(oneshot_services, document.final_key)
        assert document.signed_sha256[stage] == hashlib.sha256(stored).hexdigest()
        assert oneshot_services.files.head(document.final_key).sha256 == document.signed_sha256[stage]
        assert served is None  # deleted from the Optimizer after retrieval (below)
        stamps = str((PdfReader(io.BytesIO(stored)).metadata or {}).get("/SignBridgeStamp", ""))
        assert stamps == "One-Shot qualified signature: Ana Souza"
    # and the Optimizer holds no document any more (it never deletes by itself)
    assert sim_get(oneshot_simulator, f"/_sim/oneshot/requests/{pk}")["documents"] == []
    assert done.signer(0).oneshot_deleted_at is not None
    calls = oneshot_simulator.calls
    assert (calls["sign"], calls["document_retrieve"], calls["documents_delete"]) == (2, 2, 1)


def test_the_signed_pdfs_match_what_the_optimizer_served(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request signed at the Optimizer, before the retrievals ran
    aggregate = to_awaiting_otp(oneshot_services, oneshot_worker, documents=2)
    request_id, pk = aggregate.request.id, signer_pk(aggregate)
    signing.submit_otp(oneshot_services, request_id, 0, otp_of(oneshot_simulator, pk), correlation_id="sign")
    served = {uid: document.signed for uid, document in oneshot_simulator.requests[pk].documents.items()}
    # When the worker retrieves and archives
    oneshot_worker.run()
    # Then every stored PDF has the sha256 of the bytes the Optimizer served for that document
    done = oneshot_services.records.get_request(request_id)
    for document in done.documents:
        expected = served[document.oneshot_document_uids[0]]
        assert expected is not None
        assert document.signed_sha256[oneshot_stage(0)] == hashlib.sha256(expected).hexdigest()
        assert stored_bytes(oneshot_services, document.final_key or "") == expected


def test_two_signers_sign_in_turn_each_on_the_previous_output(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request with two signers and one document, awaiting the first signer's code
    aggregate = to_awaiting_otp(oneshot_services, oneshot_worker, signers=2)
    request_id = aggregate.request.id
    assert aggregate.request.current_signer == 0
    assert aggregate.signer(1).status is S.PENDING
    # When the first signer signs
    sign_current(oneshot_services, oneshot_worker, oneshot_simulator, request_id)
    # Then it is the second signer's turn, with a One-Shot request of their own, sent the first signer's output
    middle = oneshot_services.records.get_request(request_id)
    assert middle.request.status is R.AWAITING_OTP
    assert middle.request.current_signer == 1
    first_pk, second_pk = signer_pk(middle, 0), signer_pk(middle, 1)
    assert first_pk != second_pk
    first_output = stored_bytes(oneshot_services, middle.documents[0].signed_keys[oneshot_stage(0)])
    second_input = oneshot_simulator.requests[second_pk].documents[middle.documents[0].oneshot_document_uids[1]]
    assert second_input.original == first_output
    # and the first signer's documents are already gone from the Optimizer
    assert oneshot_simulator.requests[first_pk].documents == {}
    # When the second signer signs
    sign_current(oneshot_services, oneshot_worker, oneshot_simulator, request_id)
    # Then the request is completed and the final PDF carries both qualified signatures
    done = oneshot_services.records.get_request(request_id)
    assert done.request.status is R.COMPLETED
    final = done.documents[0].final_key
    assert final == done.documents[0].signed_keys[oneshot_stage(1)]
    reader = PdfReader(io.BytesIO(stored_bytes(oneshot_services, final)))
    stamps = str((reader.metadata or {}).get("/SignBridgeStamp", ""))
    assert stamps == "One-Shot qualified signature: Ana Souza | One-Shot qualified signature: Bruno Lima"
    assert len(reader.pages) == 1  # the original page: each signer adds a signature, not a page
    final_pdf = stored_bytes(oneshot_services, final)
    assert signer_names(final_pdf) == ["Ana Souza", "Bruno Lima"]
    trust_anchors = oneshot_simulator.signatures.pki.trust_anchors()
    assert [status.bottom_line for status in validate_signatures(final_pdf, trust_anchors)] == [True, True]
    assert all(signer.oneshot_deleted_at is not None for signer in done.signers)


def test_zapsign_oneshot_signs_the_zapsign_signed_pdfs_at_one_shot(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a zapsign_oneshot request whose ZapSign part is done (signed PDFs and ID evidence stored)
    request_id = seed_request(oneshot_services, workflow=Workflow.ZAPSIGN_ONESHOT, zapsign_signed=True)
    # When the worker runs the One-Shot part
    oneshot_worker.run()
    # Then the signer's One-Shot request was sent the ZapSign-signed PDF, not the original
    aggregate = oneshot_services.records.get_request(request_id)
    assert aggregate.request.status is R.AWAITING_OTP
    zapsign_signed = stored_bytes(oneshot_services, aggregate.documents[0].signed_keys[ZAPSIGN_STAGE])
    uploaded = oneshot_simulator.requests[signer_pk(aggregate)].documents[
        aggregate.documents[0].oneshot_document_uids[0]
    ]
    assert uploaded.original == zapsign_signed
    # When the code is submitted and the worker finishes
    done = complete(oneshot_services, oneshot_worker, oneshot_simulator, request_id)
    # Then the final PDF carries the ZapSign signature and the qualified one
    stamps = str(
        (PdfReader(io.BytesIO(stored_bytes(oneshot_services, done.documents[0].final_key or ""))).metadata or {}).get(
            "/SignBridgeStamp", ""
        )
    )
    assert stamps == "ZapSign: signed by every signer | One-Shot qualified signature: Ana Souza"


# ------------------------------------------------------------------------------------------------ repeats


def test_duplicate_messages_make_no_second_request_sms_or_certificate(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a worker that receives every message twice (a redrive, a replay: a duplicate SQS does not drop)
    oneshot_worker.duplicate_everything = True
    aggregate = to_awaiting_otp(oneshot_services, oneshot_worker, documents=2)
    request_id = aggregate.request.id
    # When the request is signed and finished, every message again delivered twice, and then all replayed once more
    complete(oneshot_services, oneshot_worker, oneshot_simulator, request_id)
    oneshot_worker.duplicate_everything = False
    oneshot_worker.replay(oneshot_worker.processed)
    oneshot_worker.run()
    # Then the Optimizer saw one request, one upload per document, one contract, one SMS, one certificate
    calls = oneshot_simulator.calls
    assert (calls["create"], calls["document_upload"], calls["contract"], calls["otp"], calls["sign"]) == (
        1,
        2,
        1,
        1,
        1,
    )
    assert len(oneshot_simulator.sms) == 1
    assert calls["document_retrieve"] == 2
    # and the request ended completed, once
    done = oneshot_services.records.get_request(request_id)
    assert done.request.status is R.COMPLETED
    assert [entry.to_status for entry in done.timeline].count("completed") == 1


def test_a_resend_within_a_minute_is_refused_and_after_it_a_new_sms_goes_out(
    oneshot_services: Services,
    oneshot_worker: WorkerDriver,
    oneshot_simulator: OneShotSimulator,
    oneshot_clock: ShiftedClock,
) -> None:
    # Given a request whose signer got the SMS 20 seconds ago (SignBridge's time moves only as the test moves it)
    oneshot_clock.freeze()
    aggregate = to_awaiting_otp(oneshot_services, oneshot_worker)
    request_id, pk = aggregate.request.id, signer_pk(aggregate)
    first_code = otp_of(oneshot_simulator, pk)
    oneshot_clock.advance(20.5)
    # When a resend is asked for
    # Then it is refused with the seconds left, rounded up
    with pytest.raises(OtpResendTooSoonError) as too_soon:
        signing.resend_otp(oneshot_services, request_id, 0, correlation_id="resend-1")
    assert too_soon.value.retry_after_seconds == 40
    assert oneshot_worker.run() == []  # nothing was queued
    # When a minute has passed (for SignBridge and for the Optimizer) and a resend is asked for
    oneshot_clock.advance(41)
    oneshot_simulator.advance_clock(61)
    signing.resend_otp(oneshot_services, request_id, 0, correlation_id="resend-2")
    ran = oneshot_worker.run()
    # Then the worker sent a second SMS (generation 1), recorded on the signer
    assert [(message.op, message.generation) for message in ran] == [(Op.SEND_ONESHOT_OTP.value, 1)]
    assert len(oneshot_simulator.sms) == 2
    signer = oneshot_services.records.get_request(request_id).signer(0)
    assert (signer.otp_generation, signer.otp_resends, signer.status) == (1, 1, S.OTP_SENT)
    assert signer.otp_sent_at is not None
    assert aggregate.signer(0).otp_sent_at is not None
    assert signer.otp_sent_at > aggregate.signer(0).otp_sent_at
    # and the new code signs; the old one was replaced (a one-in-a-million clash of two random codes aside)
    new_code = otp_of(oneshot_simulator, pk)
    if new_code != first_code:
        with pytest.raises(OtpRejectedError):
            signing.submit_otp(oneshot_services, request_id, 0, first_code, correlation_id="old")
    signing.submit_otp(oneshot_services, request_id, 0, new_code, correlation_id="sign")
    assert oneshot_services.records.get_request(request_id).signer(0).status is S.SIGNED


def test_an_sms_whose_answer_was_lost_is_recorded_as_sent_not_sent_again(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request whose contract is stored, and an SMS already sent for it by an attempt whose answer was lost
    request_id = seed_request(oneshot_services)
    pending = _run_until(oneshot_worker, Op.SEND_ONESHOT_OTP)
    aggregate = oneshot_services.records.get_request(request_id)
    assert aggregate.signer(0).status is S.CONTRACT_STORED
    direct_client(oneshot_simulator).send_otp(signer_pk(aggregate))
    # When the OTP step runs (the Optimizer answers 412 "less than a minute ago")
    oneshot_worker.replay(pending)
    oneshot_worker.run()
    # Then it is recorded as sent, and no second SMS went out
    done = oneshot_services.records.get_request(request_id)
    assert done.request.status is R.AWAITING_OTP
    assert done.signer(0).otp_generation == 0
    assert len(oneshot_simulator.sms) == 1
    assert "less than a minute" in (done.timeline[-1].detail or "")


def test_an_otp_intent_without_a_result_is_recorded_as_sent_without_calling(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given an OTP step whose intent is recorded (a previous attempt crashed during the call)
    request_id = seed_request(oneshot_services)
    pending = _run_until(oneshot_worker, Op.SEND_ONESHOT_OTP)
    oneshot_services.records.update_part(
        oneshot_services.records.get_request(request_id),
        SignerChange(0, S.CONTRACT_STORED, updates={"otp_intent_generation": 0}),
    )
    # When the step runs again
    oneshot_worker.replay(pending)
    oneshot_worker.run()
    # Then the SMS is recorded as sent and the Optimizer is not asked for another
    done = oneshot_services.records.get_request(request_id)
    assert done.request.status is R.AWAITING_OTP
    assert done.signer(0).otp_intent_generation is None
    assert oneshot_simulator.calls["otp"] == 0


def _run_until(worker: WorkerDriver, op: Op) -> list[OperationMessage]:
    """Run the worker until a message of `op` is next; take those off the queue and return them (unprocessed)."""
    for _ in range(20):
        messages = worker.sqs.receive_message(
            QueueUrl=worker.queue_url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            VisibilityTimeout=60,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        assert messages, f"{op} was never queued"
        wanted = [message for message in messages if OperationMessage.from_body(message["Body"]).op == op.value]
        if wanted:
            for message in messages:
                worker.sqs.delete_message(QueueUrl=worker.queue_url, ReceiptHandle=message["ReceiptHandle"])
            return [OperationMessage.from_body(message["Body"]) for message in wanted]
        worker.deliver(messages, [])
    raise AssertionError(f"{op} was never queued")


# ------------------------------------------------------------------------------------------------ lost answers


def test_a_crash_between_the_sign_and_its_recording_is_resolved_by_the_confirm_step(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request whose sign intent was recorded (signing) and the Optimizer signed, but the API crashed before
    # recording the result
    aggregate = to_awaiting_otp(oneshot_services, oneshot_worker)
    request_id, pk = aggregate.request.id, signer_pk(aggregate)
    oneshot_services.records.move_request(aggregate, R.SIGNING, cause=Cause.API, correlation_id="crash")
    direct_client(oneshot_simulator).sign(pk, otp_of(oneshot_simulator, pk))
    # When the reconciler finds it stale and the planner asks for the confirm step
    progress.advance(oneshot_services, request_id, cause=Cause.SCHEDULE, correlation_id="reconcile", stale=True)
    oneshot_worker.run()
    # Then the signature is recorded, the signed PDF retrieved, and the request completed, with no second sign
    done = oneshot_services.records.get_request(request_id)
    assert done.request.status is R.COMPLETED
    assert done.signer(0).status is S.SIGNED
    assert oneshot_simulator.calls["sign"] == 1
    assert [message.op for message in oneshot_worker.processed].count(Op.CONFIRM_ONESHOT_SIGNATURE.value) == 1


def test_a_sign_that_never_happened_goes_back_to_awaiting_the_code_once_it_cannot_be_running(
    oneshot_services: Services,
    oneshot_worker: WorkerDriver,
    oneshot_simulator: OneShotSimulator,
    oneshot_clock: ShiftedClock,
) -> None:
    # Given a request left in signing whose sign never reached the Optimizer
    aggregate = to_awaiting_otp(oneshot_services, oneshot_worker)
    request_id, pk = aggregate.request.id, signer_pk(aggregate)
    oneshot_services.records.move_request(aggregate, R.SIGNING, cause=Cause.API, correlation_id="crash")
    # When the confirm step runs while the sign could still be under way
    progress.advance(oneshot_services, request_id, cause=Cause.SCHEDULE, correlation_id="early", stale=True)
    oneshot_worker.run()
    # Then it changes nothing
    assert oneshot_services.records.get_request(request_id).request.status is R.SIGNING
    # When it runs again after the sign could have lasted
    oneshot_clock.advance(SIGN_SETTLE_SECONDS + 1)
    progress.advance(oneshot_services, request_id, cause=Cause.SCHEDULE, correlation_id="later", stale=True)
    oneshot_worker.run()
    # Then the request awaits the code again, and the same code still signs
    back = oneshot_services.records.get_request(request_id)
    assert back.request.status is R.AWAITING_OTP
    assert back.signer(0).status is S.OTP_SENT
    assert "did not happen" in (back.timeline[-1].detail or "")
    signing.submit_otp(oneshot_services, request_id, 0, otp_of(oneshot_simulator, pk), correlation_id="again")
    assert oneshot_services.records.get_request(request_id).signer(0).status is S.SIGNED


def test_an_uncertain_create_is_retried_and_the_request_completes_its_steps(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given an Optimizer that answers the create with a 503 after creating the request (the worst case: the work
    # was done, the answer lost)
    set_faults(
        oneshot_simulator,
        {"endpoints": {"create": {"after_rate": 1.0, "error_status": 503}}},
    )
    # When the create step runs
    request_id = seed_request(oneshot_services)
    oneshot_worker.run()
    # Then the message comes back (an unused One-Shot request sends no SMS and issues no certificate, so creating
    # again is safe) with its intent forgotten, and the request waits
    assert [message.op for message in oneshot_worker.failures] == [Op.CREATE_ONESHOT_REQUEST.value]
    waiting = oneshot_services.records.get_request(request_id)
    assert waiting.request.status is R.ONESHOT_PENDING
    assert waiting.signer(0).oneshot_create_started_at is None
    # When it is delivered again, with the Optimizer healthy
    set_faults(oneshot_simulator, {})
    oneshot_worker.release_failures()
    oneshot_worker.run()
    # Then the request goes on with the second request; the first one is at most unused
    assert oneshot_services.records.get_request(request_id).request.status is R.AWAITING_OTP
    assert oneshot_simulator.calls["create"] == 2


def test_a_create_intent_without_a_pk_creates_again(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a create whose intent was recorded by an attempt that crashed during the call
    request_id = seed_request(oneshot_services)
    pending = _run_until(oneshot_worker, Op.CREATE_ONESHOT_REQUEST)
    oneshot_services.records.update_part(
        oneshot_services.records.get_request(request_id),
        SignerChange(0, S.PENDING, updates={"oneshot_create_started_at": oneshot_services.clock()}),
    )
    # When the step runs again
    oneshot_worker.replay(pending)
    oneshot_worker.run()
    # Then the Optimizer was asked once more and the request goes on
    assert oneshot_simulator.calls["create"] == 1
    assert oneshot_services.records.get_request(request_id).request.status is R.AWAITING_OTP


def test_a_create_refused_before_reaching_the_optimizer_is_retried_later(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given an Optimizer that throttles the create once (429: it did nothing). The client's own retry cannot resend
    # the ID images (S3 streams are not rewound), so the message itself comes back.
    set_faults(oneshot_simulator, {"endpoints": {"create": {"rate_limit_burst": 1}}})
    request_id = seed_request(oneshot_services)
    # When the create step runs
    oneshot_worker.run()
    # Then the message comes back to the queue, and the intent is forgotten (nothing was created)
    assert [message.op for message in oneshot_worker.failures] == [Op.CREATE_ONESHOT_REQUEST.value]
    signer = oneshot_services.records.get_request(request_id).signer(0)
    assert signer.status is S.PENDING
    assert signer.oneshot_create_started_at is None
    # When it is delivered again, with the Optimizer healthy
    oneshot_worker.release_failures()
    oneshot_worker.run()
    # Then the request goes on
    assert oneshot_services.records.get_request(request_id).request.status is R.AWAITING_OTP


def test_an_upload_whose_answer_was_lost_adopts_the_document_it_left(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given an upload step whose earlier attempt uploaded the document but lost the answer
    request_id = seed_request(oneshot_services)
    pending = _run_until(oneshot_worker, Op.UPLOAD_ONESHOT_DOCUMENT)
    aggregate = oneshot_services.records.get_request(request_id)
    pk = signer_pk(aggregate)
    oneshot_services.records.update_part(
        oneshot_services.records.get_request(request_id),
        DocumentChange(0, D.RECEIVED, updates={"oneshot_upload_started": {0: oneshot_services.clock()}}),
    )
    original = stored_bytes(oneshot_services, keys.original_key(request_id, 0))
    lost_uid = direct_client(oneshot_simulator).upload_document(pk, FilePart(original, "lost.pdf")).uid
    # When the step runs again
    oneshot_worker.replay(pending)
    oneshot_worker.run()
    # Then it adopts that document instead of uploading a second copy
    done = oneshot_services.records.get_request(request_id)
    assert done.documents[0].oneshot_document_uids == {0: lost_uid}
    assert oneshot_simulator.calls["document_upload"] == 1
    assert done.request.status is R.AWAITING_OTP


def test_an_upload_intent_that_left_nothing_uploads_again(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given an upload step whose earlier attempt crashed before anything reached the Optimizer
    request_id = seed_request(oneshot_services)
    pending = _run_until(oneshot_worker, Op.UPLOAD_ONESHOT_DOCUMENT)
    oneshot_services.records.update_part(
        oneshot_services.records.get_request(request_id),
        DocumentChange(0, D.RECEIVED, updates={"oneshot_upload_started": {0: oneshot_services.clock()}}),
    )
    # When the step runs again
    oneshot_worker.replay(pending)
    oneshot_worker.run()
    # Then it looks, finds nothing of its own, and uploads once
    done = oneshot_services.records.get_request(request_id)
    assert len(done.documents[0].oneshot_document_uids) == 1
    assert (oneshot_simulator.calls["documents_list"], oneshot_simulator.calls["document_upload"]) == (1, 1)


def test_two_unrecorded_uploads_that_cannot_be_told_apart_fail_the_request(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given two documents whose uploads both left an unnamed document at the Optimizer and lost their answers
    request_id = seed_request(oneshot_services, documents=2)
    pending = _run_until(oneshot_worker, Op.UPLOAD_ONESHOT_DOCUMENT)
    pk = signer_pk(oneshot_services.records.get_request(request_id))
    for index in (0, 1):
        oneshot_services.records.update_part(
            oneshot_services.records.get_request(request_id),
            DocumentChange(index, D.RECEIVED, updates={"oneshot_upload_started": {0: oneshot_services.clock()}}),
        )
        content = stored_bytes(oneshot_services, keys.original_key(request_id, index))
        direct_client(oneshot_simulator).upload_document(pk, FilePart(content, f"{request_id}-{index:03d}-0.pdf"))
    # (the new Optimizer's listing carries no names: docs/providers/oneshot.md §5.7, as the simulator answers)
    # When the steps run again
    oneshot_worker.replay(pending)
    oneshot_worker.run()
    # Then the request fails with a reason rather than guessing which document is which
    failed = oneshot_services.records.get_request(request_id)
    assert failed.request.status is R.FAILED
    assert "cannot tell which one" in (failed.request.failure_reason or "")
    assert oneshot_simulator.calls["document_upload"] == 2


# ------------------------------------------------------------------------------------------------ clean up


def test_cancelling_deletes_the_documents_at_the_optimizer(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request awaiting the code, its documents at the Optimizer
    aggregate = to_awaiting_otp(oneshot_services, oneshot_worker, documents=2)
    request_id, pk = aggregate.request.id, signer_pk(aggregate)
    assert len(oneshot_simulator.requests[pk].documents) == 2
    # When it is cancelled and the cancel step runs
    oneshot_services.records.move_request(aggregate, R.CANCELLED, cause=Cause.API, correlation_id="cancel")
    progress.enqueue(
        oneshot_services,
        [OperationMessage(op=Op.CANCEL_ONESHOT_REQUEST.value, request_id=request_id, correlation_id="cancel")],
    )
    oneshot_worker.run()
    # Then the Optimizer holds nothing of it, and the signer records when that happened
    assert oneshot_simulator.requests[pk].documents == {}
    assert oneshot_services.records.get_request(request_id).signer(0).oneshot_deleted_at is not None
    # When the cancel step is delivered again
    oneshot_worker.replay(oneshot_worker.processed[-1:])
    oneshot_worker.run()
    # Then it does not call the Optimizer again
    assert oneshot_simulator.calls["documents_delete"] == 1


def test_a_late_step_for_a_cancelled_request_does_nothing(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request cancelled while its create step waited on the queue
    request_id = seed_request(oneshot_services)
    aggregate = oneshot_services.records.get_request(request_id)
    oneshot_services.records.move_request(aggregate, R.CANCELLED, cause=Cause.API, correlation_id="cancel")
    # When the step runs
    oneshot_worker.run()
    # Then the Optimizer is not called
    assert oneshot_simulator.calls["create"] == 0
    assert oneshot_worker.failures == []


def test_the_delete_step_waits_until_every_output_is_stored(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a signed signer whose signed documents are not all in S3 yet
    aggregate = to_awaiting_otp(oneshot_services, oneshot_worker, documents=2)
    request_id, pk = aggregate.request.id, signer_pk(aggregate)
    signing.submit_otp(oneshot_services, request_id, 0, otp_of(oneshot_simulator, pk), correlation_id="sign")
    # When a delete step arrives before the retrievals (a message out of order)
    answer = oneshot_worker.invoke(
        OperationMessage(op=Op.DELETE_ONESHOT_DOCUMENTS.value, request_id=request_id, signer=0, correlation_id="early")
    )
    # Then it is consumed and nothing is deleted
    assert answer == {"batchItemFailures": []}
    assert len(oneshot_simulator.requests[pk].documents) == 2
    assert oneshot_services.records.get_request(request_id).signer(0).oneshot_deleted_at is None
    assert oneshot_simulator.calls["documents_delete"] == 0


def test_sign_settle_window_is_longer_than_the_api_sign_budget() -> None:
    # The confirm step must not declare "not signed" while the API's sign call may still be waiting for its answer.
    assert timedelta(seconds=SIGN_SETTLE_SECONDS) > timedelta(
        seconds=signing.SIGN_READ_TIMEOUT_SECONDS + signing.SIGN_CONNECT_TIMEOUT_SECONDS
    )


def test_no_personal_data_reaches_the_logs(
    oneshot_services: Services,
    oneshot_worker: WorkerDriver,
    oneshot_simulator: OneShotSimulator,
    captured_logs: list[str],
) -> None:
    # Given a two-signer request taken from submission to completion, with a wrong code on the way
    aggregate = to_awaiting_otp(oneshot_services, oneshot_worker, signers=2)
    request_id = aggregate.request.id
    with pytest.raises(OtpRejectedError):
        signing.submit_otp(oneshot_services, request_id, 0, "000001", correlation_id="wrong")
    done = complete(oneshot_services, oneshot_worker, oneshot_simulator, request_id)
    assert done.request.status is R.COMPLETED
    # Then no log line carries a name, an email, a phone, an ID number or an SMS code
    text = "\n".join(captured_logs)
    assert f'"request_id":"{request_id}"' in text  # (the worker's lines are there, with their keys)
    assert "One-Shot request created" in text
    personal = [str(sms["code"]) for sms in oneshot_simulator.sms]
    for signer in done.signers:
        personal += [signer.name, signer.first_surname or "", signer.email or "", signer.phone or ""]
        personal += [signer.id_number or ""]
    for value in filter(None, personal):
        assert value not in text, f"a log line carries {value!r}"
