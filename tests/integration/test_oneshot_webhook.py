"""`POST /webhooks/oneshot/{secret}` through the real `oneshot_webhook` handler, with the sample events of
`events/apigw/oneshot_callback_*.json`: the path secret, the raw body stored first, one hint per callback that names
a request, and the hint healing a signature through the worker."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Cause, RequestStatus, SignerStatus
from signbridge.domain.operations import Op
from signbridge.handlers import oneshot_webhook
from signbridge.providers.http import ProviderHttp
from signbridge.providers.oneshot import OneShotClient
from signbridge.workflow.services import Services
from simulators.oneshot.simulator import OneShotSimulator
from tests.simulators.conftest_oneshot import oneshot_credentials
from tests.support.aws import SAMPLE_WEBHOOK_SECRET
from tests.support.events import load_event
from tests.support.lambda_context import FakeLambdaContext
from tests.support.oneshot import WorkerDriver, body_of, raw_objects, seed_request, signer_pk, sqs_messages

SECRET: str = SAMPLE_WEBHOOK_SECRET["oneshot"][0]  # the value events/apigw/oneshot_callback_*.json carry
RECEIVED_DATE = "2026-11-22"  # the samples' requestContext.timeEpoch


def callback(event_file: str, **overrides: Any) -> dict[str, Any]:
    response: dict[str, Any] = oneshot_webhook.handler(
        load_event(f"apigw/oneshot_callback_{event_file}.json", **overrides), FakeLambdaContext()
    )
    return response


def sample_body(event_file: str) -> bytes:
    return str(load_event(f"apigw/oneshot_callback_{event_file}.json")["body"]).encode()


def test_a_wrong_secret_is_refused_and_nothing_is_stored_or_queued(
    oneshot_services: Services, sqs_client: Any, queues: Any, captured_logs: list[str]
) -> None:
    # Given a callback to a path with a wrong secret
    wrong = "not-the-secret-at-all"
    # When it arrives
    response = callback("request_enrolled", pathParameters={"secret": wrong}, rawPath=f"/webhooks/oneshot/{wrong}")
    # Then it is 401 problem+json, nothing is stored and nothing is queued
    assert response["statusCode"] == 401
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = json.loads(response["body"])
    assert problem["type"].endswith("/unauthorized")
    assert problem["status"] == 401
    assert raw_objects(oneshot_services) == []
    assert list(sqs_messages(sqs_client, queues.oneshot.url)) == []
    # and neither secret shows in the answer or the logs (which do record the refusal)
    logs = "\n".join(captured_logs)
    assert "wrong secret refused" in logs
    for text in (response["body"], logs):
        assert wrong not in text
        assert SECRET not in text


def test_an_empty_secret_is_refused(oneshot_services: Services) -> None:
    assert callback("request_enrolled", pathParameters={"secret": ""})["statusCode"] == 401
    assert raw_objects(oneshot_services) == []


def test_a_callback_naming_a_request_is_stored_first_then_queued_as_one_hint(
    oneshot_services: Services, sqs_client: Any, queues: Any, captured_logs: list[str]
) -> None:
    # Given the Optimizer's REQUEST_ENROLLED callback (new shape: request.pk)
    body = sample_body("request_enrolled")
    digest = hashlib.sha256(body).hexdigest()
    # When it arrives, twice (the Optimizer retries, or a proxy duplicates it)
    first = callback("request_enrolled")
    second = callback("request_enrolled")
    # Then both are answered 200
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    # and the raw body is stored once, byte for byte, under its sha256
    key = keys.raw_event_key("oneshot", RECEIVED_DATE, digest)
    assert raw_objects(oneshot_services) == [key]
    with oneshot_services.files.open_stream(key) as stored:
        assert stored.read() == body
    assert oneshot_services.files.head(key).sha256 == digest
    # and one hint is queued (SQS drops the duplicate: same body, same deduplication id), for the worker to look up
    messages = list(sqs_messages(sqs_client, queues.oneshot.url))
    assert len(messages) == 1
    hint = OperationMessage.from_body(messages[0]["Body"])
    assert hint.op == Op.CONFIRM_ONESHOT_SIGNATURE.value
    assert hint.request_id is None
    assert hint.payload == {"oneshot_pk": 388141, "event_type": "REQUEST_ENROLLED", "raw_key": key}
    assert messages[0]["Attributes"]["MessageGroupId"] == "oneshot-388141"
    assert messages[0]["Attributes"]["MessageDeduplicationId"] == digest
    # and the secret in the path shows nowhere in the logs
    logs = "\n".join(captured_logs)
    assert "One-Shot callback queued" in logs
    assert SECRET not in logs


@pytest.mark.parametrize(
    ("query", "created_for"),
    [
        ({"request": "req-1", "signer": "0"}, {"request_id": "req-1", "signer": 0}),
        ({"request": "req 1", "signer": "0"}, None),  # not a request id
        ({"request": "req-1", "signer": "-1"}, None),
        ({"request": "req-1"}, None),
    ],
)
def test_the_callback_address_query_names_whom_the_request_was_created_for(
    oneshot_services: Services, sqs_client: Any, queues: Any, query: dict[str, str], created_for: Any
) -> None:
    # Given the REQUEST_CREATED callback of a create, at the address it gave (its query names request and signer)
    raw_query = "&".join(f"{name}={value}" for name, value in query.items())
    response = callback("request_created", queryStringParameters=query, rawQueryString=raw_query)
    # Then the hint carries them (well-formed ones only), for the worker to adopt a create whose answer was lost
    assert response["statusCode"] == 200
    [message] = list(sqs_messages(sqs_client, queues.oneshot.url))
    assert body_of(message)["payload"].get("created_for") == created_for


def test_a_legacy_callback_names_its_request_by_the_integer_request_field(
    oneshot_services: Services, sqs_client: Any, queues: Any
) -> None:
    # Given the old Optimizer's payload ({"request": 46760, "status": ...})
    response = callback("legacy_status_change")
    # Then the hint names that pk
    assert response["statusCode"] == 200
    messages = list(sqs_messages(sqs_client, queues.oneshot.url))
    assert [body_of(message)["payload"]["oneshot_pk"] for message in messages] == [46760]
    assert body_of(messages[0])["payload"]["event_type"] == "VIDEOINCOMPLETE"


def test_malformed_json_is_refused_but_kept(oneshot_services: Services, sqs_client: Any, queues: Any) -> None:
    # Given a body that is not JSON
    body = b'{"event_type": "REQUEST_ENROLLED", "request": {'
    # When it arrives
    response = callback("request_enrolled", body=body.decode())
    # Then it is 400, stored for whoever investigates, and nothing is queued
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["type"].endswith("/malformed-callback")
    assert raw_objects(oneshot_services) == [
        keys.raw_event_key("oneshot", RECEIVED_DATE, hashlib.sha256(body).hexdigest())
    ]
    assert list(sqs_messages(sqs_client, queues.oneshot.url)) == []


@pytest.mark.parametrize(
    "payload",
    [
        {"event_type": "SOMETHING_NEW", "sent_at": "20261122102015"},
        {"event_type": "REQUEST_CREATED", "request": {"status": "CREATED"}},
        {"event_type": "REQUEST_CREATED", "request": {"pk": "not-a-number"}},
        [1, 2, 3],
    ],
)
def test_a_callback_naming_no_request_is_stored_and_answered_200_without_a_hint(
    oneshot_services: Services, sqs_client: Any, queues: Any, payload: Any
) -> None:
    response = callback("request_created", body=json.dumps(payload))
    assert response["statusCode"] == 200
    assert len(raw_objects(oneshot_services)) == 1
    assert list(sqs_messages(sqs_client, queues.oneshot.url)) == []


def test_a_base64_encoded_body_is_stored_as_the_bytes_sent(oneshot_services: Services) -> None:
    # Given API Gateway handing the body base64-encoded (a content type it does not treat as text)
    body = sample_body("request_approved")
    response = callback("request_approved", body=base64.b64encode(body).decode(), isBase64Encoded=True)
    # Then the stored object is the body itself
    assert response["statusCode"] == 200
    assert raw_objects(oneshot_services) == [
        keys.raw_event_key("oneshot", RECEIVED_DATE, hashlib.sha256(body).hexdigest())
    ]


def test_the_previous_secret_is_accepted_during_a_rotation(
    oneshot_services: Services, secretsmanager_client: Any, secrets: Any
) -> None:
    # Given a rotated webhook secret: a new current value, the old one still accepted
    rotated = dict(SAMPLE_WEBHOOK_SECRET) | {"oneshot": ["oneshot-hook-next", SECRET]}
    secretsmanager_client.put_secret_value(SecretId=secrets.webhook, SecretString=json.dumps(rotated))
    oneshot_services.secrets = type(oneshot_services.secrets)(
        zapsign_secret_name=secrets.zapsign,
        webhook_secret_name=secrets.webhook,
        oneshot_secret_name=secrets.oneshot,
        max_age_seconds=0,
        provider=oneshot_services.secrets._provider,
    )
    # When callbacks arrive at the old and the new address, Then both are accepted; another value is not
    assert callback("request_created")["statusCode"] == 200
    assert callback("request_created", pathParameters={"secret": "oneshot-hook-next"})["statusCode"] == 200
    assert callback("request_created", pathParameters={"secret": "oneshot-hook-other"})["statusCode"] == 401


def test_the_hint_lets_the_worker_record_a_signature_whose_answer_was_lost(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request whose sign intent is recorded and which the Optimizer signed, the API's answer lost
    request_id = seed_request(oneshot_services)
    oneshot_worker.run()
    aggregate = oneshot_services.records.get_request(request_id)
    pk = signer_pk(aggregate)
    oneshot_services.records.move_request(aggregate, RequestStatus.SIGNING, cause=Cause.API, correlation_id="lost")
    http = ProviderHttp("oneshot", oneshot_simulator.api_url, read_timeout=5.0)
    OneShotClient(oneshot_simulator.api_url, oneshot_credentials(), http=http).sign(
        pk, oneshot_simulator.last_otp(pk=pk) or ""
    )
    # When the Optimizer's REQUEST_ENROLLED callback for that pk arrives and the worker runs the hint
    enrolled = json.loads(sample_body("request_enrolled"))
    enrolled["request"]["pk"] = pk
    assert callback("request_enrolled", body=json.dumps(enrolled))["statusCode"] == 200
    oneshot_worker.run()
    # Then the worker found the request by the pk, asked the Optimizer, recorded the signature and finished
    done = oneshot_services.records.get_request(request_id)
    assert done.signer(0).status is SignerStatus.SIGNED
    assert done.request.status is RequestStatus.COMPLETED
    confirm = [entry for entry in done.timeline if entry.detail == "signature confirmed at the Optimizer"]
    assert [entry.cause for entry in confirm] == [Cause.WEBHOOK]
    assert oneshot_simulator.calls["sign"] == 1


def test_a_hint_for_a_pk_that_is_not_ours_changes_nothing(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a callback for a One-Shot request SignBridge never recorded
    assert callback("request_enrolled")["statusCode"] == 200
    # When the worker runs the hint, Then it is consumed without calling the Optimizer
    ran = oneshot_worker.run()
    assert [message.op for message in ran] == [Op.CONFIRM_ONESHOT_SIGNATURE.value]
    assert oneshot_worker.failures == []
    assert sum(oneshot_simulator.calls.values()) == 0
