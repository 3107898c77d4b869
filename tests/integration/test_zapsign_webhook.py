"""`POST /webhooks/zapsign` through the real `zapsign_webhook` handler, with the HTTP API events of
`events/apigw/zapsign_webhook_*.json`, against moto (S3 for the raw bodies, the `zapsign-ops` FIFO queue)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.operations import Op
from signbridge.workflow.services import Services
from signbridge.workflow.webhooks import ZAPSIGN_DOCUMENT_EVENTS
from tests.support.events import EVENTS_DIR, load_event
from tests.support.zapsign import PREVIOUS_WEBHOOK_SECRET, WEBHOOK_SECRET, ZapSignHandlers, webhook_event

Queued = Callable[[str], list[OperationMessage]]
Keys = Callable[[], list[str]]
Webhook = Callable[[dict[str, Any]], dict[str, Any]]

ZAPSIGN_EVENTS = sorted(path.stem for path in (EVENTS_DIR / "zapsign").glob("*.json"))
DATE = "2026-11-22"  # the requestContext.timeEpoch of the sample events


def sample(event_type: str, **overrides: Any) -> dict[str, Any]:
    return load_event(f"apigw/zapsign_webhook_{event_type}.json", **overrides)


def raw_key(body: bytes) -> str:
    return keys.raw_event_key("zapsign", DATE, hashlib.sha256(body).hexdigest())


def problem(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    loaded: dict[str, Any] = json.loads(answer["body"])
    return loaded


class NoDynamoDB:
    """Stands in for the record store: the acknowledgement path must not touch DynamoDB."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the webhook acknowledgement used the record store ({name})")


@pytest.fixture(autouse=True)
def _acknowledgement_without_dynamodb(zapsign_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zapsign_services, "records", NoDynamoDB())


@pytest.fixture
def call_webhook(zapsign_handlers: ZapSignHandlers) -> Webhook:
    """The `zapsign_webhook` handler's answer to an event."""
    return zapsign_handlers.webhook


def test_every_zapsign_event_type_has_a_sample_http_api_event() -> None:
    # Given the documented webhook events, When listing the HTTP API samples, Then each event has one
    samples = sorted(
        path.stem.removeprefix("zapsign_webhook_") for path in Path(EVENTS_DIR / "apigw").glob("zapsign_*")
    )
    assert samples == ZAPSIGN_EVENTS


@pytest.mark.parametrize("headers", [{"x_webhook_token": "not-the-secret"}, {"x_webhook_token": None}])
def test_a_missing_or_wrong_secret_is_401_and_nothing_is_stored_or_queued(
    headers: dict[str, str | None], queued: Queued, bucket_keys: Keys, call_webhook: Webhook
) -> None:
    # Given a doc_signed delivery without the right secret header
    event = webhook_event(sample("doc_signed")["body"], **headers)

    # When it arrives
    answer = call_webhook(event)

    # Then it is refused as a problem, and nothing was written anywhere
    assert answer["statusCode"] == 401
    assert problem(answer)["type"].endswith("/unauthorized")
    assert "not-the-secret" not in answer["body"]
    assert bucket_keys() == []
    assert queued("zapsign") == []


def test_the_previous_secret_is_accepted_during_a_rotation(queued: Queued, call_webhook: Webhook) -> None:
    # Given a delivery signed with the previous secret (the new one is registered, ZapSign may still send the old)
    event = sample("doc_signed", headers={"x-webhook-token": PREVIOUS_WEBHOOK_SECRET})

    # When it arrives, Then it is accepted
    assert call_webhook(event)["statusCode"] == 200
    assert len(queued("zapsign")) == 1


def test_a_document_event_is_stored_first_then_queued_as_one_hint(
    zapsign_services: Services, queued: Queued, sqs_client: Any, zapsign_worker: Any, call_webhook: Webhook
) -> None:
    # Given ZapSign's doc_signed delivery with the current secret
    event = sample("doc_signed")
    body = event["body"].encode()
    assert event["headers"]["x-webhook-token"] == WEBHOOK_SECRET

    # When it arrives
    answer = call_webhook(event)

    # Then the answer is exactly 200 with a tiny JSON body
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"] == "application/json"
    assert json.loads(answer["body"]) == {"received": True}
    # and the raw body is stored byte for byte under its sha256
    with zapsign_services.files.open_stream(raw_key(body)) as stored:
        assert stored.read() == body
    # and one hint names the document; its group is the token and its deduplication id the body's sha256
    messages = sqs_client.receive_message(
        QueueUrl=zapsign_worker.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert len(messages) == 1
    hint = OperationMessage.from_body(messages[0]["Body"])
    assert (hint.op, hint.request_id) == (Op.SYNC_ZAPSIGN_DOCUMENT.value, None)
    token = json.loads(body)["token"]
    assert hint.payload == {"doc_token": token, "event_type": "doc_signed", "raw_key": raw_key(body)}
    assert messages[0]["Attributes"]["MessageGroupId"] == token
    assert messages[0]["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("event_type", sorted(ZAPSIGN_DOCUMENT_EVENTS))
def test_each_document_event_becomes_a_hint(event_type: str, queued: Queued, call_webhook: Webhook) -> None:
    # Given a sample delivery of a document event, When it arrives
    answer = call_webhook(sample(event_type))

    # Then it is acknowledged and handed to the worker
    assert answer["statusCode"] == 200
    (hint,) = queued("zapsign")
    assert hint.payload["event_type"] == event_type


def test_a_duplicate_delivery_lands_on_the_same_key_and_sqs_drops_the_second_hint(
    queued: Queued, bucket_keys: Keys, call_webhook: Webhook
) -> None:
    # Given the same doc_signed delivered twice (ZapSign retries, or sends a duplicate)
    event = sample("doc_signed")

    # When both arrive
    first, second = call_webhook(event), call_webhook(sample("doc_signed"))

    # Then both are 200, one object holds the body, and one hint waits
    assert first["statusCode"] == second["statusCode"] == 200
    assert bucket_keys() == [raw_key(event["body"].encode())]
    assert len(queued("zapsign")) == 1


def test_a_base64_encoded_body_is_read_as_the_same_bytes(
    queued: Queued, bucket_keys: Keys, call_webhook: Webhook
) -> None:
    # Given API Gateway passing the body base64-encoded
    event = sample("doc_signed")
    body = event["body"].encode()
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True

    # When it arrives
    answer = call_webhook(event)

    # Then it is stored under the hash of the decoded bytes and queued
    assert answer["statusCode"] == 200
    assert bucket_keys() == [raw_key(body)]
    assert len(queued("zapsign")) == 1


def test_malformed_json_is_400_and_kept_for_inspection(
    queued: Queued, bucket_keys: Keys, call_webhook: Webhook
) -> None:
    # Given a body that is not JSON (with the right secret)
    body = b'{"event_type": "doc_signed", "token": '
    event = webhook_event(body)

    # When it arrives
    answer = call_webhook(event)

    # Then it is a 400 problem; the body is stored, nothing queued
    assert answer["statusCode"] == 400
    assert problem(answer)["type"].endswith("/malformed-webhook")
    assert bucket_keys() == [raw_key(body)]
    assert queued("zapsign") == []


@pytest.mark.parametrize("event_type", ["email_bounce", "background_check_completed"])
def test_events_that_name_no_document_are_stored_and_acknowledged_only(
    event_type: str, queued: Queued, bucket_keys: Keys, call_webhook: Webhook
) -> None:
    # Given an event whose body is not a document (email_bounce's token may be a signer's)
    event = sample(event_type)

    # When it arrives, Then it is 200 and stored, and nothing is queued
    assert call_webhook(event)["statusCode"] == 200
    assert bucket_keys() == [raw_key(event["body"].encode())]
    assert queued("zapsign") == []


def test_an_unknown_event_type_is_stored_and_answered_200(
    queued: Queued, bucket_keys: Keys, call_webhook: Webhook
) -> None:
    # Given an event type ZapSign may add one day (§2.3), about a document
    body = {**json.loads(sample("doc_signed")["body"]), "event_type": "doc_teleported"}
    event = webhook_event(body)

    # When it arrives, Then ZapSign gets its 200 (else it would retry), the body is kept, nothing is queued
    assert call_webhook(event)["statusCode"] == 200
    assert bucket_keys() == [raw_key(event["body"].encode())]
    assert queued("zapsign") == []


def test_logs_carry_neither_the_secret_nor_personal_data(captured_logs: list[str], call_webhook: Webhook) -> None:
    # Given a delivery whose body holds a signer's name, email, phone and CPF
    event = sample("doc_signed")
    signer = json.loads(event["body"])["signers"][0]

    # When it arrives (and when a wrong secret arrives)
    call_webhook(event)
    call_webhook(sample("doc_signed", headers={"x-webhook-token": "wrong-secret-value"}))

    # Then no log line holds them
    logs = "\n".join(captured_logs)
    assert "ZapSign webhook queued" in logs
    for value in (WEBHOOK_SECRET, "wrong-secret-value", signer["name"], signer["email"], signer["phone_number"]):
        assert value not in logs
