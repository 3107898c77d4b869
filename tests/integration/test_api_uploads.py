"""`POST /v1/requests/{request_id}/documents/{document}/upload`: a new upload link for a declared document of a
draft (after a rejected upload, or an expired link), through the real `api` handler against moto."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from signbridge.domain import keys
from signbridge.domain.models import Cause, DocumentStatus, RequestStatus, Workflow
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step
from tests.support.api import ApiClient
from tests.support.samples import PDF_BYTES, create_body, document_body

D = DocumentStatus
R = RequestStatus
PROBLEM = "application/problem+json"


def draft(api_client: ApiClient, *, inline_first: bool = False) -> dict[str, Any]:
    """A zapsign draft whose documents 0 and 1 are declared for upload (document 0 inline with `inline_first`)."""
    body = create_body(Workflow.ZAPSIGN, documents=[document_body(inline=inline_first), document_body(inline=False)])
    answer = api_client.create(body)
    assert answer.status == 201, answer.body
    assert answer.body["status"] == "draft"
    return answer.body


def reject(services: Services, request_id: str, index: int) -> None:
    """Document `index` rejected as the intake rejects a bad upload (the request stays a draft)."""
    step = Step.read(services, request_id, cause=Cause.INTAKE, correlation_id="test-intake")
    step.move_document(
        index,
        D.REJECTED,
        detail=f"document {index} 'x.pdf' rejected: not a PDF",
        updates={"rejection_reason": f"document {index} 'x.pdf' rejected: not a PDF"},
        while_request=R.DRAFT,
    )


@pytest.fixture
def services(zapsign_services: Services) -> Services:
    return zapsign_services


def test_a_rejected_document_gets_a_new_link_and_awaits_its_upload_again(
    api_client: ApiClient, services: Services
) -> None:
    # Given a draft whose document 1 was rejected
    created = draft(api_client, inline_first=True)
    request_id = created["id"]
    reject(services, request_id, 1)
    before = services.records.get_request(request_id)

    # When the client asks for a new link for it
    answer = api_client.upload_again(request_id, 1)

    # Then 200 with the request, the document back to awaiting_upload (the reason cleared) and one fresh presigned
    # POST for its incoming/ key
    assert answer.status == 200, answer.body
    body = answer.body
    assert body["status"] == "draft"
    assert body["documents"][1]["status"] == "awaiting_upload"
    assert body["documents"][1]["rejection_reason"] is None
    (upload,) = body["uploads"]
    assert upload["document"] == 1
    assert upload["fields"]["key"] == keys.incoming_key(request_id, 1)
    # and the timeline has one entry more, saying so
    after = services.records.get_request(request_id)
    assert len(after.timeline) == len(before.timeline) + 1
    assert after.timeline[-1].detail == "document 1 may be uploaded again"
    assert after.timeline[-1].cause is Cause.API
    # and the link works: S3 takes a PDF posted with it
    posted = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("x.pdf", PDF_BYTES, "application/pdf")}, timeout=10
    )
    assert posted.status_code in (200, 201, 204), posted.text


def test_asking_again_gives_another_link_and_changes_nothing(api_client: ApiClient, services: Services) -> None:
    # Given a draft whose document 0 was rejected and then reopened
    request_id = draft(api_client)["id"]
    reject(services, request_id, 0)
    assert api_client.upload_again(request_id, 0).status == 200
    reopened = services.records.get_request(request_id)

    # When the client asks again (a retry), and for document 1, which never arrived
    again = api_client.upload_again(request_id, 0)
    never_arrived = api_client.upload_again(request_id, 1)

    # Then both answer 200 with a link for that document, and nothing is written
    assert (again.status, never_arrived.status) == (200, 200)
    assert [upload["document"] for upload in again.body["uploads"]] == [0]
    assert [upload["document"] for upload in never_arrived.body["uploads"]] == [1]
    assert services.records.get_request(request_id) == reopened


def test_a_received_document_or_a_request_past_draft_is_a_409(api_client: ApiClient, services: Services) -> None:
    # Given a draft whose document 0 came inline (received)
    request_id = draft(api_client, inline_first=True)["id"]
    before = services.records.get_request(request_id)

    # When the client asks for a link for it, Then 409 upload-closed, and nothing changes
    answer = api_client.upload_again(request_id, 0)
    assert answer.status == 409, answer.body
    assert answer.content_type == PROBLEM
    assert answer.body["type"].endswith("/upload-closed")
    assert "accepted" in answer.body["detail"]
    assert services.records.get_request(request_id) == before

    # Given the request cancelled
    assert api_client.cancel(request_id).status == 200

    # When the client asks for a link for the document still awaited, Then 409 too
    closed = api_client.upload_again(request_id, 1)
    assert closed.status == 409, closed.body
    assert closed.body["type"].endswith("/upload-closed")
    assert "cancelled" in closed.body["detail"]


def test_unknown_requests_and_documents_are_404_and_out_of_range_indexes_422(api_client: ApiClient) -> None:
    request_id = draft(api_client)["id"]

    unknown_request = api_client.upload_again("0" * 32, 0)
    unknown_document = api_client.upload_again(request_id, 5)
    out_of_range = api_client.request(
        "POST",
        "/v1/requests/{request_id}/documents/{document}/upload",
        path_parameters={"request_id": request_id, "document": "15"},
    )

    assert (unknown_request.status, unknown_request.body["type"].rsplit("/", 1)[-1]) == (404, "request-not-found")
    assert (unknown_document.status, unknown_document.body["type"].rsplit("/", 1)[-1]) == (404, "document-not-found")
    assert out_of_range.status == 422
    assert json.loads(out_of_range.raw_body)["errors"][0]["field"] == "document"
