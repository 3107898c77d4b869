"""The domain model: statuses, stored models (tolerant), personal data kept out of repr, the queue envelope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import (
    Document,
    IdDocumentType,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    Signer,
    TimelineEntry,
    TimelineSubject,
    Workflow,
    oneshot_stage,
)
from signbridge.handlers.api.bodies import SignerInput
from tests.support.samples import new_request

NOW = datetime(2025, 1, 31, 9, 5, tzinfo=UTC)


def test_request_statuses_are_the_designed_ones() -> None:
    # Given docs/design.md's request lifecycle, and the wait after a failed verification (docs/evidence.md)
    expected = {
        "draft", "submitted", "zapsign_pending", "zapsign_signed", "oneshot_pending", "awaiting_otp", "signing",
        "verification_failed",
        "archiving", "completed", "refused", "cancelled", "expired", "failed",
    }  # fmt: skip
    # Then the enum has exactly those values
    assert {status.value for status in RequestStatus} == expected


@pytest.mark.parametrize(
    ("workflow", "zapsign", "oneshot", "client_images"),
    [
        (Workflow.ZAPSIGN, True, False, False),
        (Workflow.ONESHOT, False, True, True),
        (Workflow.ZAPSIGN_ONESHOT, True, True, False),
    ],
)
def test_a_workflow_knows_which_providers_it_uses(
    workflow: Workflow, zapsign: bool, oneshot: bool, client_images: bool
) -> None:
    # Given a workflow
    # When asked which providers it uses
    # Then it answers as docs/design.md describes it
    assert (workflow.uses_zapsign, workflow.uses_oneshot, workflow.client_sends_id_images) == (
        zapsign,
        oneshot,
        client_images,
    )


def test_one_shot_id_document_types_are_one_shots_list() -> None:
    # Given One-Shot's id_document_type list (docs/providers/oneshot.md §5.3)
    # When the enum is listed
    # Then it is that list, in order
    assert [kind.value for kind in IdDocumentType] == ["IDC", "PAS", "PNO", "TIN", "CI", "CE"]


def test_stored_models_ignore_attributes_they_do_not_know() -> None:
    # Given a request item written by a newer version, with an attribute this one does not know
    request, _, _ = new_request(now=NOW)
    item = request.model_dump(mode="json") | {"added_by_a_later_release": True, "pk": "REQUEST#x"}
    # When it is read
    read = SignatureRequest.model_validate(item)
    # Then it loads, without the unknown attribute
    assert read == request


def test_a_document_reads_signer_keyed_maps_from_string_keys() -> None:
    # Given a document item as DynamoDB returns it (map keys are strings)
    item = {
        "index": 0,
        "name": "a.pdf",
        "status": "oneshot_uploaded",
        "status_since": "2025-01-31T09:05:00.000000Z",
        "oneshot_document_uids": {"1": "604b889f-6b3a-4af7-a24a-b5e610e7f7c1"},
        "signed_keys": {"zapsign": "signed/r/000/zapsign.pdf"},
    }
    # When it is read
    document = Document.model_validate(item)
    # Then the signer index is an int again
    assert document.oneshot_document_uids == {1: "604b889f-6b3a-4af7-a24a-b5e610e7f7c1"}


def test_personal_data_is_not_in_repr() -> None:
    # Given a signer with personal data, stored and as input
    _, _, signers = new_request(now=NOW)
    signer = signers[0].model_copy(update={"sign_url": "https://app.zapsign.com.br/verificar/secret-token"})
    given = SignerInput(
        name="Ana Souza", email="ana@example.com", phone="+34600111222", id_number="12345678Z", given_name="Ana"
    )
    # When they are printed (a log line, a traceback)
    printed = repr(signer) + str(signer) + repr(given)
    # Then no personal data and no signing link appears
    for secret in ("Ana", "Souza", "example.com", "600111222", "12345678Z", "secret-token", "Signer 0"):
        assert secret not in printed


def test_an_aggregate_finds_its_parts_by_index() -> None:
    # Given an aggregate with two documents and two signers
    # When a part is asked for by index
    # Then that part comes back
    request, documents, signers = new_request(documents=2, signers=2, now=NOW)
    aggregate = RequestAggregate(request=request, documents=tuple(documents), signers=tuple(signers), timeline=())
    assert aggregate.document(1).name == "document-1.pdf"
    assert aggregate.signer(1).email == "signer1@example.com"


def test_a_timeline_entry_of_the_creation_has_no_from_status() -> None:
    # Given the timeline entry that records a creation
    # When it is read
    # Then it has no from_status and concerns the request
    entry = TimelineEntry.model_validate(
        {"id": "e1", "at": NOW, "from_status": None, "to_status": "submitted", "cause": "api", "correlation_id": "c"}
    )
    assert entry.subject is TimelineSubject.REQUEST
    assert entry.subject_index is None


def test_the_one_shot_stage_name_is_the_one_in_signed_keys() -> None:
    # Given the stage name for signer 2
    # Then it is the name the S3 key builder documents
    assert keys.signed_key("r1", 0, oneshot_stage(2)) == "signed/r1/000/oneshot-2.pdf"


def test_a_stored_signer_is_tolerant_of_what_providers_filled_in() -> None:
    # Given a signer item whose id document type was never set (a ZapSign-only signer)
    signer = Signer.model_validate(
        {"index": 0, "name": "Ana", "status": "pending", "status_since": NOW, "phone": "11 99999-9999"}
    )
    # Then it loads: stored data is not re-validated with the input rules
    assert signer.id_document_type is None


# ------------------------------------------------------------------------------------------------ envelope


def test_the_deduplication_key_names_request_op_signer_document_generation() -> None:
    # Given a message for one document of one signer
    # When its deduplication key is built
    # Then it names request, op, signer, document and generation
    message = OperationMessage(op="upload_document", request_id="r1", signer=0, document=2, correlation_id="c1")
    assert message.deduplication_key() == "r1:upload_document:0:2:0"


def test_absent_parts_of_the_deduplication_key_are_dashes() -> None:
    # Given a message for the whole request
    # When its deduplication key is built
    # Then the absent parts are dashes
    message = OperationMessage(op="create_zapsign_doc", request_id="r1", correlation_id="c1", generation=3)
    assert message.deduplication_key() == "r1:create_zapsign_doc:-:-:3"


def test_the_envelope_round_trips_and_is_versioned() -> None:
    # Given a message with a payload
    # When it is written as a queue body and read back
    # Then it is the same message, with its envelope version
    message = OperationMessage(op="send_otp", request_id="r1", signer=1, correlation_id="c1", payload={"k": [1, 2]})
    body = message.to_body()
    assert OperationMessage.from_body(body) == message
    assert '"version":1' in body


@pytest.mark.parametrize(
    "body",
    [
        '{"version": 2, "op": "x", "request_id": "r", "correlation_id": "c"}',
        '{"version": 1, "op": "Bad Op", "request_id": "r", "correlation_id": "c"}',
        '{"version": 1, "op": "x", "request_id": "r", "correlation_id": "c", "surprise": 1}',
        '{"version": 1, "op": "x", "request_id": "r"}',
    ],
)
def test_an_envelope_that_is_not_version_1_or_is_malformed_is_refused(body: str) -> None:
    # Given a body of another version, or malformed
    # When it is read
    # Then it is refused
    with pytest.raises(ValidationError):
        OperationMessage.from_body(body)
