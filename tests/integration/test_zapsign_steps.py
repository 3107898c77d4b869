"""The ZapSign operations against moto and the ZapSign simulator, run by the real worker handler from the real
`zapsign-ops` FIFO queue (SQS events shaped like `events/sqs/zapsign_*.json`), with webhooks delivered through the
real `zapsign_webhook` handler."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    ZAPSIGN_STAGE,
    Cause,
    DocumentStatus,
    IdImageKind,
    RequestAggregate,
    RequestStatus,
    SignerStatus,
    Workflow,
)
from signbridge.domain.operations import Op
from signbridge.domain.verification import FileReport, Indication, SubIndication, VerificationSummary
from signbridge.workflow import progress
from signbridge.workflow import signature_requests as request_use_cases
from signbridge.workflow.services import Services
from signbridge.workflow.verification import accept_verification, retry_verification
from signbridge.workflow.zapsign.create import CREATE_RESOLUTION_WINDOW, zapsign_folder
from simulators.signatures import SigningFaults, tamper
from simulators.zapsign.simulator import ZapSignSimulator
from tests.support.aws import Queues
from tests.support.receiver import wait_for
from tests.support.stored import drain
from tests.support.zapsign import (
    ShiftedClock,
    ZapSignHandlers,
    ZapSignWorkerDriver,
    deliver_webhook,
    document_body,
    seed_request,
    webhook_event,
)

R = RequestStatus
D = DocumentStatus
S = SignerStatus
Deliver = Callable[..., dict[str, Any]]


@pytest.fixture
def deliver(zapsign_handlers: ZapSignHandlers, zapsign_simulator: ZapSignSimulator) -> Deliver:
    """`deliver(request_id, event_type, **extra)`: ZapSign's webhook for the request's document, through the handler."""
    return partial(deliver_webhook, zapsign_handlers, zapsign_simulator)


def created(services: Services, worker: ZapSignWorkerDriver, **seed: Any) -> RequestAggregate:
    """A request seeded and run through `create_zapsign_document`: `zapsign_pending`."""
    request_id = seed_request(services, **seed)
    worker.run()
    aggregate = services.records.get_request(request_id)
    assert aggregate.request.status is R.ZAPSIGN_PENDING, aggregate.request
    return aggregate


def sign_all(simulator: ZapSignSimulator, aggregate: RequestAggregate) -> None:
    for signer in aggregate.signers:
        assert signer.zapsign_signer_token is not None
        simulator.sign(signer.zapsign_signer_token)


def signed_file(simulator: ZapSignSimulator, token: str) -> bytes:
    """The bytes the simulator serves as the signed PDF of a main or extra document."""
    holder: Any = simulator.documents.get(token) or simulator.extra_docs[token]
    assert holder.signed_file is not None
    return simulator.files[holder.signed_file].data


def s3_bytes(services: Services, key: str) -> bytes:
    with services.files.open_stream(key) as stream:
        return stream.read()


def statuses(aggregate: RequestAggregate) -> list[str]:
    return [entry.to_status for entry in aggregate.timeline]


# ------------------------------------------------------------------------------------------------ create


def test_create_makes_one_zapsign_document_and_records_the_signing_links(
    zapsign_services: Services, zapsign_worker: ZapSignWorkerDriver, zapsign_simulator: ZapSignSimulator
) -> None:
    # Given a submitted ZapSign request with two signers (its create step queued by the planner)
    request_id = seed_request(zapsign_services, signers=2)

    # When the worker runs the queue
    processed = zapsign_worker.run()

    # Then one ZapSign document exists, in the request's folder, with our ids and the signers' data as ZapSign wants it
    assert [message.op for message in processed] == [Op.CREATE_ZAPSIGN_DOCUMENT.value]
    assert zapsign_simulator.calls["create_document"] == 1
    (document,) = zapsign_simulator.find_documents(external_id=request_id)
    assert document["folder_path"] == zapsign_folder(request_id)
    assert document["lang"] == "pt-br"
    assert document["metadata"] == [{"key": "department", "value": "sales"}]
    first = document["signers"][0]
    assert (first["external_id"], first["phone_country"], first["phone_number"]) == (
        f"{request_id}:0",
        "34",
        "600111220",
    )
    assert first["email"] == "signer0@example.com"
    assert first["send_via"] == "email"  # send_automatic_email
    assert first["require_document_photo"] is False  # only zapsign_oneshot collects ID photos
    # and the request waits on ZapSign, each signer holding their own link, the token findable by a webhook
    aggregate = zapsign_services.records.get_request(request_id)
    assert aggregate.request.status is R.ZAPSIGN_PENDING
    assert aggregate.request.zapsign_doc_token == document["token"]
    assert aggregate.document(0).status is D.ZAPSIGN_PENDING
    assert aggregate.document(0).zapsign_doc_token == document["token"]
    for signer, remote in zip(aggregate.signers, document["signers"], strict=True):
        assert signer.zapsign_signer_token == remote["token"]
        assert signer.sign_url == remote["sign_url"]
        assert signer.status is S.PENDING
    target = zapsign_services.records.find_by_zapsign_doc_token(document["token"])
    assert target is not None
    assert target.request_id == request_id
    assert statuses(aggregate)[-1] == R.ZAPSIGN_PENDING


def test_an_envelope_records_each_extra_document_token(
    zapsign_services: Services, zapsign_worker: ZapSignWorkerDriver, zapsign_simulator: ZapSignSimulator
) -> None:
    # Given a request with three documents
    # When it is created at ZapSign
    aggregate = created(zapsign_services, zapsign_worker, documents=3)

    # Then the first is the main document and the others its extra documents, in order, each findable by its token
    main = zapsign_simulator.documents[aggregate.request.zapsign_doc_token or ""]
    assert [extra.token for extra in main.extra_docs] == [
        aggregate.document(1).zapsign_doc_token,
        aggregate.document(2).zapsign_doc_token,
    ]
    assert [extra.name for extra in main.extra_docs] == ["contract-1.pdf", "contract-2.pdf"]
    assert [document.zapsign_is_extra for document in aggregate.documents] == [False, True, True]
    assert all(document.status is D.ZAPSIGN_PENDING for document in aggregate.documents)
    extra = zapsign_services.records.find_by_zapsign_doc_token(main.extra_docs[1].token)
    assert extra is not None
    assert (extra.request_id, extra.document) == (aggregate.request.id, 2)
    assert zapsign_simulator.calls["add_extra_document"] == 2


def test_a_duplicate_create_message_makes_no_second_document(
    zapsign_services: Services, zapsign_worker: ZapSignWorkerDriver, zapsign_simulator: ZapSignSimulator
) -> None:
    # Given a request already created at ZapSign
    aggregate = created(zapsign_services, zapsign_worker)
    create = OperationMessage(
        op=Op.CREATE_ZAPSIGN_DOCUMENT.value, request_id=aggregate.request.id, correlation_id="replayed"
    )

    # When its create message arrives again (a redrive: SQS would not deduplicate it)
    zapsign_worker.send(create)
    zapsign_worker.run()

    # Then ZapSign was not asked again and the request did not move
    assert zapsign_simulator.calls["create_document"] == 1
    after = zapsign_services.records.get_request(aggregate.request.id)
    assert after.request.version == aggregate.request.version


def test_an_interrupted_envelope_resumes_with_the_missing_extra_documents(
    zapsign_services: Services, zapsign_worker: ZapSignWorkerDriver, zapsign_simulator: ZapSignSimulator
) -> None:
    # Given ZapSign fails the first extra document with a 503 (no document added)
    zapsign_simulator.faults = zapsign_simulator.faults.from_json(
        {"endpoints": {"add_extra_document": {"error_rate": 1.0, "error_status": 503}}}
    )
    request_id = seed_request(zapsign_services, documents=2)

    # When the create runs, the outcome of the extra document is uncertain: the message comes back later
    zapsign_worker.run()
    assert len(zapsign_worker.failures) == 1
    halfway = zapsign_services.records.get_request(request_id)
    assert halfway.request.status is R.SUBMITTED
    assert halfway.document(0).zapsign_doc_token is not None  # the main token was recorded as it arrived
    assert halfway.document(1).zapsign_doc_token is None

    # and when ZapSign recovers and the message runs again
    zapsign_simulator.faults = zapsign_simulator.faults.from_json({})
    zapsign_worker.release_failures()
    zapsign_worker.run()

    # Then the same main document got its extra document; nothing was created twice
    aggregate = zapsign_services.records.get_request(request_id)
    assert aggregate.request.status is R.ZAPSIGN_PENDING
    assert zapsign_simulator.calls["create_document"] == 1
    assert len(zapsign_simulator.documents) == 1
    (main,) = zapsign_simulator.documents.values()
    assert [extra.token for extra in main.extra_docs] == [aggregate.document(1).zapsign_doc_token]


def test_an_uncertain_create_is_resolved_from_the_request_folder_without_a_second_document(
    zapsign_services: Services, zapsign_worker: ZapSignWorkerDriver, zapsign_simulator: ZapSignSimulator
) -> None:
    # Given ZapSign answers the create only after the client gave up (it still creates the document)
    zapsign_services.zapsign().http.timeout = (1.0, 0.3)
    zapsign_simulator.faults = zapsign_simulator.faults.from_json(
        {"endpoints": {"create_document": {"timeout_seconds": 0.8}}}
    )
    request_id = seed_request(zapsign_services)

    # When the create runs: timed out, and the list does not show the document yet
    zapsign_worker.run()
    assert len(zapsign_worker.failures) == 1
    waiting = zapsign_services.records.get_request(request_id)
    assert waiting.request.status is R.SUBMITTED
    assert waiting.document(0).zapsign_create_started_at is not None  # the intent, recorded before the call
    assert waiting.document(0).zapsign_doc_token is None
    wait_for(lambda: len(zapsign_simulator.documents) == 1, message="the simulator did not finish the create")

    # and when the message comes back
    zapsign_simulator.faults = zapsign_simulator.faults.from_json({})
    zapsign_worker.release_failures()
    zapsign_worker.run()

    # Then the document ZapSign made is adopted (found in the request's folder), not created again
    aggregate = zapsign_services.records.get_request(request_id)
    assert aggregate.request.status is R.ZAPSIGN_PENDING
    assert zapsign_simulator.calls["create_document"] == 1
    assert zapsign_simulator.calls["list_documents"] == 2
    (token,) = zapsign_simulator.documents
    assert aggregate.request.zapsign_doc_token == token
    assert all(signer.sign_url for signer in aggregate.signers)


def test_a_create_that_never_shows_up_is_made_again_after_the_resolution_window(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    zapsign_clock: ShiftedClock,
) -> None:
    # Given ZapSign answers the create with a 502 (whether it created anything is unknown; here it did not)
    zapsign_simulator.faults = zapsign_simulator.faults.from_json(
        {"endpoints": {"create_document": {"error_rate": 1.0, "error_status": 502}}}
    )
    request_id = seed_request(zapsign_services)
    zapsign_worker.run()
    assert len(zapsign_worker.failures) == 1

    # When the message comes back within the resolution window: the folder is looked at, nothing is created
    zapsign_simulator.faults = zapsign_simulator.faults.from_json({})
    zapsign_worker.release_failures()
    zapsign_worker.run()
    assert zapsign_services.records.get_request(request_id).request.status is R.SUBMITTED
    assert zapsign_simulator.calls["create_document"] == 1

    # When it comes back after the resolution window and the folder is still empty
    zapsign_clock.advance(CREATE_RESOLUTION_WINDOW.total_seconds() + 60)
    zapsign_worker.release_failures()
    zapsign_worker.run()

    # Then the earlier create counts as not done: the document is created once, and the request goes on
    aggregate = zapsign_services.records.get_request(request_id)
    assert aggregate.request.status is R.ZAPSIGN_PENDING
    assert zapsign_simulator.calls["create_document"] == 2
    (token,) = zapsign_simulator.documents
    assert aggregate.request.zapsign_doc_token == token


def test_a_document_over_zapsign_size_limit_fails_the_request_before_any_call(
    zapsign_services: Services, zapsign_worker: ZapSignWorkerDriver, zapsign_simulator: ZapSignSimulator
) -> None:
    # Given a request whose second document is 11 MB
    request_id = seed_request(
        zapsign_services, documents=2, document_updates=lambda index: {"size": 11 * 1024 * 1024} if index else {}
    )

    # When the create runs
    zapsign_worker.run()

    # Then the request failed naming the document, and ZapSign was not called
    request = zapsign_services.records.get_request(request_id).request
    assert request.status is R.FAILED
    assert request.failure_reason is not None
    assert "document 1 'contract-1.pdf'" in request.failure_reason
    assert "10 MB" in request.failure_reason
    assert zapsign_simulator.calls["create_document"] == 0


# ------------------------------------------------------------------------------------------------ signing


def test_two_signers_the_request_waits_for_both_then_every_signed_pdf_is_archived(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    deliver: Deliver,
) -> None:
    # Given a two-signer envelope of two documents at ZapSign
    aggregate = created(zapsign_services, zapsign_worker, signers=2, documents=2)
    request_id = aggregate.request.id
    first, second = (signer.zapsign_signer_token or "" for signer in aggregate.signers)
    reads_before = zapsign_simulator.calls["get_document"]

    # When the first signer signs (ZapSign sends doc_signed)
    zapsign_simulator.sign(first)
    deliver(request_id, "doc_signed")
    zapsign_worker.run()

    # Then the request still waits, with the first signer signed
    halfway = zapsign_services.records.get_request(request_id)
    assert halfway.request.status is R.ZAPSIGN_PENDING
    assert [signer.status for signer in halfway.signers] == [S.SIGNED, S.PENDING]

    # When the second signer signs
    zapsign_simulator.sign(second)
    deliver(request_id, "doc_signed")
    zapsign_worker.run()

    # Then the request went zapsign_signed → archiving → completed, each signed PDF stored as ZapSign served it
    done = zapsign_services.records.get_request(request_id)
    assert done.request.status is R.COMPLETED
    assert [signer.status for signer in done.signers] == [S.SIGNED, S.SIGNED]
    request_moves = [entry.to_status for entry in done.timeline if entry.subject == "request"]
    assert request_moves[-3:] == [R.ZAPSIGN_SIGNED, R.ARCHIVING, R.COMPLETED]
    for document in done.documents:
        key = keys.signed_key(request_id, document.index, ZAPSIGN_STAGE)
        served = signed_file(zapsign_simulator, document.zapsign_doc_token or "")
        stored = s3_bytes(zapsign_services, key)
        assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(served).hexdigest()
        assert document.status is D.ARCHIVED
        assert document.signed_keys == {ZAPSIGN_STAGE: key}
        assert document.final_key == key
        assert document.signed_sha256 == {ZAPSIGN_STAGE: hashlib.sha256(served).hexdigest()}
    # And ZapSign was read once per doc_signed (docs/design.md, "What a request should cost"): the archive steps used
    # the links of the read that found the document signed
    assert zapsign_simulator.calls["get_document"] - reads_before == 2


def test_zapsign_oneshot_stores_the_signed_pdfs_and_each_signers_evidence_then_hands_over_to_one_shot(
    *,
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    sqs_client: Any,
    queues: Queues,
    deliver: Deliver,
) -> None:
    # Given a zapsign_oneshot request at ZapSign (which collects the ID photos and a selfie)
    aggregate = created(zapsign_services, zapsign_worker, workflow=Workflow.ZAPSIGN_ONESHOT)
    request_id = aggregate.request.id
    (remote,) = zapsign_simulator.find_documents(external_id=request_id)
    assert remote["signers"][0]["require_document_photo"] is True
    assert remote["signers"][0]["require_selfie_photo"] is True

    # When the signer signs (taking the photos) and ZapSign reports it
    sign_all(zapsign_simulator, aggregate)
    reads_before = zapsign_simulator.calls["get_document"]
    deliver(request_id, "doc_signed")
    zapsign_worker.run()
    # (one read of the document for the one doc_signed: the PDF and the photos come from its links)
    assert zapsign_simulator.calls["get_document"] - reads_before == 1

    # Then the ZapSign-signed PDF is the input of the One-Shot part, the evidence is in S3, and One-Shot begins
    done = zapsign_services.records.get_request(request_id)
    assert done.request.status is R.ONESHOT_PENDING
    document = done.document(0)
    assert document.status is D.ZAPSIGN_SIGNED
    assert document.final_key is None
    assert s3_bytes(zapsign_services, document.signed_keys[ZAPSIGN_STAGE]) == signed_file(
        zapsign_simulator, document.zapsign_doc_token or ""
    )
    signer = done.signer(0)
    assert signer.status is S.ZAPSIGN_SIGNED
    remote_signer = zapsign_simulator.signers[signer.zapsign_signer_token or ""]
    photos = {
        IdImageKind.DOCUMENT_FRONT: remote_signer.document_photo,
        IdImageKind.DOCUMENT_REAR: remote_signer.document_verse_photo,
        IdImageKind.DOCUMENT_OWNER: remote_signer.selfie_photo,
    }
    assert set(signer.evidence_keys) == set(IdImageKind)
    for kind, name in photos.items():
        assert signer.evidence_keys[kind] == keys.evidence_key(request_id, 0, kind.value, "png")
        assert s3_bytes(zapsign_services, signer.evidence_keys[kind]) == zapsign_simulator.files[name or ""].data
    assert [item.op for item in drain(sqs_client, queues.oneshot.url)] == [Op.CREATE_ONESHOT_REQUEST.value]


def test_a_missing_evidence_photo_fails_the_request_naming_the_kind_not_the_person(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    deliver: Deliver,
) -> None:
    # Given a zapsign_oneshot signer who signed, but ZapSign holds no photo of the back of their ID
    aggregate = created(zapsign_services, zapsign_worker, workflow=Workflow.ZAPSIGN_ONESHOT)
    sign_all(zapsign_simulator, aggregate)
    zapsign_simulator.signers[aggregate.signer(0).zapsign_signer_token or ""].document_verse_photo = None

    # When ZapSign reports the signature
    deliver(aggregate.request.id, "doc_signed")
    zapsign_worker.run()

    # Then the request failed for that piece of evidence, without the signer's name in the reason
    request = zapsign_services.records.get_request(aggregate.request.id).request
    assert request.status is R.FAILED
    assert request.failure_reason == "ZapSign holds no document_rear photo for signer 0"


def test_a_signer_refusal_refuses_the_request_with_the_reason(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    deliver: Deliver,
) -> None:
    # Given a request at ZapSign
    aggregate = created(zapsign_services, zapsign_worker)

    # When the signer refuses and ZapSign reports it
    zapsign_simulator.refuse_by_signer(aggregate.signer(0).zapsign_signer_token or "", "Valores incorretos")
    deliver(aggregate.request.id, "doc_refused")
    zapsign_worker.run()

    # Then the request is refused and keeps ZapSign's reason
    request = zapsign_services.records.get_request(aggregate.request.id).request
    assert request.status is R.REFUSED
    assert request.refusal_reason == "Valores incorretos"
    # And names the signer who refused (the only one who had not signed) and when
    assert request.refused_by == 0
    refused = zapsign_services.records.get_request(aggregate.request.id).signer(0)
    assert refused.status is S.REFUSED


def test_a_document_deleted_at_zapsign_cancels_the_request(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    deliver: Deliver,
) -> None:
    # Given a request at ZapSign
    aggregate = created(zapsign_services, zapsign_worker)

    # When someone deletes its document at ZapSign
    zapsign_services.zapsign().delete_document(aggregate.request.zapsign_doc_token or "")
    deliver(aggregate.request.id, "doc_deleted")
    zapsign_worker.run()

    # Then the request is cancelled, saying why
    done = zapsign_services.records.get_request(aggregate.request.id)
    assert done.request.status is R.CANCELLED
    assert done.timeline[-1].detail == "the ZapSign document was deleted at ZapSign"


def test_an_expired_file_link_is_fetched_again(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    monkeypatch: pytest.MonkeyPatch,
    deliver: Deliver,
) -> None:
    # Given a signed request whose signed-file link, read by the sync step, expires before the archive step runs
    # (the message waited in the queue)
    aggregate = created(zapsign_services, zapsign_worker)
    client = zapsign_services.zapsign()
    original_get = client.get_document
    expired: list[str] = []

    def get_then_expire(token: str) -> Any:
        detail = original_get(token)
        if not expired:
            expired.append(token)
            zapsign_simulator.advance_clock(3601)  # the link just handed out is now past its 60 minutes
        return detail

    monkeypatch.setattr(client, "get_document", get_then_expire)
    sign_all(zapsign_simulator, aggregate)
    reads_before = zapsign_simulator.calls["get_document"]

    # When ZapSign reports the signature and the archive runs
    deliver(aggregate.request.id, "doc_signed")
    zapsign_worker.run()

    # Then the 403 led to one fresh read and link, and the file was stored
    assert expired
    assert zapsign_simulator.calls["file"] == 2
    assert zapsign_simulator.calls["get_document"] - reads_before == 2  # the sync's read + one fresh read
    assert not zapsign_worker.failures
    assert zapsign_services.records.get_request(aggregate.request.id).request.status is R.COMPLETED


def test_a_link_refused_twice_is_retried_later(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    deliver: Deliver,
) -> None:
    # Given a signed request while ZapSign hands out links that are already expired
    aggregate = created(zapsign_services, zapsign_worker)
    sign_all(zapsign_simulator, aggregate)
    zapsign_simulator.config.file_link_lifetime_seconds = -60

    # When the archive runs
    deliver(aggregate.request.id, "doc_signed")
    zapsign_worker.run()

    # Then it tried a fresh link once, then handed the message back; nothing was stored
    assert [message.op for message in zapsign_worker.failures] == [Op.ARCHIVE_ZAPSIGN_DOCUMENT.value]
    assert zapsign_simulator.calls["file"] == 2
    halfway = zapsign_services.records.get_request(aggregate.request.id)
    assert halfway.document(0).status is D.ZAPSIGN_PENDING

    # and when the links are good again, the retry completes the request
    zapsign_simulator.config.file_link_lifetime_seconds = 3600
    zapsign_worker.release_failures()
    zapsign_worker.run()
    assert zapsign_services.records.get_request(aggregate.request.id).request.status is R.COMPLETED


def test_an_archive_message_lost_to_the_dead_letter_queue_is_healed_by_the_reconciler_alone(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    deliver: Deliver,
) -> None:
    # Given a signed request while ZapSign's file host answers 503
    aggregate = created(zapsign_services, zapsign_worker)
    sign_all(zapsign_simulator, aggregate)
    zapsign_simulator.faults = zapsign_simulator.faults.from_json(
        {"endpoints": {"file": {"error_rate": 1.0, "error_status": 503}}}
    )
    deliver(aggregate.request.id, "doc_signed")
    zapsign_worker.run()
    assert [message.op for message in zapsign_worker.failures] == [Op.ARCHIVE_ZAPSIGN_DOCUMENT.value]
    # and its archive message ends in the dead-letter queue, with the link the sync step had read
    zapsign_worker.drop_failures()
    assert zapsign_services.records.get_request(aggregate.request.id).request.status is R.ZAPSIGN_SIGNED

    # When the file host is back and the reconciler re-plans the request (its archive message carries no link)
    zapsign_simulator.faults = zapsign_simulator.faults.from_json({})
    progress.advance(
        zapsign_services, aggregate.request.id, cause=Cause.SCHEDULE, correlation_id="reconcile", stale=True
    )
    zapsign_worker.run()

    # Then the archive step read a fresh link from ZapSign and the request completed
    assert zapsign_services.records.get_request(aggregate.request.id).request.status is R.COMPLETED


def test_a_file_stored_by_an_archive_killed_before_its_record_is_not_stored_again(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    deliver: Deliver,
    *,
    s3_client: Any,
    bucket: str,
) -> None:
    # Given a versioned bucket and a signed request whose archive stored the signed PDF, then was killed before it
    # recorded it (its message comes back, or the reconciler re-plans it)
    s3_client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    aggregate = created(zapsign_services, zapsign_worker)
    sign_all(zapsign_simulator, aggregate)
    key = keys.signed_key(aggregate.request.id, 0, ZAPSIGN_STAGE)
    served = signed_file(zapsign_simulator, aggregate.document(0).zapsign_doc_token or "")
    earlier = zapsign_services.files.store_bytes(key, served, expect_pdf=True, max_bytes=len(served))

    # When the archive runs again
    deliver(aggregate.request.id, "doc_signed")
    zapsign_worker.run()

    # Then the request completes with that file, recorded with its sha256, stored once and not downloaded again
    done = zapsign_services.records.get_request(aggregate.request.id)
    assert done.request.status is R.COMPLETED
    assert done.document(0).signed_sha256[ZAPSIGN_STAGE] == earlier.sha256
    assert [version["Key"] for version in s3_client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]] == [
        key
    ]
    assert zapsign_simulator.calls["file"] == 0
    # And verified like a fresh download before it was recorded
    assert done.document(0).verifications[ZAPSIGN_STAGE]["passed"] is True


# ------------------------------------------------------------------------------------------------ webhook hints


def test_out_of_order_and_duplicate_hints_reach_the_same_end_state(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    zapsign_handlers: ZapSignHandlers,
) -> None:
    # Given two signers who opened their links and signed, with ZapSign's events captured as they happened
    aggregate = created(zapsign_services, zapsign_worker, signers=2)
    request_id = aggregate.request.id
    first, second = (signer.zapsign_signer_token or "" for signer in aggregate.signers)
    zapsign_simulator.open_link(first)
    bodies = [document_body(zapsign_simulator, request_id, "doc_viewed")]
    zapsign_simulator.sign(first)
    bodies.append(document_body(zapsign_simulator, request_id, "doc_signed"))
    zapsign_simulator.sign(second)
    bodies.append(document_body(zapsign_simulator, request_id, "doc_signed"))

    # When they arrive last first, with duplicates
    for body in (bodies[2], bodies[0], bodies[2], bodies[1], bodies[0]):
        assert zapsign_handlers.webhook(webhook_event(body, event_type=body["event_type"]))["statusCode"] == 200
    zapsign_worker.run()

    # Then the request is complete, signed once, archived once
    done = zapsign_services.records.get_request(request_id)
    assert done.request.status is R.COMPLETED
    assert [signer.status for signer in done.signers] == [S.SIGNED, S.SIGNED]
    assert statuses(done).count(R.ZAPSIGN_SIGNED) == 1
    assert statuses(done).count(R.COMPLETED) == 1
    # the duplicates were dropped by SQS (same body, same deduplication id): one Detail per distinct hint at most
    assert zapsign_simulator.calls["get_document"] <= 3 + len(done.documents)


def test_an_old_doc_signed_after_completion_changes_nothing_and_calls_nobody(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    deliver: Deliver,
) -> None:
    # Given a completed request
    aggregate = created(zapsign_services, zapsign_worker)
    sign_all(zapsign_simulator, aggregate)
    deliver(aggregate.request.id, "doc_signed")
    zapsign_worker.run()
    completed = zapsign_services.records.get_request(aggregate.request.id)
    assert completed.request.status is R.COMPLETED
    calls = dict(zapsign_simulator.calls)

    # When a doc_signed arrives again (a ZapSign retry, or a reprocess)
    deliver(aggregate.request.id, "doc_signed", reprocessed=True)
    zapsign_worker.run()

    # Then nothing changed and ZapSign was not called
    after = zapsign_services.records.get_request(aggregate.request.id)
    assert after.request.version == completed.request.version
    assert len(after.timeline) == len(completed.timeline)
    assert dict(zapsign_simulator.calls) == calls


def test_a_lost_webhook_heals_when_the_reconciler_asks_for_a_sync(
    zapsign_services: Services, zapsign_worker: ZapSignWorkerDriver, zapsign_simulator: ZapSignSimulator
) -> None:
    # Given a request whose signer signed but whose doc_signed webhook never arrived
    aggregate = created(zapsign_services, zapsign_worker)
    sign_all(zapsign_simulator, aggregate)

    # When the reconciler queues a sync for the request
    zapsign_worker.send(
        OperationMessage(op=Op.SYNC_ZAPSIGN_DOCUMENT.value, request_id=aggregate.request.id, correlation_id="recon")
    )
    zapsign_worker.run()

    # Then ZapSign's truth moves it all the way
    assert zapsign_services.records.get_request(aggregate.request.id).request.status is R.COMPLETED


def test_a_hint_for_an_unknown_document_is_consumed_without_a_call(
    zapsign_services: Services, zapsign_worker: ZapSignWorkerDriver, zapsign_simulator: ZapSignSimulator
) -> None:
    # Given a hint naming a ZapSign document no request holds
    hint = OperationMessage(
        op=Op.SYNC_ZAPSIGN_DOCUMENT.value,
        correlation_id="hint",
        payload={"doc_token": "0d5c2b7e-0000-4000-8000-000000000000", "event_type": "doc_signed"},
    )

    # When it runs
    zapsign_worker.send(hint, group_id="0d5c2b7e-0000-4000-8000-000000000000")
    processed = zapsign_worker.run()

    # Then it is consumed, and ZapSign is not called
    assert len(processed) == 1
    assert not zapsign_worker.failures
    assert zapsign_simulator.calls["get_document"] == 0


# ------------------------------------------------------------------------------------------------ cancel


def test_cancelling_a_request_withdraws_its_zapsign_document_once(
    zapsign_services: Services, zapsign_worker: ZapSignWorkerDriver, zapsign_simulator: ZapSignSimulator
) -> None:
    # Given a request at ZapSign
    aggregate = created(zapsign_services, zapsign_worker)

    # When the client cancels it (the API moves it and queues the ZapSign cancel), and the cancel runs twice
    request_use_cases.cancel_request(zapsign_services, aggregate.request.id, reason=None, correlation_id="cancel")
    zapsign_worker.run()
    zapsign_worker.send(
        OperationMessage(op=Op.CANCEL_ZAPSIGN_DOCUMENT.value, request_id=aggregate.request.id, correlation_id="again")
    )
    zapsign_worker.run()

    # Then ZapSign refused the document; the second attempt found it already refused and was fine with it
    remote = zapsign_simulator.documents[aggregate.request.zapsign_doc_token or ""]
    assert remote.status in ("recusado", "refused")
    assert remote.rejected_reason == "Cancelado pelo remetente"  # in the document's language (pt-br here)
    assert zapsign_simulator.calls["refuse_document"] == 2
    assert not zapsign_worker.failures
    assert zapsign_services.records.get_request(aggregate.request.id).request.status is R.CANCELLED


# ------------------------------------------------------------------------------------------------ verification


def test_a_tampered_signed_file_holds_the_request_until_an_operator_retries(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    deliver: Deliver,
) -> None:
    # Given a request whose signed file ZapSign serves with one byte changed inside the signed range
    aggregate = created(zapsign_services, zapsign_worker, signers=1, documents=1)
    request_id = aggregate.request.id
    zapsign_simulator.signatures.faults = SigningFaults(tamper=True)
    try:
        sign_all(zapsign_simulator, aggregate)
    finally:
        zapsign_simulator.signatures.faults = SigningFaults()

    # When the archive step runs
    deliver(request_id, "doc_signed")
    zapsign_worker.run()

    # Then the request waits in verification_failed, naming the file and the finding, nothing archived
    held = zapsign_services.records.get_request(request_id)
    assert held.request.status is R.VERIFICATION_FAILED
    assert held.request.verification_problem is not None
    assert "TOTAL-FAILED/HASH_FAILURE" in held.request.verification_problem
    document = held.document(0)
    assert (document.status, document.signed_keys, document.final_key) == (D.ZAPSIGN_PENDING, {}, None)
    # And the report beside the file says why, per signature
    report = FileReport.model_validate_json(s3_bytes(zapsign_services, keys.report_key(request_id, 0, ZAPSIGN_STAGE)))
    (signature,) = report.signatures
    assert (signature.indication, signature.sub_indication, signature.intact) == (
        Indication.TOTAL_FAILED,
        SubIndication.HASH_FAILURE,
        False,
    )
    # And the reconciler leaves it alone: no re-download loop
    reads = zapsign_simulator.calls["get_document"]
    progress.advance(zapsign_services, request_id, cause=Cause.SCHEDULE, correlation_id="rec", stale=True)
    zapsign_worker.run()
    assert zapsign_services.records.get_request(request_id).request.status is R.VERIFICATION_FAILED
    assert zapsign_simulator.calls["get_document"] == reads

    # When an operator retries: the same file is fetched and verified again, and holds the request again
    retry_verification(zapsign_services, request_id, correlation_id="operator")
    zapsign_worker.run()
    again = zapsign_services.records.get_request(request_id)
    assert again.request.status is R.VERIFICATION_FAILED
    assert zapsign_simulator.calls["get_document"] == reads + 1  # one fresh link, nothing more

    # When the operator accepts that very file instead
    failed = VerificationSummary.model_validate(again.document(0).verifications[ZAPSIGN_STAGE])
    assert failed.sha256 == hashlib.sha256(signed_file(zapsign_simulator, document.zapsign_doc_token or "")).hexdigest()
    accept_verification(zapsign_services, request_id, failed.sha256, correlation_id="operator")
    zapsign_worker.run()

    # Then it is archived, recorded as accepted by an operator, and the request completes
    done = zapsign_services.records.get_request(request_id)
    assert done.request.status is R.COMPLETED, done.request
    summary = VerificationSummary.model_validate(done.document(0).verifications[ZAPSIGN_STAGE])
    assert (summary.indication, summary.passed, summary.accepted_by_operator) == (Indication.TOTAL_FAILED, False, True)
    assert [entry.cause for entry in done.timeline if entry.to_status == R.ZAPSIGN_SIGNED][-2:] == [Cause.OPERATOR] * 2


def test_a_file_an_earlier_archive_stored_is_verified_before_it_is_recorded(
    zapsign_services: Services,
    zapsign_worker: ZapSignWorkerDriver,
    zapsign_simulator: ZapSignSimulator,
    deliver: Deliver,
) -> None:
    # Given a signed request whose killed archive had stored a file that was changed after signing (one byte inside
    # the signed range)
    aggregate = created(zapsign_services, zapsign_worker)
    sign_all(zapsign_simulator, aggregate)
    key = keys.signed_key(aggregate.request.id, 0, ZAPSIGN_STAGE)
    served = signed_file(zapsign_simulator, aggregate.document(0).zapsign_doc_token or "")
    zapsign_services.files.store_bytes(key, tamper(served), expect_pdf=True, max_bytes=len(served))

    # When the archive runs again
    deliver(aggregate.request.id, "doc_signed")
    zapsign_worker.run()

    # Then the file found again was read back and verified, not recorded as it was: the request waits for an operator
    held = zapsign_services.records.get_request(aggregate.request.id)
    assert held.request.status is R.VERIFICATION_FAILED
    assert ZAPSIGN_STAGE not in held.document(0).signed_keys
    assert held.document(0).verifications[ZAPSIGN_STAGE]["passed"] is False
    assert zapsign_simulator.calls["file"] == 0
