"""The One-Shot SMS code routes through the real `api` handler, with the real worker and the One-Shot simulator:
`POST /v1/requests/{id}/signers/{n}/otp` and `…/otp/resend`, and how their errors reach the client."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import Workflow
from signbridge.domain.operations import Op
from signbridge.handlers import api
from signbridge.workflow.services import Services
from simulators.oneshot.simulator import OneShotSimulator
from tests.support.api import ApiClient
from tests.support.oneshot import ShiftedClock, WorkerDriver, seed_request, signer_pk
from tests.support.samples import create_body

PROBLEMS = "https://signbridge.dev/problems/"


@pytest.fixture
def awaiting(
    api_client: ApiClient,
    oneshot_services: Services,
    oneshot_worker: WorkerDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """A `oneshot` request whose only signer has been sent an SMS code (the API uses the same services as the
    worker, on the simulator)."""
    monkeypatch.setattr(api, "get_services", lambda: oneshot_services)
    request_id = seed_request(oneshot_services)
    oneshot_worker.run()
    assert oneshot_services.records.get_request(request_id).request.status == "awaiting_otp"
    return request_id


def code_for(simulator: OneShotSimulator, services: Services, request_id: str) -> str:
    code = simulator.last_otp(pk=signer_pk(services.records.get_request(request_id)))
    assert code is not None
    return code


def set_faults(simulator: OneShotSimulator, plan: dict[str, Any]) -> None:
    requests.post(f"{simulator.base_url}/_sim/faults", json=plan, timeout=5).raise_for_status()


def test_the_right_code_signs_and_the_request_completes(
    api_client: ApiClient,
    awaiting: str,
    oneshot_simulator: OneShotSimulator,
    oneshot_services: Services,
    oneshot_worker: WorkerDriver,
) -> None:
    # Given a request awaiting its signer's code
    code = code_for(oneshot_simulator, oneshot_services, awaiting)

    # When the client submits the code the signer received
    answer = api_client.submit_otp(awaiting, 0, code)

    # Then the Optimizer signed at once: the answer is the request with its signer signed
    assert answer.status == 200, answer.body
    assert answer.body["id"] == awaiting
    assert answer.body["signers"][0]["status"] == "signed"
    assert answer.body["status"] == "signing"
    # and once the worker has fetched the signed documents, the request is complete with a final version
    oneshot_worker.run()
    final = api_client.get(awaiting).body
    assert final["status"] == "completed"
    link = final["documents"][0]["files"]["final"]["url"]
    assert requests.get(link, timeout=10).content.startswith(b"%PDF-")


def test_a_wrong_code_is_a_422_and_the_signer_can_try_again(
    api_client: ApiClient, awaiting: str, oneshot_simulator: OneShotSimulator, oneshot_services: Services
) -> None:
    # Given a request awaiting its signer's code
    code = code_for(oneshot_simulator, oneshot_services, awaiting)
    wrong = "000000" if code != "000000" else "111111"

    # When the client submits a wrong code
    answer = api_client.submit_otp(awaiting, 0, wrong)

    # Then it is told the code was not accepted, and the request still awaits a code
    assert answer.status == 422
    assert answer.content_type == "application/problem+json"
    assert answer.body["type"] == PROBLEMS + "otp-rejected"
    assert api_client.get(awaiting).body["status"] == "awaiting_otp"
    # and the right code still works
    assert api_client.submit_otp(awaiting, 0, code).status == 200


def test_a_code_while_the_optimizer_turns_requests_away_is_a_503_with_retry_after(
    api_client: ApiClient, awaiting: str, oneshot_simulator: OneShotSimulator, oneshot_services: Services
) -> None:
    # Given a request awaiting its code, and an Optimizer that answers 429 to the sign (the call never happened)
    code = code_for(oneshot_simulator, oneshot_services, awaiting)
    set_faults(oneshot_simulator, {"endpoints": {"sign": {"error_rate": 1.0, "error_status": 429}}})

    # When the client submits the code
    answer = api_client.submit_otp(awaiting, 0, code)

    # Then it is told to try again after a delay, and may: the request awaits the code again
    assert answer.status == 503
    assert answer.content_type == "application/problem+json"
    assert answer.body["type"] == PROBLEMS + "provider-unavailable"
    assert int(answer.headers["retry-after"]) >= 1
    assert api_client.get(awaiting).body["status"] == "awaiting_otp"


def test_a_code_whose_sign_outcome_is_unknown_is_a_503_telling_when_to_look_again(
    api_client: ApiClient, awaiting: str, oneshot_simulator: OneShotSimulator, oneshot_services: Services
) -> None:
    # Given an Optimizer that fails the sign with a 503 (it may have signed: the outcome is uncertain)
    code = code_for(oneshot_simulator, oneshot_services, awaiting)
    set_faults(oneshot_simulator, {"endpoints": {"sign": {"error_rate": 1.0, "error_status": 503}}})

    # When the client submits the code
    answer = api_client.submit_otp(awaiting, 0, code)

    # Then it is a 503 with a Retry-After, and the request stays `signing` until the outcome is confirmed
    assert answer.status == 503
    assert answer.body["type"] == PROBLEMS + "provider-unavailable"
    assert int(answer.headers["retry-after"]) >= 1
    assert api_client.get(awaiting).body["status"] == "signing"


def test_a_code_nobody_awaits_is_a_409(api_client: ApiClient) -> None:
    # Given a ZapSign request (no SMS codes at all)
    zapsign_request = api_client.create(create_body(Workflow.ZAPSIGN)).body["id"]

    # When the client submits a code for it
    answer = api_client.submit_otp(zapsign_request, 0, "123456")

    # Then it is a conflict with the request's state
    assert answer.status == 409
    assert answer.body["type"] == PROBLEMS + "not-awaiting-otp"


@pytest.mark.parametrize(
    ("call", "status", "slug"),
    [
        (lambda client, request_id: client.submit_otp(request_id, 3, "123456"), 404, "signer-not-found"),
        (lambda client, request_id: client.submit_otp("f" * 32, 0, "123456"), 404, "request-not-found"),
        (lambda client, request_id: client.resend_otp(request_id, 3), 404, "signer-not-found"),
    ],
    ids=["unknown-signer", "unknown-request", "resend-unknown-signer"],
)
def test_an_unknown_request_or_signer_is_a_404(
    api_client: ApiClient, call: Callable[[ApiClient, str], Any], status: int, slug: str
) -> None:
    # Given a request with one signer
    request_id = api_client.create(create_body(Workflow.ONESHOT)).body["id"]

    # When the client names a signer or a request that does not exist
    answer = call(api_client, request_id)

    # Then it is a 404 problem saying which

    assert answer.status == status
    assert answer.body["type"] == PROBLEMS + slug


@pytest.mark.parametrize(
    ("signer", "code", "field"),
    [("0", "12ab", "code"), ("0", "123", "code"), ("x", "123456", "signer"), ("-1", "123456", "signer")],
)
def test_a_malformed_code_or_signer_is_a_422_naming_it(
    api_client: ApiClient, signer: str, code: str, field: str
) -> None:
    answer = api_client.request(
        "POST",
        "/v1/requests/{request_id}/signers/{signer}/otp",
        path_parameters={"request_id": "0f8fad5bd9cb469fa16570867728950e", "signer": signer},
        body={"code": code},
    )

    assert answer.status == 422
    assert [error["field"] for error in answer.body["errors"]] == [field]
    # The code is never echoed back (the correlation id is random hex, so only the errors are searched)
    assert code not in json.dumps(answer.body["errors"]) or field == "signer"


def test_a_resend_within_the_minute_is_a_429_then_accepted_after_it(
    api_client: ApiClient,
    awaiting: str,
    oneshot_clock: ShiftedClock,
    oneshot_simulator: OneShotSimulator,
    queued: Callable[[str], list[OperationMessage]],
) -> None:
    # Given a request whose signer was just sent a code
    # When the client asks for another one at once
    too_soon = api_client.resend_otp(awaiting, 0)

    # Then it is told when it may ask again
    assert too_soon.status == 429
    assert too_soon.body["type"] == PROBLEMS + "otp-too-soon"
    assert 1 <= int(too_soon.headers["retry-after"]) <= 60

    # When it asks again after the minute
    oneshot_clock.advance(61)
    oneshot_simulator.advance_clock(61)
    accepted = api_client.resend_otp(awaiting, 0)

    # Then the resend is accepted and queued for the worker, as a new generation of the SMS step
    assert accepted.status == 202
    assert accepted.body == {"status": "accepted"}
    (message,) = queued("oneshot")
    assert (message.op, message.signer, message.generation) == (Op.SEND_ONESHOT_OTP.value, 0, 1)


def test_a_resend_for_a_request_not_awaiting_a_code_is_a_409(api_client: ApiClient) -> None:
    zapsign_request = api_client.create(create_body(Workflow.ZAPSIGN)).body["id"]

    answer = api_client.resend_otp(zapsign_request, 0)

    assert answer.status == 409
    assert answer.body["type"] == PROBLEMS + "not-awaiting-otp"


def test_no_log_line_carries_the_sms_code(
    api_client: ApiClient,
    awaiting: str,
    oneshot_simulator: OneShotSimulator,
    oneshot_services: Services,
    captured_logs: list[str],
) -> None:
    code = code_for(oneshot_simulator, oneshot_services, awaiting)

    assert api_client.submit_otp(awaiting, 0, code).status == 200

    text = "\n".join(captured_logs)
    assert "answered" in text
    assert code not in text


# ------------------------------------------------------------------------------------------------ wrong-code limit


def sign_calls(simulator: OneShotSimulator) -> int:
    counts: dict[str, int] = requests.get(f"{simulator.base_url}/_sim/calls", timeout=5).json()
    return counts.get("sign", 0)


def test_after_the_limit_of_wrong_codes_the_signer_is_locked_until_an_operator_unlocks_them(
    api_client: ApiClient, awaiting: str, oneshot_simulator: OneShotSimulator, oneshot_services: Services
) -> None:
    # Given a request awaiting its signer's code, and the default limit of wrong codes
    limit = oneshot_services.settings.otp_max_failures
    assert limit == 5
    code = code_for(oneshot_simulator, oneshot_services, awaiting)
    wrong = "000000" if code != "000000" else "111111"
    timeline_before = len(api_client.get(awaiting).body["timeline"])

    # When the client submits that many wrong codes
    answers = [api_client.submit_otp(awaiting, 0, wrong) for _ in range(limit)]

    # Then each is a 422 that counts, and the signer carries the count
    assert [answer.status for answer in answers] == [422] * limit
    assert f"{limit} of {limit}" in answers[-1].body["detail"]
    assert oneshot_services.records.get_request(awaiting).signer(0).otp_failures == limit
    calls = sign_calls(oneshot_simulator)
    # and the tries added nothing to the timeline: they are a counter on the signer
    assert len(api_client.get(awaiting).body["timeline"]) == timeline_before

    # When the client submits a code again, even the right one
    locked = api_client.submit_otp(awaiting, 0, code)

    # Then it is a 423 problem, and the Optimizer was not called
    assert locked.status == 423
    assert locked.content_type == "application/problem+json"
    assert locked.body["type"] == PROBLEMS + "signer-locked"
    assert sign_calls(oneshot_simulator) == calls
    assert api_client.get(awaiting).body["status"] == "awaiting_otp"

    # When an operator unlocks the signer
    unlocked = api_client.unlock_otp(awaiting, 0)

    # Then the count is back to 0, a second unlock is a 409, and the right code signs
    assert unlocked.status == 200, unlocked.body
    assert oneshot_services.records.get_request(awaiting).signer(0).otp_failures == 0
    again = api_client.unlock_otp(awaiting, 0)
    assert again.status == 409
    assert again.body["type"] == PROBLEMS + "not-locked"
    assert api_client.submit_otp(awaiting, 0, code).status == 200


def test_the_limit_of_wrong_codes_is_a_setting(
    api_client: ApiClient,
    awaiting: str,
    oneshot_simulator: OneShotSimulator,
    oneshot_services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a deployment that allows a single wrong code
    monkeypatch.setattr(
        oneshot_services, "settings", oneshot_services.settings.model_copy(update={"otp_max_failures": 1})
    )
    code = code_for(oneshot_simulator, oneshot_services, awaiting)
    wrong = "000000" if code != "000000" else "111111"

    # When one wrong code is submitted, Then the next submission is refused as locked
    assert api_client.submit_otp(awaiting, 0, wrong).status == 422
    assert api_client.submit_otp(awaiting, 0, code).status == 423
