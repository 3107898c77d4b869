"""The ZapSign simulator against `docs/providers/zapsign.md`: raw HTTP, so the tests see exactly what a client sees.

Shapes are compared with the contract's examples (`tests/fixtures/zapsign/`, `events/zapsign/`): every field of an
example must be present with the same JSON type (null matches anything), so a drift on either side shows.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from pypdf import PdfReader
from urllib3.util import SKIP_HEADER

from simulators.pdf import make_pdf
from simulators.zapsign.simulator import ZapSignSimulator
from tests.simulators.conftest_zapsign import (
    ZAPSIGN_OTHER_ENV_TOKEN,
    ZAPSIGN_TOKEN,
)
from tests.support.receiver import WebhookReceiver, wait_for

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "zapsign"
EVENTS = ROOT / "events" / "zapsign"
AUTH = {"Authorization": f"Bearer {ZAPSIGN_TOKEN}"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
PDF_B64 = base64.b64encode(make_pdf("Contrato")).decode()
UNKNOWN_TOKEN = "7b1c4b0e-0000-4000-8000-000000000000"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(example: object, actual: object, where: str = "$") -> None:
    """Every key of `example` is in `actual` with the same JSON type (a null on either side matches anything)."""
    if example is None or actual is None:
        return
    assert json_type(example) == json_type(actual), f"{where}: {json_type(actual)} instead of {json_type(example)}"
    if isinstance(example, dict):
        assert isinstance(actual, dict)
        missing = sorted(set(example) - set(actual))
        assert not missing, f"{where}: missing {missing}"
        for key, value in example.items():
            assert_same_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(example, list) and example and actual:
        assert isinstance(actual, list)
        assert_same_shape(example[0], actual[0], f"{where}[0]")


class Api:
    """Raw calls to the simulator's API with the right token."""

    def __init__(self, simulator: ZapSignSimulator) -> None:
        self.simulator = simulator
        self.base = simulator.api_base_url

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**AUTH, **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=5, **kwargs)

    def create(self, *signers: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body = {"name": "Contrato.pdf", "base64_pdf": PDF_B64, "signers": list(signers) or [{"name": "Ana"}]}
        response = self.call("POST", "docs/", json={**body, **fields})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def detail(self, token: str) -> dict[str, Any]:
        response = self.call("GET", f"docs/{token}/")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.simulator.base_url}/_sim/zapsign/{path}", timeout=5, **kwargs)

    def register(self, url: str, type: str = "", **fields: Any) -> int:
        response = self.call("POST", "user/company/webhook/", json={"url": url, "type": type, **fields})
        assert response.status_code == 200, response.text
        return int(response.json()["id"])


@pytest.fixture
def api(zapsign_simulator: ZapSignSimulator) -> Api:
    return Api(zapsign_simulator)


# -- contract shapes ------------------------------------------------------------------------------------------------


def test_create_answers_200_with_the_full_document_serializer(api: Api) -> None:
    document = api.create({"name": "João da Silva", "email": "joao@example.com"}, external_id="order-123")
    # the docs' short form and the full Detail shape (§3.1: a real capture shows the full serializer)
    assert_same_shape(load(FIXTURES / "create_document_response.json"), document)
    assert_same_shape(load(FIXTURES / "get_document_response.json"), document)
    assert document["status"] == "pending"
    assert document["signed_file"] is None
    assert document["created_through"] == "api"
    assert document["sandbox"] is True
    assert document["external_id"] == "order-123"
    for key in ("rejected_reason", "folder_token", "template", "signature_report", "tsa_country"):
        assert key in document
    assert isinstance(document["use_timestamp"], bool)
    assert isinstance(document["auto_reminder"], int)
    assert isinstance(document["metadata"], list)
    assert TIMESTAMP.match(document["created_at"])
    assert TIMESTAMP.match(document["last_update_at"])
    (signer,) = document["signers"]
    assert signer["status"] == "new"
    assert signer["sign_url"].endswith(f"/verificar/{signer['token']}")
    for key in ("document_photo_url", "document_verse_photo_url", "selfie_photo_url", "send_via", "cpf", "ip"):
        assert key in signer


def test_detail_matches_the_documented_example(api: Api) -> None:
    created = api.create()
    api.call("POST", f"docs/{created['token']}/upload-extra-doc/", json={"name": "Anexo", "base64_pdf": PDF_B64})
    assert_same_shape(load(FIXTURES / "get_document_response.json"), api.detail(created["token"]))


def test_extra_doc_answers_and_detail_match_the_documented_examples(api: Api) -> None:
    created = api.create()
    response = api.call("POST", f"docs/{created['token']}/upload-extra-doc/", json={"name": "A", "base64_pdf": PDF_B64})
    assert response.status_code == 200
    extra = response.json()
    assert_same_shape(load(FIXTURES / "add_extra_document_response.json"), extra)
    assert "parent_doc_token" not in extra
    detail = api.detail(extra["token"])
    assert_same_shape(load(FIXTURES / "get_extra_document_response.json"), detail)
    assert detail["parent_doc_token"] == created["token"]
    assert "signers" not in detail


def test_signer_detail_and_list_match_the_documented_examples(api: Api, zapsign_simulator: ZapSignSimulator) -> None:
    created = api.create({"name": "Ana"}, {"name": "Bruno"})
    zapsign_simulator.sign(created["signers"][0]["token"])
    signer = api.call("GET", f"signers/{created['signers'][0]['token']}/").json()
    example = load(FIXTURES / "get_signer_response.json")
    for detail_only in ("delegator", "signature_anchor_text", "rubrica_anchor_text"):
        example.pop(detail_only)  # only on the signer-detail page; the simulator does not model anchors
    assert_same_shape(example, signer)
    assert isinstance(signer["geo_latitude"], str)  # strings, as documented (§3.10)
    listing = api.call("GET", "docs/", params={"page": 1}).json()
    assert_same_shape(load(FIXTURES / "list_documents_response.json"), listing)
    assert listing["count"] == 1


def test_refuse_answer_matches_the_documented_example(api: Api) -> None:
    created = api.create()
    response = api.call("POST", "refuse/", json={"doc_token": created["token"], "rejected_reason": "x"})
    assert response.status_code == 200
    assert response.json() == load(FIXTURES / "refuse_response.json")


# -- authentication and rate limit ---------------------------------------------------------------------------------


def test_authentication(api: Api, zapsign_simulator: ZapSignSimulator) -> None:
    url = f"{api.base}docs/"
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401
    assert set(missing.json()) == {"detail"}
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401
    other_env = requests.get(url, headers={"Authorization": f"Bearer {ZAPSIGN_OTHER_ENV_TOKEN}"}, timeout=5)
    assert other_env.status_code == 403
    legacy = requests.get(url, params={"api_token": ZAPSIGN_TOKEN}, timeout=5)
    assert legacy.status_code == 200
    zapsign_simulator.config.payment_required = True
    assert requests.get(url, headers=AUTH, timeout=5).status_code == 402


def test_rate_limit_fixed_window_429_without_headers(api: Api, zapsign_simulator: ZapSignSimulator) -> None:
    zapsign_simulator.config.rate_limit_per_minute = 2
    statuses = [api.call("GET", "docs/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    throttled = api.call("GET", "docs/")
    assert throttled.status_code == 429
    assert "Retry-After" not in throttled.headers
    assert not any(name.lower().startswith("x-ratelimit") for name in throttled.headers)
    zapsign_simulator.advance_clock(60)
    assert api.call("GET", "docs/").status_code == 200


def test_paths_answer_with_and_without_the_trailing_slash(api: Api) -> None:
    created = api.create()
    assert api.call("GET", f"docs/{created['token']}").status_code == 200
    assert api.call("GET", f"docs/{created['token']}/").status_code == 200
    response = api.call("POST", "docs", json={"name": "x", "base64_pdf": PDF_B64, "signers": [{"name": "A"}]})
    assert response.status_code == 200


# -- create validation ------------------------------------------------------------------------------------------------


def body_with(**changes: Any) -> dict[str, Any]:
    """A valid create body with `changes` applied (a None value removes the field)."""
    body = {"name": "x", "base64_pdf": PDF_B64, "signers": [{"name": "A"}], **changes}
    return {key: value for key, value in body.items() if value is not None}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (body_with(name=None), 400, "name"),
        (body_with(signers=None), 400, "signers"),
        (body_with(signers=[]), 400, "signers"),
        (body_with(signers=[{"email": "a@b.c"}]), 400, "signers"),
        (body_with(base64_pdf=None), 400, "detail"),
        (body_with(url_pdf="http://127.0.0.1/x.pdf"), 400, "detail"),
        (body_with(base64_pdf=f"data:application/pdf;base64,{PDF_B64}"), 400, "base64_pdf"),
        (body_with(base64_pdf="not base64!"), 400, "base64_pdf"),
        (body_with(base64_pdf=base64.b64encode(b"GIF89a").decode()), 400, "base64_pdf"),
        (body_with(base64_pdf=None, url_pdf="https://example.com/x.pdf"), 400, "url_pdf"),
        (body_with(base64_pdf=None, base64_docx="UEsDBA=="), 400, "base64_docx"),
        (body_with(disable_signer_emails="true"), 406, "detail"),
        (body_with(signers=[{"name": "A", "lock_name": "false"}]), 406, "detail"),
        (body_with(date_limit_to_sign="31/01/2030"), 400, "date_limit_to_sign"),
    ],
)
def test_create_validation(api: Api, body: dict[str, Any], status: int, field: str) -> None:
    response = api.call("POST", "docs/", json=body)
    assert response.status_code == status
    assert field in response.json()


def test_create_rejects_a_body_that_is_not_json(api: Api) -> None:
    response = api.call("POST", "docs/", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_create_from_loopback_url_pdf_and_markdown(api: Api) -> None:
    source = api.create()
    from_url = api.create(url_pdf=source["original_file"], base64_pdf=None)
    assert from_url["token"] != source["token"]
    from_markdown = api.create(markdown_text="# Termos\nAceito.", base64_pdf=None)
    pdf = requests.get(from_markdown["original_file"], timeout=5).content
    assert "Termos" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_metadata_is_accepted_under_both_spellings(api: Api) -> None:
    lower = api.create(metadata=[{"key": "a", "value": "1"}])
    upper = api.create(Metadata=[{"key": "b", "value": "2"}])
    assert lower["metadata"] == [{"key": "a", "value": "1"}]
    assert upper["metadata"] == [{"key": "b", "value": "2"}]


# -- files ------------------------------------------------------------------------------------------------------------


def test_file_links_are_presigned_fresh_and_expire(api: Api, zapsign_simulator: ZapSignSimulator) -> None:
    # Given links that live 1 second
    zapsign_simulator.config.file_link_lifetime_seconds = 1
    created = api.create()
    link = created["original_file"]
    assert re.search(r"/files/[0-9a-f]{32}\.pdf\?AWSAccessKeyId=\w+&Expires=\d+&Signature=", link)
    assert requests.get(link, timeout=5).content.startswith(b"%PDF-")
    # When the lifetime passes
    zapsign_simulator.advance_clock(2)
    expired = requests.get(link, timeout=5)
    # Then the old link answers 403 the S3 way, and Detail hands out a fresh one
    assert expired.status_code == 403
    assert expired.headers["Content-Type"] == "application/xml"
    assert "<Code>AccessDenied</Code>" in expired.text
    assert "Request has expired" in expired.text
    fresh = api.detail(created["token"])["original_file"]
    assert fresh != link
    assert requests.get(fresh, timeout=5).status_code == 200


def test_file_link_with_a_bad_signature_is_refused(api: Api) -> None:
    link = api.create()["original_file"]
    tampered = re.sub(r"Signature=[^&]+", "Signature=AAAA", link)
    response = requests.get(tampered, timeout=5)
    assert response.status_code == 403
    assert "SignatureDoesNotMatch" in response.text
    unsigned = link.split("?", 1)[0]
    assert requests.get(unsigned, timeout=5).status_code == 403


def test_signed_file_is_null_until_signed_then_a_different_valid_pdf(
    api: Api, zapsign_simulator: ZapSignSimulator
) -> None:
    created = api.create({"name": "Ana Souza"}, {"name": "Bruno Lima"})
    api.call("POST", f"docs/{created['token']}/upload-extra-doc/", json={"name": "Anexo", "base64_pdf": PDF_B64})
    zapsign_simulator.sign(created["signers"][0]["token"])
    partial = api.detail(created["token"])
    assert partial["status"] == "pending"
    assert partial["signed_file"] is None  # GUESS §5 item 10, the simulator's default
    assert partial["signers"][0]["status"] == "signed"
    assert TIMESTAMP.match(partial["signers"][0]["signed_at"])
    zapsign_simulator.sign(created["signers"][1]["token"])
    done = api.detail(created["token"])
    assert done["status"] == "signed"
    original = requests.get(done["original_file"], timeout=5).content
    signed = requests.get(done["signed_file"], timeout=5).content
    assert signed.startswith(b"%PDF-")
    assert signed != original
    last_page = PdfReader(io.BytesIO(signed)).pages[-1].extract_text()
    assert "Ana Souza" in last_page
    assert "Bruno Lima" in last_page
    assert done["extra_docs"][0]["signed_file"] is not None


def test_partial_signed_file_option(api: Api, zapsign_simulator: ZapSignSimulator) -> None:
    zapsign_simulator.config.partial_signed_file = True
    created = api.create({"name": "Ana"}, {"name": "Bruno"})
    zapsign_simulator.sign(created["signers"][0]["token"])
    partial = api.detail(created["token"])
    assert partial["status"] == "pending"
    assert partial["signed_file"] is not None


def test_photos_are_expiring_png_links(api: Api, zapsign_simulator: ZapSignSimulator) -> None:
    zapsign_simulator.config.file_link_lifetime_seconds = 1
    created = api.create({"name": "Ana", "require_document_photo": True, "require_selfie_photo": True})
    token = created["signers"][0]["token"]
    response = api.control("POST", f"signers/{token}/photos", json={})
    assert response.status_code == 200
    signer = api.detail(created["token"])["signers"][0]
    urls = [signer["document_photo_url"], signer["document_verse_photo_url"], signer["selfie_photo_url"]]
    images = [requests.get(url, timeout=5) for url in urls]
    assert all(image.content.startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    assert all(image.headers["Content-Type"] == "image/png" for image in images)
    assert len({image.content for image in images}) == 3
    zapsign_simulator.advance_clock(2)
    assert requests.get(urls[0], timeout=5).status_code == 403


# -- document lifecycle and control API ------------------------------------------------------------------------------


def test_extra_docs_limit_is_14(api: Api) -> None:
    created = api.create()
    path = f"docs/{created['token']}/upload-extra-doc/"
    for number in range(14):
        assert api.call("POST", path, json={"name": f"A{number}", "base64_pdf": PDF_B64}).status_code == 200
    assert api.call("POST", path, json={"name": "A15", "base64_pdf": PDF_B64}).status_code == 400


def test_delete_is_soft_and_fires_doc_deleted_once(
    api: Api, zapsign_simulator: ZapSignSimulator, zapsign_webhook_receiver: WebhookReceiver
) -> None:
    api.register(zapsign_webhook_receiver.url, type="doc_deleted")
    created = api.create()
    first = api.call("DELETE", f"docs/{created['token']}/")
    again = api.call("DELETE", f"docs/{created['token']}/")
    assert first.status_code == again.status_code == 200
    assert first.json()["deleted"] is True
    assert TIMESTAMP.match(first.json()["deleted_at"])
    assert api.detail(created["token"])["deleted"] is True
    (event,) = zapsign_webhook_receiver.wait_for_events(1)
    assert_same_shape(load(EVENTS / "doc_deleted.json"), event.body)
    zapsign_simulator.wait_for_webhooks()
    assert len(zapsign_webhook_receiver.accepted()) == 1
    assert api.call("DELETE", f"docs/{UNKNOWN_TOKEN}/").status_code == 404


def test_refuse_rules(api: Api, zapsign_simulator: ZapSignSimulator) -> None:
    created = api.create()
    token = created["token"]
    assert api.call("POST", "refuse/", json={"doc_token": token}).json() == {"error": "missing_rejected_reason"}
    assert api.call("POST", "refuse/", json={"rejected_reason": "x"}).json() == {"error": "missing_doc_token"}
    no_agent = api.call(
        "POST", "refuse/", json={"doc_token": token, "rejected_reason": "x"}, headers={"User-Agent": SKIP_HEADER}
    )
    assert no_agent.status_code == 403
    unknown = api.call("POST", "refuse/", json={"doc_token": UNKNOWN_TOKEN, "rejected_reason": "x"})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "document_not_found"})
    assert api.call("POST", "refuse/", json={"doc_token": token, "rejected_reason": "x"}).status_code == 200
    again = api.call("POST", "refuse/", json={"doc_token": token, "rejected_reason": "x"})
    assert (again.status_code, again.json()) == (403, {"error": "document_already_refused"})
    signed = api.create()
    zapsign_simulator.sign(signed["signers"][0]["token"])
    late = api.call("POST", "refuse/", json={"doc_token": signed["token"], "rejected_reason": "x"})
    assert (late.status_code, late.json()) == (403, {"error": "document_already_signed"})


@pytest.mark.parametrize("refused_status", ["recusado", "refused"])
def test_refuse_fires_doc_refused_with_the_configured_status(
    refused_status: str,
    api: Api,
    zapsign_simulator: ZapSignSimulator,
    zapsign_webhook_receiver: WebhookReceiver,
) -> None:
    zapsign_simulator.config.refused_status = refused_status
    api.register(zapsign_webhook_receiver.url)
    created = api.create()
    api.call(
        "POST", "refuse/", json={"doc_token": created["token"], "rejected_reason": "Cancelado", "notify_signer": False}
    )
    events = zapsign_webhook_receiver.wait_for_events(2)
    refused = next(item.body for item in events if item.body["event_type"] == "doc_refused")
    assert_same_shape(load(EVENTS / "doc_refused.json"), refused)
    assert refused["status"] == refused_status
    assert refused["rejected_reason"] == "Cancelado"
    assert refused["deleted"] is False


def test_refuse_can_also_fire_doc_signed(
    api: Api, zapsign_simulator: ZapSignSimulator, zapsign_webhook_receiver: WebhookReceiver
) -> None:
    zapsign_simulator.config.refuse_fires_doc_signed = True
    api.register(zapsign_webhook_receiver.url, type="doc_signed")
    created = api.create()
    api.call("POST", "refuse/", json={"doc_token": created["token"], "rejected_reason": "x"})
    (event,) = zapsign_webhook_receiver.wait_for_events(1)
    assert event.body["signer_who_signed"] is None
    assert event.body["signed_file"] is not None


def test_open_sign_and_their_webhooks(
    api: Api, zapsign_simulator: ZapSignSimulator, zapsign_webhook_receiver: WebhookReceiver
) -> None:
    api.register(zapsign_webhook_receiver.url)
    api.register(zapsign_webhook_receiver.url, type="doc_viewed")
    created = api.create({"name": "Ana"}, {"name": "Bruno"})
    first, second = (signer["token"] for signer in created["signers"])
    opened = api.control("POST", f"signers/{first}/open").json()
    assert opened["status"] == "link-opened"
    assert opened["times_viewed"] == 1
    assert api.control("POST", f"signers/{first}/sign").status_code == 200
    assert api.control("POST", f"signers/{first}/sign").status_code == 409  # signs once
    assert api.control("POST", f"signers/{second}/sign").json()["status"] == "signed"
    events = zapsign_webhook_receiver.wait_for_events(4)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for item in events:
        by_type.setdefault(item.body["event_type"], []).append(item.body)
    assert sorted(by_type) == ["doc_created", "doc_signed", "doc_viewed"]
    assert_same_shape(load(EVENTS / "doc_created.json"), by_type["doc_created"][0])
    assert_same_shape(load(EVENTS / "doc_viewed.json"), by_type["doc_viewed"][0])
    assert by_type["doc_viewed"][0]["signer_who_viewed"]["token"] == first
    assert len(by_type["doc_signed"]) == 2  # one per signature
    for body in by_type["doc_signed"]:
        assert_same_shape(load(EVENTS / "doc_signed.json"), body)
    statuses = {body["signer_who_signed"]["token"]: body["status"] for body in by_type["doc_signed"]}
    assert statuses == {first: "pending", second: "signed"}


def test_signing_order(api: Api) -> None:
    created = api.create({"name": "A", "order_group": 1}, {"name": "B", "order_group": 2}, signature_order_active=True)
    first, second = (signer["token"] for signer in created["signers"])
    assert api.control("POST", f"signers/{second}/sign").status_code == 409
    assert api.control("POST", f"signers/{first}/sign").status_code == 200
    assert api.control("POST", f"signers/{second}/sign").status_code == 200


def test_sign_takes_the_required_photos(api: Api) -> None:
    created = api.create({"name": "Ana", "require_document_photo": True, "require_selfie_photo": True})
    document = api.control("POST", f"signers/{created['signers'][0]['token']}/sign").json()
    signer = document["signers"][0]
    assert signer["document_photo_url"]
    assert signer["document_verse_photo_url"]
    assert signer["selfie_photo_url"]


def test_refuse_by_signer_expire_and_email_bounce(
    api: Api, zapsign_simulator: ZapSignSimulator, zapsign_webhook_receiver: WebhookReceiver
) -> None:
    api.register(zapsign_webhook_receiver.url, type="doc_refused")
    api.register(zapsign_webhook_receiver.url, type="doc_expired")
    api.register(zapsign_webhook_receiver.url, type="email_bounce")
    refused = api.create()
    response = api.control(
        "POST", f"signers/{refused['signers'][0]['token']}/refuse", json={"rejected_reason": "Não concordo"}
    )
    assert response.json()["status"] == "recusado"
    expiring = api.create(date_limit_to_sign="2030-07-10")
    expired = api.control("POST", f"docs/{expiring['token']}/expire").json()
    assert expired["status"] == "pending"  # no expired status is documented
    assert api.control("POST", f"signers/{expiring['signers'][0]['token']}/sign").status_code == 409
    bounced = api.control("POST", "email-bounce", json={"token": expiring["signers"][0]["token"]})
    assert bounced.json() == {"queued": 1}
    events = {item.body["event_type"]: item.body for item in zapsign_webhook_receiver.wait_for_events(3)}
    assert events["doc_refused"]["rejected_reason"] == "Não concordo"
    assert_same_shape(load(EVENTS / "doc_expired.json"), events["doc_expired"])
    assert events["doc_expired"]["expiration_date"].startswith("2030-07-10T23:59:59")
    assert_same_shape(load(EVENTS / "email_bounce.json"), events["email_bounce"])
    assert set(events["email_bounce"]) == set(load(EVENTS / "email_bounce.json"))


def test_webhook_type_filter_and_doc_token_filter(
    api: Api, zapsign_simulator: ZapSignSimulator, zapsign_webhook_receiver: WebhookReceiver
) -> None:
    # "" covers created/signed/deleted/refused only (§4.2); a doc_token limits a webhook to one document
    api.register(zapsign_webhook_receiver.url)
    mine = api.create()
    other = api.create()
    api.register(zapsign_webhook_receiver.url + "?only=mine", type="doc_signed", doc_token=mine["token"])
    api.control("POST", f"signers/{mine['signers'][0]['token']}/open")  # doc_viewed: not for ""
    api.control("POST", "email-bounce", json={"token": mine["signers"][0]["token"]})  # email_bounce: not for ""
    zapsign_simulator.sign(other["signers"][0]["token"])
    zapsign_simulator.sign(mine["signers"][0]["token"])
    zapsign_simulator.wait_for_webhooks()
    assert sorted(zapsign_webhook_receiver.events()) == [
        "doc_created",
        "doc_created",
        "doc_signed",
        "doc_signed",
        "doc_signed",
    ]
    deliveries = requests.get(f"{zapsign_simulator.base_url}/_sim/deliveries", timeout=5).json()
    filtered = [item for item in deliveries if item["url"].endswith("?only=mine")]
    assert len(filtered) == 1


def test_unknown_event_reaches_all_type_registrations(api: Api, zapsign_webhook_receiver: WebhookReceiver) -> None:
    api.register(zapsign_webhook_receiver.url)
    created = api.create()
    response = api.control(
        "POST", f"docs/{created['token']}/events", json={"event_type": "doc_brand_new", "extra": {"novelty": 1}}
    )
    assert response.json() == {"queued": 1}
    events = zapsign_webhook_receiver.wait_for_events(2)
    unknown = next(item.body for item in events if item.body["event_type"] == "doc_brand_new")
    assert unknown["novelty"] == 1
    assert unknown["token"] == created["token"]


def test_reprocess_resends_the_current_state(
    api: Api, zapsign_simulator: ZapSignSimulator, zapsign_webhook_receiver: WebhookReceiver
) -> None:
    created = api.create()
    api.register(zapsign_webhook_receiver.url)
    path = f"docs/{created['token']}/reprocess-doc/"
    assert api.call("POST", path, json={"send_webhook": True, "resign_doc": False}).status_code == 200
    zapsign_simulator.sign(created["signers"][0]["token"])
    signed_file = api.detail(created["token"])["signed_file"].split("?")[0]
    assert api.call("POST", path, json={"send_webhook": True, "resign_doc": True}).status_code == 200
    assert api.call("POST", path).status_code == 200  # no body: nothing to do
    events = zapsign_webhook_receiver.wait_for_events(3)
    assert sorted(item.body["event_type"] for item in events) == ["doc_created", "doc_signed", "doc_signed"]
    assert api.detail(created["token"])["signed_file"].split("?")[0] != signed_file  # regenerated
    missing = api.call("POST", f"docs/{UNKNOWN_TOKEN}/reprocess-doc/", json={"send_webhook": True})
    assert (missing.status_code, missing.json()) == (404, {"detail": "Não encontrado."})


def test_webhook_registration_validation_and_headers(api: Api, zapsign_simulator: ZapSignSimulator) -> None:
    assert api.call("POST", "user/company/webhook/", json={"url": "https://x.example/h"}).status_code == 400
    assert api.call("POST", "user/company/webhook/", json={"url": "nope", "type": ""}).status_code == 400
    assert (
        api.call("POST", "user/company/webhook/", json={"url": "https://x.example/h", "type": "bogus"}).status_code
        == 400
    )
    webhook_id = api.register("https://x.example/h", headers=[{"name": "Authorization", "value": "Bearer a"}])
    header = {"name": "X-Other", "value": "b"}
    assert (
        api.call("POST", "user/company/webhook/header/", json={"id": str(webhook_id), "headers": [header]}).status_code
        == 200
    )
    assert api.call("POST", "user/company/webhook/header/", json={"id": 999, "headers": [header]}).status_code == 404
    listed = api.control("GET", "webhooks").json()
    assert listed[0]["headers"] == [{"name": "Authorization", "value": "Bearer a"}, header]
    assert api.call("DELETE", "user/company/webhook/delete/", json={"id": str(webhook_id)}).status_code == 200
    assert api.control("GET", "webhooks").json() == []


def test_webhook_retries_until_200_and_gives_up_after_max_attempts(
    api: Api, zapsign_simulator: ZapSignSimulator, zapsign_webhook_receiver: WebhookReceiver
) -> None:
    zapsign_webhook_receiver.statuses = [500, 201]  # anything but exactly 200 is a failure
    api.register(zapsign_webhook_receiver.url, type="doc_created")
    api.create()
    zapsign_webhook_receiver.wait_for_events(1)
    zapsign_simulator.wait_for_webhooks()
    (delivery,) = requests.get(f"{zapsign_simulator.base_url}/_sim/deliveries", timeout=5).json()
    assert delivery["statuses"] == [500, 201, 200]
    assert delivery["delivered"] is True
    zapsign_simulator.webhooks.max_attempts = 2
    zapsign_webhook_receiver.statuses = [500, 500, 500]
    api.create()
    zapsign_simulator.wait_for_webhooks()
    last = requests.get(f"{zapsign_simulator.base_url}/_sim/deliveries", timeout=5).json()[-1]
    assert (last["statuses"], last["delivered"]) == ([500, 500], False)


def test_webhook_duplicates_from_the_fault_plan(
    api: Api, zapsign_simulator: ZapSignSimulator, zapsign_webhook_receiver: WebhookReceiver
) -> None:
    requests.post(f"{zapsign_simulator.base_url}/_sim/faults", json={"webhooks": {"duplicate_rate": 1.0}}, timeout=5)
    api.register(zapsign_webhook_receiver.url, type="doc_created")
    api.create()
    events = zapsign_webhook_receiver.wait_for_events(2)
    assert events[0].body == events[1].body


def test_control_documents_by_external_id_clock_and_config(api: Api, zapsign_simulator: ZapSignSimulator) -> None:
    api.create(external_id="req-1")
    api.create(external_id="req-2")
    found = api.control("GET", "docs", params={"external_id": "req-2"}).json()
    assert found["count"] == 1
    assert found["results"][0]["external_id"] == "req-2"
    before = api.control("GET", "clock").json()["offset_seconds"]
    assert api.control("POST", "clock", json={"advance_seconds": 90}).json()["offset_seconds"] == before + 90
    assert api.control("POST", "clock", json={"advance_seconds": -1}).status_code == 400
    config = api.control("POST", "config", json={"refused_status": "refused", "rate_limit_per_minute": 10}).json()
    assert (config["refused_status"], config["rate_limit_per_minute"]) == ("refused", 10)
    assert api.control("POST", "config", json={"nope": 1}).status_code == 400
    assert api.control("POST", "signers/unknown/sign").status_code == 404
    requests.post(f"{zapsign_simulator.base_url}/_sim/reset", timeout=5)
    assert api.control("GET", "docs").json()["count"] == 0


def test_signing_page_opens_and_signs(api: Api, zapsign_simulator: ZapSignSimulator) -> None:
    created = api.create()
    sign_url = created["signers"][0]["sign_url"]
    page = requests.get(sign_url, timeout=5)
    assert page.status_code == 200
    assert "Assinar" in page.text
    assert requests.post(f"{sign_url}/sign", timeout=5).status_code == 200
    assert api.detail(created["token"])["status"] == "signed"


def test_command_line_prints_the_base_url_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.zapsign", "--port", "0", "--token", "cli-token"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/api/v1/)", line)
        assert match, line
        response = requests.get(match.group(1) + "docs/", headers={"Authorization": "Bearer cli-token"}, timeout=5)
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_wait_for_helper_times_out() -> None:
    start = time.monotonic()
    with pytest.raises(AssertionError):
        wait_for(lambda: False, timeout=0.05)
    assert time.monotonic() - start < 1
