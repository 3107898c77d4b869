"""The intake: a real presigned POST upload to moto, then the real `intake` handler with the S3 event of
`events/s3/incoming_object_created.json` pointing at it."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import pytest
import requests

from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, DocumentStatus, RequestStatus, Workflow
from signbridge.domain.operations import Op
from signbridge.workflow import signature_requests
from signbridge.workflow.services import Services
from simulators.pdf import make_pdf
from tests.support.events import load_event
from tests.support.samples import new_request
from tests.support.zapsign import ZapSignHandlers

Queued = Callable[[str], list[OperationMessage]]
Keys = Callable[[], list[str]]
Intake = Callable[[dict[str, Any]], dict[str, Any]]
Deliver = Callable[[str, int, bytes], dict[str, Any]]
R = RequestStatus
D = DocumentStatus
PDF = make_pdf("Contrato de prestação de serviços")
UPLOAD_CAP = 1024 * 1024


def draft_request(services: Services, *, documents: int = 2, **declared: Any) -> str:
    """A `draft` ZapSign request as the API stores it when every document is declared for upload; `declared`
    sets `declared_sha256` / `declared_size` on document 0."""
    request, document_items, signers = new_request(Workflow.ZAPSIGN, documents=documents)
    request = request.model_copy(update={"status": R.DRAFT})
    awaiting = [
        document.model_copy(
            update={
                "name": f"contract-{document.index}.pdf",
                "status": D.AWAITING_UPLOAD,
                "size": None,
                "sha256": None,
                "original_key": None,
                "incoming_key": keys.incoming_key(request.id, document.index),
                **(declared if document.index == 0 else {}),
            }
        )
        for document in document_items
    ]
    services.records.create_request(request, awaiting, signers, cause=Cause.API, correlation_id="test-create")
    return request.id


def upload(services: Services, request_id: str, index: int, content: bytes) -> str:
    """The client's upload: the presigned POST the API hands out, posted over HTTP to S3 (moto)."""
    key = keys.incoming_key(request_id, index)
    post = services.files.presigned_post(key, max_bytes=UPLOAD_CAP)
    response = requests.post(post.url, data=post.fields, files={"file": ("upload.pdf", content)}, timeout=10)
    assert response.status_code == 204, response.text
    return key


def s3_event(services: Services, key: str, *, size: int = 0) -> dict[str, Any]:
    """The S3 notification for `key` (its key URL-encoded, as S3 sends it)."""
    event = load_event("s3/incoming_object_created.json")
    record = copy.deepcopy(event["Records"][0])
    record["s3"]["bucket"]["name"] = services.settings.bucket_name
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{services.settings.bucket_name}"
    record["s3"]["object"]["key"] = quote_plus(key, safe="/")
    record["s3"]["object"]["size"] = size
    return {"Records": [record]}


@pytest.fixture
def run_intake(zapsign_handlers: ZapSignHandlers) -> Intake:
    """The `intake` handler's answer to an S3 event."""
    return zapsign_handlers.intake


@pytest.fixture
def deliver(zapsign_services: Services, run_intake: Intake) -> Callable[[str, int, bytes], dict[str, Any]]:
    """`deliver(request_id, index, content)`: upload, then the S3 event of that upload through the intake."""

    def upload_and_notify(request_id: str, index: int, content: bytes) -> dict[str, Any]:
        key = upload(zapsign_services, request_id, index, content)
        return run_intake(s3_event(zapsign_services, key, size=len(content)))

    return upload_and_notify


def test_uploads_are_received_and_the_last_one_submits_the_request(
    zapsign_services: Services, queued: Queued, bucket_keys: Keys, deliver: Deliver
) -> None:
    # Given a draft request waiting for two uploads
    request_id = draft_request(zapsign_services)

    # When the first upload arrives
    answer = deliver(request_id, 0, PDF)

    # Then that document is received (checked, hashed, moved to originals/) and the request still waits
    assert answer["results"] == {"received": 1}
    halfway = zapsign_services.records.get_request(request_id)
    assert halfway.request.status is R.DRAFT
    first = halfway.document(0)
    assert first.status is D.RECEIVED
    assert (first.original_key, first.sha256, first.size) == (
        keys.original_key(request_id, 0),
        hashlib.sha256(PDF).hexdigest(),
        len(PDF),
    )
    assert keys.incoming_key(request_id, 0) not in bucket_keys()
    assert queued("zapsign") == []

    # When the second one arrives
    deliver(request_id, 1, PDF)

    # Then the request is submitted and its ZapSign document is queued for creation
    done = zapsign_services.records.get_request(request_id)
    assert done.request.status is R.SUBMITTED
    assert [message.op for message in queued("zapsign")] == [Op.CREATE_ZAPSIGN_DOCUMENT.value]
    assert sorted(bucket_keys()) == [keys.original_key(request_id, 0), keys.original_key(request_id, 1)]


def test_a_file_that_is_not_a_pdf_is_rejected_and_the_request_stays_a_draft(
    zapsign_services: Services, queued: Queued, bucket_keys: Keys, deliver: Deliver
) -> None:
    # Given a draft request
    request_id = draft_request(zapsign_services)

    # When the second upload is a PNG
    answer = deliver(request_id, 1, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)

    # Then that document is rejected naming it, nothing of the upload is kept, and the request waits as a draft (the
    # client may upload it again) with the rejection on its timeline
    assert answer["results"] == {"rejected": 1}
    aggregate = zapsign_services.records.get_request(request_id)
    reason = "document 1 'contract-1.pdf' rejected: not a PDF"
    assert aggregate.document(1).status is D.REJECTED
    assert aggregate.document(1).rejection_reason == reason
    assert aggregate.request.status is R.DRAFT
    assert aggregate.request.failure_reason is None
    assert aggregate.timeline[-1].detail == reason
    assert bucket_keys() == []
    assert queued("zapsign") == []

    # When the other document arrives meanwhile
    deliver(request_id, 0, PDF)

    # Then the request still waits for the rejected one
    assert zapsign_services.records.get_request(request_id).request.status is R.DRAFT
    assert queued("zapsign") == []


def test_a_rejected_document_uploaded_again_is_received_and_submits_the_request(
    zapsign_services: Services, queued: Queued, bucket_keys: Keys, deliver: Deliver
) -> None:
    # Given a draft whose document 1 was rejected and document 0 received
    request_id = draft_request(zapsign_services)
    deliver(request_id, 0, PDF)
    deliver(request_id, 1, b"not a pdf at all")

    # When the client asks for a new link (the API's use case) and uploads a good file with it
    reopened = signature_requests.reopen_upload(zapsign_services, request_id, 1, correlation_id="test-reopen")
    assert [index for index, _ in reopened.uploads] == [1]
    assert reopened.aggregate.document(1).status is D.AWAITING_UPLOAD
    answer = deliver(request_id, 1, PDF)

    # Then it is received and the request submitted, its first step queued
    assert answer["results"] == {"received": 1}
    aggregate = zapsign_services.records.get_request(request_id)
    assert aggregate.request.status is R.SUBMITTED
    assert aggregate.document(1).status is D.RECEIVED
    assert aggregate.document(1).rejection_reason is None
    assert [message.op for message in queued("zapsign")] == [Op.CREATE_ZAPSIGN_DOCUMENT.value]
    assert sorted(bucket_keys()) == [keys.original_key(request_id, 0), keys.original_key(request_id, 1)]
    # and the timeline tells the story: rejected, reopened, received
    details = [entry.detail or "" for entry in aggregate.timeline]
    rejected = details.index("document 1 'contract-1.pdf' rejected: not a PDF")
    assert details.index("document 1 may be uploaded again") > rejected


def test_a_late_duplicate_event_of_a_rejected_upload_changes_nothing(
    zapsign_services: Services, bucket_keys: Keys, run_intake: Intake
) -> None:
    # Given an upload that was rejected
    request_id = draft_request(zapsign_services, documents=1)
    key = upload(zapsign_services, request_id, 0, b"not a pdf")
    event = s3_event(zapsign_services, key, size=9)
    run_intake(event)
    before = zapsign_services.records.get_request(request_id)

    # When S3 delivers the same event again
    answer = run_intake(event)

    # Then nothing changes: the document stays rejected, the request a draft, the timeline as it was
    assert answer["results"] == {"duplicate": 1}
    after = zapsign_services.records.get_request(request_id)
    assert after.request.status is R.DRAFT
    assert after.document(0) == before.document(0)
    assert len(after.timeline) == len(before.timeline)
    assert bucket_keys() == []


def test_a_file_over_the_size_cap_is_rejected(
    zapsign_services: Services, bucket_keys: Keys, monkeypatch: pytest.MonkeyPatch, deliver: Deliver
) -> None:
    # Given a deployment that accepts files of at most 200 bytes
    monkeypatch.setattr(
        zapsign_services, "settings", zapsign_services.settings.model_copy(update={"max_file_bytes": 200})
    )
    request_id = draft_request(zapsign_services, documents=1)

    # When a larger PDF is uploaded
    deliver(request_id, 0, PDF)

    # Then it is rejected for its size and nothing is kept
    document = zapsign_services.records.get_request(request_id).document(0)
    assert document.status is D.REJECTED
    assert document.rejection_reason == "document 0 'contract-0.pdf' rejected: larger than 200 bytes"
    assert bucket_keys() == []


def test_a_sha256_other_than_declared_is_rejected_and_the_copy_removed(
    zapsign_services: Services, bucket_keys: Keys, deliver: Deliver
) -> None:
    # Given a document declared with the sha256 of another file
    request_id = draft_request(zapsign_services, documents=1, declared_sha256=hashlib.sha256(b"other").hexdigest())

    # When the upload arrives
    deliver(request_id, 0, PDF)

    # Then it is rejected, and neither the upload nor the original written while checking it is kept
    document = zapsign_services.records.get_request(request_id).document(0)
    assert document.status is D.REJECTED
    assert document.rejection_reason == "document 0 'contract-0.pdf' rejected: its sha256 differs from the declared one"
    assert bucket_keys() == []


def test_a_size_other_than_declared_is_rejected(zapsign_services: Services, deliver: Deliver) -> None:
    # Given a document declared one byte longer than what arrives
    request_id = draft_request(zapsign_services, documents=1, declared_size=len(PDF) + 1)

    # When the upload arrives
    deliver(request_id, 0, PDF)

    # Then it is rejected, saying both sizes
    document = zapsign_services.records.get_request(request_id).document(0)
    assert (
        document.rejection_reason
        == f"document 0 'contract-0.pdf' rejected: {len(PDF)} bytes where {len(PDF) + 1} were declared"
    )


def test_an_upload_matching_what_was_declared_is_received(zapsign_services: Services, deliver: Deliver) -> None:
    # Given a document declared with its exact size and sha256
    request_id = draft_request(
        zapsign_services, documents=1, declared_sha256=hashlib.sha256(PDF).hexdigest(), declared_size=len(PDF)
    )

    # When it arrives, Then it is received and the request submitted
    deliver(request_id, 0, PDF)
    assert zapsign_services.records.get_request(request_id).request.status is R.SUBMITTED


def test_a_duplicate_event_changes_nothing(
    zapsign_services: Services, queued: Queued, bucket_keys: Keys, run_intake: Intake
) -> None:
    # Given an upload already taken in
    request_id = draft_request(zapsign_services)
    key = upload(zapsign_services, request_id, 0, PDF)
    event = s3_event(zapsign_services, key, size=len(PDF))
    run_intake(event)
    before = zapsign_services.records.get_request(request_id)

    # When S3 delivers the same event again
    answer = run_intake(event)

    # Then it is a no-op: same state, same timeline, the original kept
    assert answer["results"] == {"duplicate": 1}
    after = zapsign_services.records.get_request(request_id)
    assert after.document(0) == before.document(0)
    assert len(after.timeline) == len(before.timeline)
    assert bucket_keys() == [keys.original_key(request_id, 0)]


def test_a_second_upload_of_a_received_document_is_removed_and_ignored(
    zapsign_services: Services, bucket_keys: Keys, deliver: Deliver
) -> None:
    # Given a received document
    request_id = draft_request(zapsign_services)
    deliver(request_id, 0, PDF)
    received = zapsign_services.records.get_request(request_id).document(0)

    # When the client uploads again with the same (still valid) presigned POST
    answer = deliver(request_id, 0, make_pdf("another file"))

    # Then the stray upload is deleted and the recorded original stays
    assert answer["results"] == {"duplicate": 1}
    assert zapsign_services.records.get_request(request_id).document(0) == received
    assert bucket_keys() == [keys.original_key(request_id, 0)]


def test_s3_test_events_and_foreign_keys_are_ignored(
    zapsign_services: Services, bucket_keys: Keys, run_intake: Intake
) -> None:
    # Given S3's test event, and an object under incoming/ that is not a declared upload
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-22T10:15:02.512Z", "Bucket": "b"}
    zapsign_services.files.store_bytes("incoming/notes.txt", b"hello", expect_pdf=False, max_bytes=100)

    # When they arrive, Then nothing happens to them
    assert run_intake(test_event) == {"records": 0}
    assert run_intake(s3_event(zapsign_services, "incoming/notes.txt"))["results"] == {"ignored": 1}
    assert bucket_keys() == ["incoming/notes.txt"]


def test_one_bad_record_does_not_block_the_others_and_the_invocation_is_retried(
    zapsign_services: Services, monkeypatch: pytest.MonkeyPatch, run_intake: Intake, zapsign_handlers: ZapSignHandlers
) -> None:
    # Given two uploads in one event, the first of which hits an unexpected error
    first_request, second_request = (
        draft_request(zapsign_services, documents=1),
        draft_request(zapsign_services, documents=1),
    )
    first_key = upload(zapsign_services, first_request, 0, PDF)
    second_key = upload(zapsign_services, second_request, 0, PDF)
    event = s3_event(zapsign_services, first_key)
    event["Records"].append(s3_event(zapsign_services, second_key)["Records"][0])
    intake = zapsign_handlers.intake_module
    real_accept = intake.accept_upload

    def flaky(services: Services, key: str, *, correlation_id: str) -> Any:
        if key == first_key:
            raise ConnectionError("S3 hiccup")
        return real_accept(services, key, correlation_id=correlation_id)

    monkeypatch.setattr(intake, "accept_upload", flaky)

    # When the event is handled, Then the invocation fails (Lambda will retry it) after taking the second upload in
    with pytest.raises(intake.IntakeFailedError):
        run_intake(event)
    assert zapsign_services.records.get_request(second_request).request.status is R.SUBMITTED
    assert zapsign_services.records.get_request(first_request).request.status is R.DRAFT
