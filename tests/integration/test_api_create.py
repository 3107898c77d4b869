"""`POST /v1/requests` through the real `api` handler, against moto: what is stored, queued and answered."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from signbridge import env_names
from signbridge.config import Settings, get_settings, reset_settings_cache
from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import IdImageKind, Workflow
from signbridge.domain.operations import Op
from signbridge.handlers import api
from signbridge.handlers.api.bodies import CreateRequestBody
from signbridge.storage import clients
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.records import RecordStore
from signbridge.wiring import AwsServices
from tests.support.api import ApiClient, api_event
from tests.support.samples import GIF_BYTES, JPEG_BYTES, PDF_BYTES, PNG_BYTES, b64, create_body, document_body

PROBLEM = "application/problem+json"
Queued = Callable[[str], list[OperationMessage]]


def problem_type(slug: str) -> str:
    return f"https://signbridge.dev/problems/{slug}"


def field_errors(answer: Any) -> dict[str, str]:
    return {error["field"]: error["type"] for error in answer.body["errors"]}


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[Any]:
    """Change the deployment's size limits for one test: `limits(max_inline_bytes=…, max_file_bytes=…)`."""

    def apply(**values: int) -> Settings:
        names = {"max_inline_bytes": env_names.MAX_INLINE_BYTES, "max_file_bytes": env_names.MAX_FILE_BYTES}
        for name, value in values.items():
            monkeypatch.setenv(names[name], str(value))
        reset_settings_cache()
        return get_settings()

    yield apply
    reset_settings_cache()


# ------------------------------------------------------------------------------------------------ inline


@pytest.mark.parametrize(
    ("workflow", "expected"),
    [
        (Workflow.ZAPSIGN, ("submitted", Op.CREATE_ZAPSIGN_DOCUMENT, "zapsign")),
        (Workflow.ZAPSIGN_ONESHOT, ("submitted", Op.CREATE_ZAPSIGN_DOCUMENT, "zapsign")),
        # The planner moves a `oneshot` request on at once: its first step is the first signer's One-Shot request.
        (Workflow.ONESHOT, ("oneshot_pending", Op.CREATE_ONESHOT_REQUEST, "oneshot")),
    ],
)
def test_an_inline_request_is_stored_answered_201_and_its_first_step_queued(
    api_client: ApiClient, queued: Queued, file_store: FileStore, workflow: Workflow, expected: tuple[str, Op, str]
) -> None:
    status, op, queue = expected
    # Given a valid body with every document inline
    body = create_body(workflow)

    # When the client creates the request
    answer = api_client.create(body)

    # Then the answer is 201 with the request, where it stands and where to find it
    assert answer.status == 201, answer.body
    created = answer.body
    assert answer.headers["location"] == f"/v1/requests/{created['id']}"
    assert created["workflow"] == workflow.value
    assert created["status"] == status
    assert created["version"] >= 1
    assert created["uploads"] == []
    assert created["external_id"] == "order-42"
    assert created["metadata"] == {"department": "sales"}
    assert created["timeline"][0]["to"] == "submitted"
    assert all(entry["cause"] == "api" for entry in created["timeline"])
    # and the original is in S3, with the sha256 the answer gives
    (document,) = created["documents"]
    assert document["status"] == "received"
    assert document["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
    assert document["size"] == len(PDF_BYTES)
    stored = file_store.head(keys.original_key(created["id"], 0))
    assert stored.sha256 == document["sha256"]
    # and the first step waits on its provider's queue (and nothing on the other one)
    other = "oneshot" if queue == "zapsign" else "zapsign"
    (message,) = queued(queue)
    assert queued(other) == []
    assert message.op == op.value
    assert message.request_id == created["id"]
    assert message.correlation_id == created["timeline"][0]["correlation_id"]


def test_a_oneshot_request_keeps_the_id_images_as_evidence_and_its_signature_appearance(
    api_client: ApiClient, record_store: RecordStore, file_store: FileStore
) -> None:
    # Given a oneshot body with ID images (JPEG front and rear, PNG selfie) and a visible signature
    appearance = {
        "text": ["Firmado digitalmente"],
        "date_format": "%d/%m/%Y %H:%M",
        "timezone": "Europe/Madrid",
        "position": {"x1": 350, "y1": 60, "x2": 550, "y2": 120},
        "page": 0,
    }
    body = create_body(Workflow.ONESHOT, signature_appearance=appearance)

    # When the client creates it
    answer = api_client.create(body)

    # Then each image is in S3 under evidence/, with the extension and type of what it is
    assert answer.status == 201, answer.body
    request_id = answer.body["id"]
    signer = record_store.get_request(request_id).signer(0)
    assert signer.evidence_keys == {
        IdImageKind.DOCUMENT_FRONT: keys.evidence_key(request_id, 0, "document_front", "jpg"),
        IdImageKind.DOCUMENT_REAR: keys.evidence_key(request_id, 0, "document_rear", "jpg"),
        IdImageKind.DOCUMENT_OWNER: keys.evidence_key(request_id, 0, "document_owner", "png"),
    }
    with file_store.open_stream(signer.evidence_keys[IdImageKind.DOCUMENT_OWNER]) as stream:
        assert stream.read() == PNG_BYTES
        assert stream.content_type == "image/png"
    assert file_store.head(signer.evidence_keys[IdImageKind.DOCUMENT_FRONT]).content_type == "image/jpeg"
    # and the identity data the One-Shot request needs is stored with the signer
    assert (signer.given_name, signer.first_surname, signer.id_number, signer.phone) == (
        "Ana",
        "Souza",
        "12345678Z",
        "+34600111222",
    )
    # and the visible signature is stored for the sign call, and shown back
    stored = record_store.get_request(request_id).request.signature_appearance
    assert stored == {**appearance, "position": {"x1": 350.0, "y1": 60.0, "x2": 550.0, "y2": 120.0}}
    assert answer.body["signature_appearance"] == stored
    # and the answer shows no phone, ID number or images
    assert "+34600111222" not in answer.raw_body
    assert "12345678Z" not in answer.raw_body
    assert b64(JPEG_BYTES) not in answer.raw_body


# ------------------------------------------------------------------------------------------------ uploads


def test_declared_documents_make_a_draft_with_presigned_posts_that_upload_to_s3(
    api_client: ApiClient, queued: Queued, file_store: FileStore, settings: Settings
) -> None:
    # Given a body declaring two documents for upload, the first with its exact size and sha256
    body = create_body(
        Workflow.ZAPSIGN,
        documents=[
            document_body(inline=False, size=len(PDF_BYTES), sha256=hashlib.sha256(PDF_BYTES).hexdigest()),
            document_body(inline=False, name="Anexo.pdf"),
        ],
    )

    # When the client creates the request
    answer = api_client.create(body)

    # Then it is a draft awaiting two uploads, and nothing is queued yet
    assert answer.status == 201, answer.body
    created = answer.body
    assert created["status"] == "draft"
    assert [document["status"] for document in created["documents"]] == ["awaiting_upload", "awaiting_upload"]
    assert queued("zapsign") == []
    assert queued("oneshot") == []
    # and each upload is a presigned POST for its incoming/ key, limited to the declared size or the file cap
    uploads = {upload["document"]: upload for upload in created["uploads"]}
    assert sorted(uploads) == [0, 1]
    for index, upload in uploads.items():
        assert upload["fields"]["key"] == keys.incoming_key(created["id"], index)
        policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
        assert ["content-length-range", *([len(PDF_BYTES)] * 2 if index == 0 else [1, settings.max_file_bytes])] in (
            policy["conditions"]
        )
    assert uploads[0]["max_bytes"] == len(PDF_BYTES)
    # and posting the file with the given fields stores it where the intake expects it
    upload = uploads[0]
    response = requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("contract.pdf", PDF_BYTES, "application/pdf")},
        timeout=10,
    )
    assert response.status_code in (200, 201, 204), response.text
    with file_store.open_stream(keys.incoming_key(created["id"], 0)) as stream:
        assert stream.read() == PDF_BYTES


# ------------------------------------------------------------------------------------------------ idempotency


def test_the_same_idempotency_key_and_body_answer_the_same_request_once(
    api_client: ApiClient, record_store: RecordStore, queued: Queued
) -> None:
    # Given a request created with an Idempotency-Key
    body = create_body(Workflow.ZAPSIGN, external_id="idem-1")
    first = api_client.create(body, headers={"Idempotency-Key": "b2c4-retry"})
    assert first.status == 201

    # When the client sends the same body with the same key again (a retry after a timeout)
    again = api_client.create(body, headers={"Idempotency-Key": "b2c4-retry"})

    # Then it gets the same 201 answer, marked as a replay, and no second request exists or is queued
    assert again.status == 201
    assert again.body["id"] == first.body["id"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert [item.id for item in record_store.list_by_external_id("idem-1").items] == [first.body["id"]]
    assert [message.op for message in queued("zapsign")] == [Op.CREATE_ZAPSIGN_DOCUMENT.value]


def test_a_replayed_create_gives_fresh_upload_links_for_documents_still_awaited(api_client: ApiClient) -> None:
    # Given a draft created with an Idempotency-Key
    body = create_body(Workflow.ZAPSIGN, documents=[document_body(inline=False)])
    first = api_client.create(body, headers={"Idempotency-Key": "upload-retry"})

    # When the same create is replayed
    again = api_client.create(body, headers={"Idempotency-Key": "upload-retry"})

    # Then the upload is offered again, for the same key
    assert again.status == 201
    assert [upload["fields"]["key"] for upload in again.body["uploads"]] == [
        upload["fields"]["key"] for upload in first.body["uploads"]
    ]


def test_the_same_idempotency_key_with_another_body_is_a_409(api_client: ApiClient, record_store: RecordStore) -> None:
    # Given a request created with an Idempotency-Key
    assert api_client.create(create_body(Workflow.ZAPSIGN), headers={"Idempotency-Key": "k-1"}).status == 201

    # When the key is used again with a different body
    answer = api_client.create(create_body(Workflow.ZAPSIGN, external_id="another"), headers={"Idempotency-Key": "k-1"})

    # Then the answer is a 409 problem and nothing new is stored
    assert answer.status == 409
    assert answer.content_type == PROBLEM
    assert answer.body["type"] == problem_type("idempotency-key-reused")
    assert record_store.list_by_external_id("another").items == ()


def test_a_create_in_progress_with_the_same_key_is_a_409_with_retry_after(
    api_client: ApiClient, idempotency_store: IdempotencyStore
) -> None:
    # Given an attempt with this key and body that is still running (its claim is held)
    body = create_body(Workflow.ZAPSIGN)
    idempotency_store.claim("create_request", "busy-key", CreateRequestBody.model_validate(body))

    # When the client sends it again
    answer = api_client.create(body, headers={"Idempotency-Key": "busy-key"})

    # Then it is told to come back later
    assert answer.status == 409
    assert answer.body["type"] == problem_type("idempotency-in-progress")
    assert 1 <= int(answer.headers["retry-after"]) <= 120


def test_a_retry_after_a_crash_finishes_the_same_request_instead_of_creating_another(
    api_client: ApiClient,
    settings: Settings,
    record_store: RecordStore,
    queued: Queued,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given services whose idempotency claims expire at once (a crashed attempt's lease has run out), and a first
    # attempt that wrote the request but died before recording its answer
    services = AwsServices.from_settings(settings)
    services.idempotency = IdempotencyStore(
        table_name=settings.table_name, client=clients.dynamodb_client(), default_lease=timedelta(seconds=-5)
    )
    monkeypatch.setattr(api, "get_services", lambda: services)

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("the Lambda timed out")

    body = create_body(Workflow.ZAPSIGN, external_id="crashed-once")
    with monkeypatch.context() as patch:
        patch.setattr(services.idempotency, "complete", crash)
        assert api_client.create(body, headers={"Idempotency-Key": "crash-key"}).status == 500
    (written,) = record_store.list_by_external_id("crashed-once").items

    # When the client retries with the same key and body
    answer = api_client.create(body, headers={"Idempotency-Key": "crash-key"})

    # Then it gets that same request, and still only one exists and one first step is queued
    assert answer.status == 201, answer.body
    assert answer.body["id"] == written.id
    assert [item.id for item in record_store.list_by_external_id("crashed-once").items] == [written.id]
    assert len(queued("zapsign")) == 1
    # and a third call is a plain replay
    assert api_client.create(body, headers={"Idempotency-Key": "crash-key"}).headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("key", ["has space", "x" * 129, "ñandú"])
def test_an_idempotency_key_that_is_not_1_to_128_visible_ascii_characters_is_a_422(
    api_client: ApiClient, key: str
) -> None:
    answer = api_client.create(create_body(Workflow.ZAPSIGN), headers={"Idempotency-Key": key})

    assert answer.status == 422
    (error,) = answer.body["errors"]
    assert (error["field"], error["in"]) == ("Idempotency-Key", "header")


# ------------------------------------------------------------------------------------------------ validation


def _oneshot_without_phone() -> dict[str, Any]:
    body = create_body(Workflow.ONESHOT)
    del body["signers"][0]["phone"]
    return body


@pytest.mark.parametrize(
    "case",
    [
        (_oneshot_without_phone(), "signers.0.phone", "workflow_requirement"),
        (
            create_body(Workflow.ZAPSIGN, signers=[{"name": "Ana Souza", "email": "ana@@example"}]),
            "signers.0.email",
            "email",
        ),
        (create_body(Workflow.ZAPSIGN, priority="high"), "priority", "extra_forbidden"),
        (
            create_body(Workflow.ZAPSIGN, signers=[{"name": "Ana Souza", "nickname": "Aninha"}]),
            "signers.0.nickname",
            "extra_forbidden",
        ),
        (
            create_body(
                Workflow.ONESHOT,
                signers=[{**create_body(Workflow.ONESHOT)["signers"][0], "id_document_country": "XX"}],
            ),
            "signers.0.id_document_country",
            "country_code",
        ),
        (
            create_body(Workflow.ZAPSIGN, documents=[document_body(), document_body(content_base64=b64(GIF_BYTES))]),
            "documents.1.content_base64",
            "pdf",
        ),
        (
            create_body(Workflow.ZAPSIGN, signature_appearance={"page": 0}),
            "signature_appearance",
            "workflow_requirement",
        ),
        (create_body(Workflow.ZAPSIGN) | {"workflow": "docusign"}, "workflow", "enum"),
    ],
    ids=[
        "oneshot-without-phone",
        "bad-email",
        "unknown-field",
        "unknown-signer-field",
        "bad-country",
        "non-pdf-document",
        "appearance-for-zapsign",
        "unknown-workflow",
    ],
)
def test_an_invalid_body_is_a_422_naming_the_field_and_stores_nothing(
    api_client: ApiClient, bucket_keys: Callable[[], list[str]], record_store: RecordStore, case: tuple[Any, str, str]
) -> None:
    body, field, error_type = case
    # When the client sends a body with one mistake
    answer = api_client.create(body)

    # Then the answer is a 422 problem that names the field and what was expected, without echoing the input
    assert answer.status == 422, answer.body
    assert answer.content_type == PROBLEM
    assert answer.body["type"] == problem_type("validation-error")
    assert answer.body["status"] == 422
    assert field_errors(answer) == {field: error_type}
    assert field in answer.body["detail"]
    assert all(set(error) == {"field", "message", "in", "type"} for error in answer.body["errors"])
    # and nothing was stored
    assert record_store.list_by_external_id("order-42").items == ()
    assert bucket_keys() == []


def test_malformed_json_is_a_400_that_says_so(api_client: ApiClient) -> None:
    answer = api_client.request("POST", "/v1/requests", raw_body='{"workflow": "zapsign",')

    assert answer.status == 400
    assert answer.content_type == PROBLEM
    assert answer.body["type"] == problem_type("malformed-json")
    assert "not valid JSON" in answer.body["detail"]


def test_a_body_that_is_not_json_is_a_415(api_client: ApiClient) -> None:
    event = api_event("POST", "/v1/requests", body=create_body(Workflow.ZAPSIGN))
    event["headers"]["content-type"] = "text/plain"

    answer = api_client.call(event)

    assert answer.status == 415
    assert answer.body["type"] == problem_type("unsupported-media-type")


# ------------------------------------------------------------------------------------------------ sizes


def test_a_body_far_over_the_inline_cap_is_a_413_before_it_is_parsed(api_client: ApiClient, limits: Any) -> None:
    # Given a deployment that takes 1 KiB of inline content
    limits(max_inline_bytes=1024)

    # When the client sends a body far larger than that could need (and not even JSON)
    answer = api_client.request("POST", "/v1/requests", raw_body="x" * (400 * 1024))

    # Then it is refused as too large, not as malformed: nothing parsed it
    assert answer.status == 413
    assert answer.content_type == PROBLEM
    assert answer.body["type"] == problem_type("payload-too-large")
    assert answer.body["instance"] == "/v1/requests"


def test_inline_content_over_the_cap_once_decoded_is_a_413(
    api_client: ApiClient, limits: Any, record_store: RecordStore
) -> None:
    # Given a deployment that takes 1 KiB of inline content, and a 2 KiB document
    limits(max_inline_bytes=1024)
    large = PDF_BYTES + b"%" + b"0" * 2048

    # When the client sends it inline
    answer = api_client.create(create_body(Workflow.ZAPSIGN, documents=[document_body(content_base64=b64(large))]))

    # Then it is told to upload it instead, and nothing is stored
    assert answer.status == 413
    assert "declare" in answer.body["detail"]
    assert record_store.list_by_external_id("order-42").items == ()


def test_a_document_over_the_file_cap_is_refused_inline_413_or_declared_422(api_client: ApiClient, limits: Any) -> None:
    # Given a deployment whose files may have at most 100 bytes
    limits(max_file_bytes=100)
    large = PDF_BYTES + b"0" * 100

    # When a larger document is sent inline, or declared with a larger size
    inline = api_client.create(create_body(Workflow.ZAPSIGN, documents=[document_body(content_base64=b64(large))]))
    declared = api_client.create(
        create_body(Workflow.ZAPSIGN, documents=[document_body(), document_body(inline=False, size=101)])
    )

    # Then the inline one is too large, and the declared one names its size field
    assert inline.status == 413
    assert "documents.0" in inline.body["detail"]
    assert declared.status == 422
    assert field_errors(declared) == {"documents.1.size": "limit"}


# ------------------------------------------------------------------------------------------------ personal data


def test_no_log_line_of_a_create_carries_the_signers_personal_data(
    api_client: ApiClient, captured_logs: list[str]
) -> None:
    # Given signers with distinctive personal data, in a workflow that stores all of it
    signer = create_body(Workflow.ONESHOT)["signers"][0] | {
        "name": "Zulmira Quintanilha",
        "given_name": "Zulmira",
        "first_surname": "Quintanilha",
        "second_surname": "Vasconcelos",
        "email": "zulmira.q@example.org",
        "phone": "+34600987654",
        "id_number": "X9876543Q",
    }
    body = create_body(Workflow.ONESHOT, signers=[signer])
    invalid = create_body(Workflow.ONESHOT, signers=[{**signer, "id_document_country": "XX"}])

    # When the client creates a request, and sends an invalid one
    assert api_client.create(body).status == 201
    assert api_client.create(invalid).status == 422

    # Then the calls were logged, and no line carries a name, email, phone, ID number or image
    text = "\n".join(captured_logs)
    assert "answered" in text
    assert "request created" in text
    for secret in (
        "Zulmira",
        "Quintanilha",
        "Vasconcelos",
        "zulmira.q@example.org",
        "+34600987654",
        "34600987654",
        "X9876543Q",
        b64(JPEG_BYTES)[:16],
    ):
        assert secret not in text, secret
