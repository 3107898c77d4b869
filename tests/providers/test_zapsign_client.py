"""`ZapSignClient` against the ZapSign simulator: every call, its success and its documented errors."""

from __future__ import annotations

import base64
import io
import json
import logging
from datetime import date
from pathlib import Path

import pytest
import requests
from pypdf import PdfReader

from signbridge.domain.provider_errors import PermanentError, RateLimitedError, RetryableError, UncertainOutcomeError
from signbridge.domain.zapsign import MetadataItem, NewDocument, NewSigner, ZapSignDocument, ZapSignExtraDocument
from signbridge.providers.http import ProviderHttp, RetryPolicy
from signbridge.providers.zapsign import ZapSignClient
from simulators.base import FaultPlan
from simulators.pdf import make_pdf
from simulators.zapsign.simulator import ZapSignSimulator
from tests.simulators.conftest_zapsign import (
    ZAPSIGN_OTHER_ENV_TOKEN,
    ZAPSIGN_TOKEN,
    new_document,
)
from tests.support.receiver import WebhookReceiver, wait_for

EVENTS = Path(__file__).resolve().parents[2] / "events" / "zapsign"


def fault(simulator: ZapSignSimulator, endpoint: str, **spec: object) -> None:
    simulator.faults = FaultPlan.from_json({"endpoints": {endpoint: spec}})


def client_with_token(simulator: ZapSignSimulator, token: str, sleeps: list[float]) -> ZapSignClient:
    http = ProviderHttp("zapsign", simulator.api_base_url, retry=RetryPolicy(max_attempts=3), sleep=sleeps.append)
    return ZapSignClient(simulator.api_base_url, token, http=http)


# -- create ---------------------------------------------------------------------------------------------------------


def test_create_document_sends_every_field_and_reads_the_answer(
    zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient
) -> None:
    # Given a document with the options SignBridge uses
    request = NewDocument.from_pdf(
        "Contrato 123.pdf",
        make_pdf("Contrato 123"),
        [
            NewSigner(
                name="João da Silva",
                email="joao@example.com",
                auth_mode="assinaturaTela",
                send_automatic_email=False,
                require_document_photo=True,
                require_selfie_photo=True,
                external_id="signer-1",
            ),
            NewSigner(name="Maria", order_group=2),
        ],
        external_id="req-123",
        lang="en",
        date_limit_to_sign=date(2030, 1, 31),
        metadata=[MetadataItem(key="request", value="req-123")],
        folder_path="/signbridge/",
        signature_order_active=False,
        disable_signer_emails=True,
        brand_name="ACME",
        brand_primary_color="#0011ee",
    )
    # When it is created
    document = zapsign_client.create_document(request)
    # Then the answer is read into the typed model
    assert document.status == "pending"
    assert not document.is_signed
    assert document.external_id == "req-123"
    assert document.metadata[0].key == "request"
    assert document.signed_file is None
    assert document.original_file is not None
    assert [signer.status for signer in document.signers] == ["new", "new"]
    first = document.signers[0]
    assert first.sign_url
    assert first.external_id == "signer-1"
    assert first.require_document_photo is True
    assert first.require_selfie_photo is True
    assert first.document_photo_url is None  # "" until the signer takes the photo
    # And ZapSign received each option
    stored = zapsign_simulator.documents[document.token]
    assert stored.options["lang"] == "en"
    assert stored.options["folder_path"] == "/signbridge/"
    assert stored.options["disable_signer_emails"] is True
    assert stored.options["brand_name"] == "ACME"
    assert stored.options["date_limit_to_sign"] == "2030-01-31"
    assert stored.signers[1].fields["order_group"] == 2
    assert zapsign_simulator.calls["create_document"] == 1


def test_create_document_from_url_pdf(zapsign_client: ZapSignClient) -> None:
    source = zapsign_client.create_document(new_document())
    assert source.original_file is not None
    copy = zapsign_client.create_document(
        NewDocument(name="copy.pdf", url_pdf=source.original_file, signers=[NewSigner(name="Ana")])
    )
    assert copy.token != source.token


def test_create_document_validation_error_is_permanent_with_the_field(zapsign_client: ZapSignClient) -> None:
    not_a_pdf = NewDocument(name="x", base64_pdf=base64.b64encode(b"hello").decode(), signers=[NewSigner(name="Ana")])
    with pytest.raises(PermanentError) as raised:
        zapsign_client.create_document(not_a_pdf)
    assert raised.value.status == 400
    assert raised.value.message == "base64_pdf: O arquivo não é um PDF."


def test_new_document_refuses_bad_requests_before_sending() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        NewDocument(name="x", signers=[NewSigner(name="Ana")])
    with pytest.raises(ValueError, match="data: prefix"):
        NewDocument(name="x", base64_pdf="data:application/pdf;base64,JVBERi0=", signers=[NewSigner(name="Ana")])
    with pytest.raises(ValueError):
        NewDocument(name="x", base64_pdf="JVBERi0=", signers=[])
    with pytest.raises(ValueError):
        NewSigner(name="Ana", unknown_field=True)  # type: ignore[call-arg]


def test_create_document_body_omits_nulls_and_uses_lowercase_metadata() -> None:
    body = new_document(metadata=[MetadataItem(key="k", value="v")]).to_body()
    assert "metadata" in body
    assert "Metadata" not in body
    assert None not in body.values()
    assert all(None not in signer.values() for signer in body["signers"])


def test_create_document_5xx_is_uncertain_and_not_retried(
    zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient, zapsign_sleeps: list[float]
) -> None:
    fault(zapsign_simulator, "create_document", error_rate=1.0, error_status=500)
    with pytest.raises(UncertainOutcomeError) as raised:
        zapsign_client.create_document(new_document())
    assert raised.value.status == 500
    assert zapsign_simulator.calls["create_document"] == 1
    assert zapsign_sleeps == []


def test_create_document_read_timeout_is_uncertain(zapsign_simulator: ZapSignSimulator) -> None:
    fault(zapsign_simulator, "create_document", timeout_seconds=0.5)
    http = ProviderHttp("zapsign", zapsign_simulator.api_base_url, read_timeout=0.1, sleep=lambda _: None)
    client = ZapSignClient(zapsign_simulator.api_base_url, ZAPSIGN_TOKEN, http=http)
    with pytest.raises(UncertainOutcomeError):
        client.create_document(new_document())
    assert zapsign_simulator.calls["create_document"] == 1
    # ...and that is why it is uncertain: the slow answer still created the document (waiting for it here also keeps
    # the late creation out of the next test's simulator state)
    wait_for(lambda: len(zapsign_simulator.documents) == 1, timeout=5)


# -- detail ---------------------------------------------------------------------------------------------------------


def test_get_document_5xx_then_success_is_retried(
    zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient
) -> None:
    created = zapsign_client.create_document(new_document())
    fault(zapsign_simulator, "get_document", error_rate=1.0, error_status=503)

    def recover_while_backing_off(_delay: float) -> None:
        zapsign_simulator.faults = FaultPlan()

    http = ProviderHttp("zapsign", zapsign_simulator.api_base_url, sleep=recover_while_backing_off)
    client = ZapSignClient(zapsign_simulator.api_base_url, ZAPSIGN_TOKEN, http=http)
    document = client.get_document(created.token)
    assert isinstance(document, ZapSignDocument)
    assert document.token == created.token
    assert zapsign_simulator.calls["get_document"] == 2


def test_get_document_5xx_forever_raises_retryable_after_bounded_attempts(
    zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient, zapsign_sleeps: list[float]
) -> None:
    created = zapsign_client.create_document(new_document())
    fault(zapsign_simulator, "get_document", error_rate=1.0, error_status=502)
    with pytest.raises(RetryableError) as raised:
        zapsign_client.get_document(created.token)
    assert raised.value.status == 502
    assert zapsign_simulator.calls["get_document"] == 3
    assert len(zapsign_sleeps) == 2


def test_get_document_on_an_extra_doc_token_returns_the_short_body(zapsign_client: ZapSignClient) -> None:
    created = zapsign_client.create_document(new_document())
    extra = zapsign_client.add_extra_document(created.token, name="Anexo 1.pdf", pdf=make_pdf("Anexo 1"))
    assert isinstance(extra, ZapSignExtraDocument)
    assert extra.parent_doc_token is None
    detail = zapsign_client.get_document(extra.token)
    assert isinstance(detail, ZapSignExtraDocument)
    assert detail.parent_doc_token == created.token
    assert detail.name == "Anexo 1.pdf"
    main = zapsign_client.get_document(created.token)
    assert isinstance(main, ZapSignDocument)
    assert [item.token for item in main.extra_docs] == [extra.token]


def test_get_document_unknown_token_is_a_permanent_404(zapsign_client: ZapSignClient) -> None:
    with pytest.raises(PermanentError) as raised:
        zapsign_client.get_document("7b1c4b0e-0000-4000-8000-000000000000")
    assert raised.value.status == 404
    assert raised.value.message == "Não encontrado."


def test_tokens_that_would_change_the_path_are_refused(zapsign_client: ZapSignClient) -> None:
    for token in ("", "../user/company/webhook", "a/b", "a?b", "%2e%2e"):
        with pytest.raises(ValueError):
            zapsign_client.get_document(token)


# -- authentication, plan, rate limit ------------------------------------------------------------------------------


def test_wrong_token_is_a_permanent_401_and_the_token_never_leaks(
    zapsign_simulator: ZapSignSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wrong-token-0123456789"
    client = client_with_token(zapsign_simulator, secret, [])
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PermanentError) as raised:
        client.get_document("7b1c4b0e-0000-4000-8000-000000000000")
    assert raised.value.status == 401
    assert raised.value.message == "Token inválido."
    assert secret not in str(raised.value)
    assert secret not in raised.value.raw_body
    assert secret not in repr(client)
    assert secret not in caplog.text


def test_token_of_the_other_environment_is_a_permanent_403(zapsign_simulator: ZapSignSimulator) -> None:
    client = client_with_token(zapsign_simulator, ZAPSIGN_OTHER_ENV_TOKEN, [])
    with pytest.raises(PermanentError) as raised:
        client.create_document(new_document())
    assert raised.value.status == 403


def test_no_api_plan_is_a_permanent_402(zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient) -> None:
    zapsign_simulator.config.payment_required = True
    with pytest.raises(PermanentError) as raised:
        zapsign_client.create_document(new_document())
    assert raised.value.status == 402


@pytest.mark.parametrize("status", [400, 401, 403, 404, 406])
def test_documented_client_errors_are_permanent_and_not_retried(
    status: int, zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient, zapsign_sleeps: list[float]
) -> None:
    fault(zapsign_simulator, "get_document", error_rate=1.0, error_status=status)
    with pytest.raises(PermanentError) as raised:
        zapsign_client.get_document("7b1c4b0e-0000-4000-8000-000000000000")
    assert raised.value.status == status
    assert zapsign_sleeps == []


def test_429_burst_raises_rate_limited_after_bounded_attempts_then_the_next_window_passes(
    zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient, zapsign_sleeps: list[float]
) -> None:
    # Given a limit of 3 calls per window, all spent
    zapsign_simulator.config.rate_limit_per_minute = 3
    created = zapsign_client.create_document(new_document())
    zapsign_client.get_document(created.token)
    zapsign_client.get_document(created.token)
    # When the client keeps calling in the same window
    with pytest.raises(RateLimitedError) as raised:
        zapsign_client.get_document(created.token)
    # Then it backed off (no Retry-After from ZapSign) for a bounded number of attempts
    assert raised.value.status == 429
    assert raised.value.retry_after is None
    assert zapsign_simulator.calls["get_document"] == 2 + 3
    assert len(zapsign_sleeps) == 2
    assert all(0 <= delay <= 1.0 for delay in zapsign_sleeps)
    # And in the next fixed window the limit resets
    zapsign_simulator.advance_clock(60)
    assert zapsign_client.get_document(created.token).token == created.token


def test_429_on_create_is_retried_because_nothing_was_created(
    zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient, zapsign_sleeps: list[float]
) -> None:
    fault(zapsign_simulator, "create_document", rate_limit_burst=1)
    document = zapsign_client.create_document(new_document())
    assert document.status == "pending"
    assert len(zapsign_simulator.documents) == 1
    assert len(zapsign_sleeps) == 1


# -- extra documents ------------------------------------------------------------------------------------------------


def test_add_extra_document_limit_of_14(zapsign_client: ZapSignClient) -> None:
    created = zapsign_client.create_document(new_document())
    for number in range(14):
        zapsign_client.add_extra_document(created.token, name=f"Anexo {number}", pdf=make_pdf(f"Anexo {number}"))
    with pytest.raises(PermanentError) as raised:
        zapsign_client.add_extra_document(created.token, name="Anexo 15", pdf=make_pdf("Anexo 15"))
    assert raised.value.status == 400


def test_add_extra_document_5xx_is_uncertain(
    zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient
) -> None:
    created = zapsign_client.create_document(new_document())
    fault(zapsign_simulator, "add_extra_document", error_rate=1.0, error_status=500)
    with pytest.raises(UncertainOutcomeError):
        zapsign_client.add_extra_document(created.token, name="Anexo", pdf=make_pdf("Anexo"))
    assert zapsign_simulator.calls["add_extra_document"] == 1


# -- cancel, delete, reprocess ------------------------------------------------------------------------------------


def test_cancel_document_then_again_is_already_refused(
    zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient
) -> None:
    created = zapsign_client.create_document(new_document())
    assert zapsign_client.cancel_document(created.token, "Cancelado pelo cliente") == "cancelled"
    assert zapsign_client.cancel_document(created.token, "Cancelado pelo cliente") == "already_refused"
    document = zapsign_client.get_document(created.token)
    assert isinstance(document, ZapSignDocument)
    assert document.is_refused
    assert document.rejected_reason == "Cancelado pelo cliente"


def test_cancel_after_signed_is_a_permanent_403(
    zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient
) -> None:
    created = zapsign_client.create_document(new_document())
    zapsign_simulator.sign(created.signers[0].token)
    with pytest.raises(PermanentError) as raised:
        zapsign_client.cancel_document(created.token, "tarde demais")
    assert raised.value.status == 403
    assert "document_already_signed" in raised.value.message


def test_cancel_unknown_document_is_a_permanent_404(zapsign_client: ZapSignClient) -> None:
    with pytest.raises(PermanentError) as raised:
        zapsign_client.cancel_document("7b1c4b0e-0000-4000-8000-000000000000", "x")
    assert raised.value.status == 404


def test_delete_document_is_soft(zapsign_client: ZapSignClient) -> None:
    created = zapsign_client.create_document(new_document())
    deleted = zapsign_client.delete_document(created.token)
    assert deleted.deleted is True
    assert deleted.deleted_at is not None
    still_readable = zapsign_client.get_document(created.token)
    assert isinstance(still_readable, ZapSignDocument)
    assert still_readable.deleted is True


def test_reprocess_resends_the_current_state_and_404_on_unknown(
    zapsign_simulator: ZapSignSimulator,
    zapsign_client: ZapSignClient,
    zapsign_webhook_receiver: WebhookReceiver,
) -> None:
    created = zapsign_client.create_document(new_document())
    zapsign_simulator.sign(created.signers[0].token)
    zapsign_client.create_webhook(zapsign_webhook_receiver.url, type="doc_signed")
    zapsign_client.reprocess_document(created.token, send_webhook=True)
    (received,) = zapsign_webhook_receiver.wait_for_events(1)
    assert received.body["event_type"] == "doc_signed"
    assert received.body["status"] == "signed"
    with pytest.raises(PermanentError) as raised:
        zapsign_client.reprocess_document("7b1c4b0e-0000-4000-8000-000000000000")
    assert raised.value.status == 404


# -- webhooks -------------------------------------------------------------------------------------------------------


def test_webhook_registration_with_headers_and_delivery_with_them(
    zapsign_simulator: ZapSignSimulator,
    zapsign_client: ZapSignClient,
    zapsign_webhook_receiver: WebhookReceiver,
) -> None:
    # Given a webhook for every document event with a secret header, and one more header added later
    webhook_id = zapsign_client.create_webhook(zapsign_webhook_receiver.url, headers={"X-Webhook-Token": "s3cret"})
    assert webhook_id.isdigit()
    zapsign_client.add_webhook_headers(webhook_id, {"X-Second": "two"})
    # When a document is created, signed by both signers, and the receiver fails twice at first
    zapsign_webhook_receiver.statuses = [500, 503]
    created = zapsign_client.create_document(new_document("Ana", "Bruno"))
    zapsign_simulator.sign(created.signers[0].token)
    after_first = zapsign_client.get_document(created.token)
    zapsign_simulator.sign(created.signers[1].token)
    # Then every event arrives with both headers, the failed ones retried until 200 (retries may reorder them)
    received = zapsign_webhook_receiver.wait_for_events(3)
    zapsign_simulator.wait_for_webhooks()
    assert sorted(item.body["event_type"] for item in received) == ["doc_created", "doc_signed", "doc_signed"]
    assert all(item.headers["X-Webhook-Token"] == "s3cret" for item in received)
    assert all(item.headers["X-Second"] == "two" for item in received)
    assert [item.status for item in zapsign_webhook_receiver.received].count(200) == 3
    assert len(zapsign_webhook_receiver.received) == 5  # two failures + three accepted
    # And one doc_signed per signature: pending after the first of two signers, signed after the second
    assert isinstance(after_first, ZapSignDocument)
    assert after_first.status == "pending"
    status_after = {
        item.body["signer_who_signed"]["token"]: item.body["status"]
        for item in received
        if item.body["event_type"] == "doc_signed"
    }
    assert status_after == {created.signers[0].token: "pending", created.signers[1].token: "signed"}


def test_webhook_payloads_parse_into_the_document_model() -> None:
    # Every documented webhook example that carries a document reads into ZapSignDocument.
    for path in sorted(EVENTS.glob("*.json")):
        body = json.loads(path.read_text())
        if "signers" not in body:
            continue
        document = ZapSignDocument.model_validate(body)
        assert document.token == body["token"]
        if body.get("external_id") == "None":
            assert document.external_id is None  # the docs' str(None) leak is tolerated


def test_delete_webhook(zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient) -> None:
    webhook_id = zapsign_client.create_webhook("https://example.com/hook", type="email_bounce")
    zapsign_client.delete_webhook(webhook_id)
    assert zapsign_simulator.registrations == {}
    with pytest.raises(PermanentError) as raised:
        zapsign_client.add_webhook_headers(webhook_id, {"X": "y"})
    assert raised.value.status == 404


def test_create_webhook_5xx_is_uncertain(zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient) -> None:
    fault(zapsign_simulator, "create_webhook", error_rate=1.0, error_status=500)
    with pytest.raises(UncertainOutcomeError):
        zapsign_client.create_webhook("https://example.com/hook")


# -- evidence for the zapsign_oneshot workflow --------------------------------------------------------------------


def test_signed_document_exposes_signed_pdf_and_id_evidence(
    zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient
) -> None:
    request = NewDocument.from_pdf(
        "c.pdf",
        make_pdf("c"),
        [NewSigner(name="Ana Souza", require_document_photo=True, require_selfie_photo=True)],
    )
    created = zapsign_client.create_document(request)
    zapsign_simulator.sign(created.signers[0].token)
    document = zapsign_client.get_document(created.token)
    assert isinstance(document, ZapSignDocument)
    assert document.is_signed
    signer = document.signers[0]
    assert signer.has_signed
    assert signer.signed_at is not None
    assert document.signed_file is not None
    assert document.original_file is not None
    signed = requests.get(document.signed_file, timeout=5).content
    original = requests.get(document.original_file, timeout=5).content
    assert signed != original
    assert "Ana Souza" in PdfReader(io.BytesIO(signed)).pages[-1].extract_text()
    for url in (signer.document_photo_url, signer.document_verse_photo_url, signer.selfie_photo_url):
        assert url is not None
        assert requests.get(url, timeout=5).content.startswith(b"\x89PNG")
