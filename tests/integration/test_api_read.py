"""`GET /v1/requests/{id}` and `GET /v1/requests` through the real `api` handler, against moto."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests

from signbridge.config import Settings
from signbridge.domain import keys
from signbridge.domain.changes import DocumentChange, SignerChange
from signbridge.domain.models import Cause, DocumentStatus, RequestStatus, Workflow
from signbridge.handlers import api
from signbridge.storage import clients
from signbridge.storage.files import FileStore
from signbridge.storage.records import RecordStore
from signbridge.wiring import AwsServices
from tests.support.api import ApiClient
from tests.support.samples import PDF_BYTES, create_body, new_request

SIGNED_BYTES = PDF_BYTES.replace(b"trailer", b"%signed\ntrailer")


def download(url: str) -> bytes:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return response.content


# ------------------------------------------------------------------------------------------------ one request


def test_the_view_has_download_links_for_every_stored_version(
    api_client: ApiClient, record_store: RecordStore, file_store: FileStore, settings: Settings
) -> None:
    # Given a created request whose document has been signed at ZapSign and archived
    created = api_client.create(create_body(Workflow.ZAPSIGN)).body
    request_id = created["id"]
    signed_key = keys.signed_key(request_id, 0, "zapsign")
    stored = file_store.store_bytes(signed_key, SIGNED_BYTES, expect_pdf=True, max_bytes=10_000)
    record_store.update_part(
        record_store.get_request(request_id),
        DocumentChange(
            0,
            DocumentStatus.RECEIVED,
            updates={
                "signed_keys": {"zapsign": signed_key},
                "final_key": signed_key,
                "signed_sha256": {"zapsign": stored.sha256},
            },
        ),
    )

    # When the client reads the request
    before = datetime.now(UTC)
    answer = api_client.get(request_id)

    # Then it sees the original, the ZapSign-signed and the final version, each a link that downloads it from S3
    assert answer.status == 200, answer.body
    (document,) = answer.body["documents"]
    assert sorted(document["files"]) == ["final", "original", "zapsign"]
    assert download(document["files"]["original"]["url"]) == PDF_BYTES
    assert download(document["files"]["zapsign"]["url"]) == SIGNED_BYTES
    assert download(document["files"]["final"]["url"]) == SIGNED_BYTES
    assert document["files"]["original"]["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
    assert document["files"]["final"]["sha256"] == hashlib.sha256(SIGNED_BYTES).hexdigest()
    # and the links are short-lived: they expire after the configured lifetime
    for link in document["files"].values():
        expires_at = datetime.fromisoformat(link["expires_at"])
        lifetime = expires_at - before
        assert (
            timedelta(seconds=settings.presign_ttl_seconds - 5)
            < lifetime
            <= timedelta(seconds=settings.presign_ttl_seconds + 5)
        )
        assert f"X-Amz-Expires={settings.presign_ttl_seconds}" in link["url"]
    # and the rest of the view is there
    assert answer.body["id"] == request_id
    assert answer.body["status"] == "submitted"
    assert answer.body["signers"][0]["name"] == "Ana Souza"
    assert answer.body["signers"][0]["status"] == "pending"
    assert answer.body["timeline"][0] == {
        "at": answer.body["created_at"],
        "subject": "request",
        "index": None,
        "from": None,
        "to": "submitted",
        "cause": "api",
        "detail": "created by the client",
        "correlation_id": created["timeline"][0]["correlation_id"],
    }


def test_the_view_gives_the_zapsign_signing_link_and_the_one_shot_contract(
    api_client: ApiClient, record_store: RecordStore, file_store: FileStore
) -> None:
    # Given a request whose signer has a ZapSign link and a stored One-Shot contract
    request, documents, signers = new_request(Workflow.ZAPSIGN_ONESHOT)
    record_store.create_request(request, documents, signers, cause=Cause.API, correlation_id="test")
    contract_key = keys.contract_key(request.id, 0)
    file_store.store_bytes(contract_key, PDF_BYTES, expect_pdf=True, max_bytes=10_000)
    record_store.update_part(
        record_store.get_request(request.id),
        SignerChange(
            0,
            signers[0].status,
            updates={"sign_url": "https://app.zapsign.com.br/verificar/abc123", "contract_key": contract_key},
        ),
    )

    # When the client reads it
    signer = api_client.get(request.id).body["signers"][0]

    # Then it can hand the signing link over, and show the contract
    assert signer["sign_url"] == "https://app.zapsign.com.br/verificar/abc123"
    assert download(signer["contract"]["url"]) == PDF_BYTES
    # and never sees the phone or the ID number
    assert set(signer) >= {"index", "name", "email", "status", "sign_url", "otp_sent_at"}
    assert "phone" not in signer
    assert "id_number" not in signer


def test_reading_a_request_costs_one_dynamodb_query_and_no_s3_call(
    api_client: ApiClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a request, and services whose AWS calls are counted
    request_id = api_client.create(create_body(Workflow.ZAPSIGN)).body["id"]
    calls: Counter[str] = Counter()
    dynamodb, s3 = clients.dynamodb_client(), clients.s3_client()
    for client in (dynamodb, s3):
        client.meta.events.register("before-call.*.*", lambda model, **_: calls.update([model.name]))
    services = AwsServices.from_settings(settings)
    services.records = RecordStore.from_settings(settings, client=dynamodb)
    services.files = FileStore.from_settings(settings, client=s3)
    monkeypatch.setattr(api, "get_services", lambda: services)

    # When the client reads it
    assert api_client.get(request_id).status == 200

    # Then one Query read it all, and the links were signed locally
    assert calls == Counter({"Query": 1})


def test_an_unknown_request_is_a_404_problem(api_client: ApiClient) -> None:
    answer = api_client.get("0" * 32)

    assert answer.status == 404
    assert answer.content_type == "application/problem+json"
    assert answer.body["type"] == "https://signbridge.dev/problems/request-not-found"
    assert answer.body["title"]
    assert "0" * 32 in answer.body["detail"]
    assert answer.body["instance"] == f"/v1/requests/{'0' * 32}"
    assert answer.body["correlation_id"]


# ------------------------------------------------------------------------------------------------ listings


def _all_pages(api_client: ApiClient, **query: str) -> list[list[str]]:
    pages = []
    cursor: str | None = None
    while True:
        answer = api_client.list(**query, **({"cursor": cursor} if cursor else {}))
        assert answer.status == 200, answer.body
        pages.append([item["id"] for item in answer.body["items"]])
        cursor = answer.body["next_cursor"]
        if cursor is None:
            return pages


def test_requests_are_listed_by_external_id_page_by_page(api_client: ApiClient) -> None:
    # Given three requests for one external id, and one for another
    ids = {api_client.create(create_body(Workflow.ZAPSIGN, external_id="customer-7")).body["id"] for _ in range(3)}
    api_client.create(create_body(Workflow.ZAPSIGN, external_id="customer-8"))

    # When the client lists that external id two at a time
    pages = _all_pages(api_client, external_id="customer-7", limit="2")

    # Then it gets exactly those three, in pages of at most two, as summaries without links
    assert [len(page) for page in pages][:2] == [2, 1]
    assert {request_id for page in pages for request_id in page} == ids
    first = api_client.list(external_id="customer-7", limit="2").body["items"][0]
    assert first["external_id"] == "customer-7"
    assert "documents" not in first
    assert first["document_count"] == 1


def test_requests_are_listed_by_status(api_client: ApiClient, record_store: RecordStore) -> None:
    # Given two requests waiting at ZapSign and one completed
    waiting = set()
    for status in (RequestStatus.ZAPSIGN_PENDING, RequestStatus.ZAPSIGN_PENDING, RequestStatus.COMPLETED):
        request, documents, signers = new_request(status=status)
        record_store.create_request(request, documents, signers, cause=Cause.API, correlation_id="test")
        if status is RequestStatus.ZAPSIGN_PENDING:
            waiting.add(request.id)

    # When the client lists the requests waiting at ZapSign, one per page
    pages = _all_pages(api_client, status="zapsign_pending", limit="1")

    # Then it gets exactly those two
    assert {request_id for page in pages for request_id in page} == waiting
    assert all(len(page) <= 1 for page in pages)


@pytest.mark.parametrize(
    "query",
    [{}, {"external_id": "a", "status": "draft"}, {"limit": "5"}],
    ids=["no-filter", "two-filters", "only-limit"],
)
def test_a_listing_needs_exactly_one_filter(api_client: ApiClient, query: dict[str, str]) -> None:
    answer = api_client.list(**query)

    assert answer.status == 400
    assert answer.body["type"] == "https://signbridge.dev/problems/invalid-query"


@pytest.mark.parametrize(
    ("query", "field"),
    [({"status": "pending_forever"}, "status"), ({"external_id": "a", "limit": "0"}, "limit")],
)
def test_a_listing_with_an_invalid_parameter_is_a_422_naming_it(
    api_client: ApiClient, query: dict[str, str], field: str
) -> None:
    answer = api_client.list(**query)

    assert answer.status == 422
    (error,) = answer.body["errors"]
    assert (error["field"], error["in"]) == (field, "query")


def test_a_cursor_from_another_listing_is_a_400(api_client: ApiClient) -> None:
    # Given a cursor of the listing of one external id
    for _ in range(2):
        api_client.create(create_body(Workflow.ZAPSIGN, external_id="customer-9"))
    cursor = api_client.list(external_id="customer-9", limit="1").body["next_cursor"]
    assert cursor

    # When it is used to page through another external id's requests
    answer = api_client.list(external_id="customer-10", cursor=cursor)

    # Then it is refused
    assert answer.status == 400
    assert answer.body["type"] == "https://signbridge.dev/problems/invalid-cursor"
