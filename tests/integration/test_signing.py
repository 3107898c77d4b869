"""The API's One-Shot use cases (`workflow.signing`): submit the SMS code, ask for another. State checks, what each
Optimizer answer does to the request, and the resend minute; against moto and the One-Shot simulator."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from signbridge.domain.errors import RequestNotFoundError, SignerNotFoundError
from signbridge.domain.models import Cause, RequestAggregate, RequestStatus, SignerStatus, Workflow
from signbridge.domain.operations import Op
from signbridge.handlers import api
from signbridge.handlers.problems import problem_for
from signbridge.providers.http import ProviderHttp
from signbridge.providers.oneshot import OneShotClient
from signbridge.workflow import signing
from signbridge.workflow.errors import (
    NotAwaitingOtpError,
    OtpRejectedError,
    OtpResendTooSoonError,
    ProviderUnavailableError,
    RequestStateError,
)
from signbridge.workflow.services import Services
from simulators.oneshot.simulator import OneShotSimulator
from tests.simulators.conftest_oneshot import oneshot_credentials
from tests.support.api import ApiClient
from tests.support.oneshot import ShiftedClock, WorkerDriver, seed_request, signer_pk, sqs_messages

R = RequestStatus
S = SignerStatus


def set_faults(simulator: OneShotSimulator, plan: dict[str, Any]) -> None:
    requests.post(f"{simulator.base_url}/_sim/faults", json=plan, timeout=5).raise_for_status()


def awaiting(services: Services, worker: WorkerDriver, **seed: Any) -> RequestAggregate:
    request_id = seed_request(services, **seed)
    worker.run()
    aggregate = services.records.get_request(request_id)
    assert aggregate.request.status is R.AWAITING_OTP
    return aggregate


def code_of(simulator: OneShotSimulator, aggregate: RequestAggregate, signer: int = 0) -> str:
    code = simulator.last_otp(pk=signer_pk(aggregate, signer))
    assert code is not None
    return code


def status_of(services: Services, request_id: str) -> RequestStatus:
    return services.records.get_request(request_id).request.status


# ------------------------------------------------------------------------------------------------ submit: states


def test_a_code_for_a_request_not_awaiting_one_is_refused_without_calling_the_optimizer(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request still preparing its One-Shot request (nothing run yet)
    request_id = seed_request(oneshot_services)
    # When a code is submitted
    # Then it is refused as a conflict, and nothing changes
    with pytest.raises(NotAwaitingOtpError, match="not awaiting an SMS code"):
        signing.submit_otp(oneshot_services, request_id, 0, "123456", correlation_id="c")
    assert status_of(oneshot_services, request_id) is R.ONESHOT_PENDING
    assert oneshot_simulator.calls["sign"] == 0


def test_a_code_for_a_signer_whose_turn_it_is_not_is_refused(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given two signers, the first one's code awaited
    aggregate = awaiting(oneshot_services, oneshot_worker, signers=2)
    # When the second signer's code is submitted, Then it is refused (and resends too)
    with pytest.raises(NotAwaitingOtpError, match="awaits the code of signer 0"):
        signing.submit_otp(oneshot_services, aggregate.request.id, 1, "123456", correlation_id="c")
    with pytest.raises(NotAwaitingOtpError):
        signing.resend_otp(oneshot_services, aggregate.request.id, 1, correlation_id="c")
    assert status_of(oneshot_services, aggregate.request.id) is R.AWAITING_OTP
    assert oneshot_simulator.calls["sign"] == 0


def test_unknown_requests_and_signers_are_not_found(oneshot_services: Services, oneshot_worker: WorkerDriver) -> None:
    aggregate = awaiting(oneshot_services, oneshot_worker)
    with pytest.raises(RequestNotFoundError):
        signing.submit_otp(oneshot_services, "no-such-request", 0, "123456", correlation_id="c")
    with pytest.raises(SignerNotFoundError):
        signing.submit_otp(oneshot_services, aggregate.request.id, 5, "123456", correlation_id="c")
    with pytest.raises(SignerNotFoundError):
        signing.resend_otp(oneshot_services, aggregate.request.id, 5, correlation_id="c")


def test_a_zapsign_request_takes_no_code(oneshot_services: Services) -> None:
    # Given a ZapSign-only request
    request_id = seed_request(oneshot_services, workflow=Workflow.ZAPSIGN)
    # When a code is submitted, Then it is refused as a conflict
    with pytest.raises(NotAwaitingOtpError, match="zapsign workflow"):
        signing.submit_otp(oneshot_services, request_id, 0, "123456", correlation_id="c")


def test_a_second_submission_while_the_first_is_signing_is_refused(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request whose code was submitted and is being signed (the intent is recorded)
    aggregate = awaiting(oneshot_services, oneshot_worker)
    oneshot_services.records.move_request(aggregate, R.SIGNING, cause=Cause.API, correlation_id="1")
    # When the code is submitted again, Then it is refused and the Optimizer is not called a second time
    with pytest.raises(NotAwaitingOtpError):
        signing.submit_otp(
            oneshot_services, aggregate.request.id, 0, code_of(oneshot_simulator, aggregate), correlation_id="2"
        )
    assert oneshot_simulator.calls["sign"] == 0


# ------------------------------------------------------------------------------------------------ submit: answers


def test_a_wrong_code_is_rejected_and_the_signer_may_try_again(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    aggregate = awaiting(oneshot_services, oneshot_worker)
    right = code_of(oneshot_simulator, aggregate)
    wrong = "000000" if right != "000000" else "999999"
    # When a wrong code is submitted
    with pytest.raises(OtpRejectedError) as rejected:
        signing.submit_otp(oneshot_services, aggregate.request.id, 0, wrong, correlation_id="wrong")
    # Then the client is told to try again (422), and the request awaits the code
    problem = problem_for(rejected.value)
    assert problem is not None
    assert (problem.status, problem.slug) == (422, "otp-rejected")
    assert status_of(oneshot_services, aggregate.request.id) is R.AWAITING_OTP
    # and the right code still signs
    signed = signing.submit_otp(oneshot_services, aggregate.request.id, 0, right, correlation_id="right")
    assert signed.signer(0).status is S.SIGNED


def test_an_unavailable_optimizer_leaves_the_code_to_be_submitted_again(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given an Optimizer that throttles the sign (429 with Retry-After: it did nothing)
    aggregate = awaiting(oneshot_services, oneshot_worker)
    set_faults(oneshot_simulator, {"endpoints": {"sign": {"rate_limit_burst": 1, "retry_after": 7}}})
    # When the code is submitted
    with pytest.raises(ProviderUnavailableError) as unavailable:
        signing.submit_otp(
            oneshot_services, aggregate.request.id, 0, code_of(oneshot_simulator, aggregate), correlation_id="c"
        )
    # Then the client gets 503 with the Optimizer's Retry-After, after one attempt (the API's time budget)
    problem = problem_for(unavailable.value)
    assert problem is not None
    assert (problem.status, problem.headers["Retry-After"]) == (503, "7")
    assert unavailable.value.retry_after_seconds == 7
    assert oneshot_simulator.calls["sign"] == 1
    # and the request awaits the code again; submitted again, it signs
    assert status_of(oneshot_services, aggregate.request.id) is R.AWAITING_OTP
    signed = signing.submit_otp(
        oneshot_services, aggregate.request.id, 0, code_of(oneshot_simulator, aggregate), correlation_id="again"
    )
    assert signed.signer(0).status is S.SIGNED


def test_an_uncertain_sign_stays_signing_for_the_confirm_step(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given an Optimizer that answers the sign with a 500 (the certificate may have been issued)
    aggregate = awaiting(oneshot_services, oneshot_worker)
    set_faults(oneshot_simulator, {"endpoints": {"sign": {"error_rate": 1.0, "error_status": 500}}})
    # When the code is submitted
    with pytest.raises(ProviderUnavailableError, match="being confirmed"):
        signing.submit_otp(
            oneshot_services, aggregate.request.id, 0, code_of(oneshot_simulator, aggregate), correlation_id="c"
        )
    # Then the request stays in signing (not retried, not rolled back): the confirm step resolves it
    after = oneshot_services.records.get_request(aggregate.request.id)
    assert after.request.status is R.SIGNING
    assert after.signer(0).status is S.OTP_SENT
    assert oneshot_simulator.calls["sign"] == 1


def test_a_request_already_signed_at_the_optimizer_is_recorded_as_signed(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request the Optimizer has already signed (an earlier submission whose answer was lost)
    aggregate = awaiting(oneshot_services, oneshot_worker)
    http = ProviderHttp("oneshot", oneshot_simulator.api_url, read_timeout=5.0)
    OneShotClient(oneshot_simulator.api_url, oneshot_credentials(), http=http).sign(
        signer_pk(aggregate), code_of(oneshot_simulator, aggregate)
    )
    # When the code is submitted (the Optimizer answers "already in ISSUED status")
    signed = signing.submit_otp(oneshot_services, aggregate.request.id, 0, "123456", correlation_id="c")
    # Then the signer is signed and the retrievals are queued
    assert signed.signer(0).status is S.SIGNED
    queued = [message.op for message in oneshot_worker.run()]
    assert queued.count(Op.RETRIEVE_ONESHOT_DOCUMENT.value) == 1
    assert status_of(oneshot_services, aggregate.request.id) is R.COMPLETED


def test_a_refusal_for_good_fails_the_request(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request whose One-Shot request has vanished from the Optimizer
    aggregate = awaiting(oneshot_services, oneshot_worker)
    del oneshot_simulator.requests[signer_pk(aggregate)]
    # When the code is submitted
    with pytest.raises(RequestStateError, match="has failed"):
        signing.submit_otp(oneshot_services, aggregate.request.id, 0, "123456", correlation_id="c")
    # Then the request failed with the Optimizer's reason
    failed = oneshot_services.records.get_request(aggregate.request.id).request
    assert failed.status is R.FAILED
    assert "not found" in (failed.failure_reason or "").lower()


def test_the_signature_appearance_of_the_request_is_sent_with_the_sign(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a request created with a visible signature, stored as the API stores it
    appearance = {
        "text": ["Signed with SignBridge"],
        "position": {"x1": 300, "y1": 100, "x2": 500, "y2": 150},
        "page": 0,
    }
    aggregate = awaiting(oneshot_services, oneshot_worker, signature_appearance=appearance)
    seen: list[dict[str, Any]] = []
    original = oneshot_simulator._check_appearance

    def spy(value: Any) -> Any:
        seen.append(value)
        return original(value)

    oneshot_simulator._check_appearance = spy  # type: ignore[method-assign]
    try:
        # When the code is submitted
        signing.submit_otp(
            oneshot_services, aggregate.request.id, 0, code_of(oneshot_simulator, aggregate), correlation_id="c"
        )
    finally:
        del oneshot_simulator._check_appearance
    # Then the Optimizer received it in its own shape
    assert seen == [{"text": ["Signed with SignBridge"], "position": "300,100,500,150", "page": 0}]


# ------------------------------------------------------------------------------------------------ resend


def test_a_resend_is_refused_within_the_minute_with_the_seconds_left(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_clock: ShiftedClock, sqs_client: Any
) -> None:
    # Given a code sent 59.2 seconds ago
    aggregate = awaiting(oneshot_services, oneshot_worker)
    oneshot_clock.advance(59.2)
    # When another is asked for, Then it is refused with the seconds left, rounded up, and nothing is queued
    with pytest.raises(OtpResendTooSoonError) as too_soon:
        signing.resend_otp(oneshot_services, aggregate.request.id, 0, correlation_id="c")
    problem = problem_for(too_soon.value)
    assert problem is not None
    assert (problem.status, problem.headers["Retry-After"]) == (429, "1")
    assert too_soon.value.retry_after_seconds == 1
    assert list(sqs_messages(sqs_client, oneshot_worker.queue_url)) == []


def test_a_resend_after_the_minute_queues_a_new_generation_and_sends_one_sms(
    oneshot_services: Services,
    oneshot_worker: WorkerDriver,
    oneshot_simulator: OneShotSimulator,
    oneshot_clock: ShiftedClock,
) -> None:
    # Given a code sent more than a minute ago (for SignBridge and for the Optimizer)
    aggregate = awaiting(oneshot_services, oneshot_worker)
    oneshot_clock.advance(61)
    oneshot_simulator.advance_clock(61)
    # When another is asked for, twice in a row (a client retrying its call)
    signing.resend_otp(oneshot_services, aggregate.request.id, 0, correlation_id="c")
    ran = oneshot_worker.run()
    with pytest.raises(OtpResendTooSoonError):
        signing.resend_otp(oneshot_services, aggregate.request.id, 0, correlation_id="c")
    # Then one more SMS went out, as generation 1
    assert [(message.op, message.generation) for message in ran] == [(Op.SEND_ONESHOT_OTP.value, 1)]
    assert len(oneshot_simulator.sms) == 2
    assert oneshot_services.records.get_request(aggregate.request.id).signer(0).otp_generation == 1
    # When the same resend message is delivered again
    oneshot_worker.replay(ran)
    oneshot_worker.run()
    # Then no third SMS goes out
    assert len(oneshot_simulator.sms) == 2


def test_a_resend_for_a_request_not_awaiting_a_code_is_refused(
    oneshot_services: Services, oneshot_worker: WorkerDriver, oneshot_simulator: OneShotSimulator
) -> None:
    aggregate = awaiting(oneshot_services, oneshot_worker)
    signing.submit_otp(
        oneshot_services, aggregate.request.id, 0, code_of(oneshot_simulator, aggregate), correlation_id="c"
    )
    with pytest.raises(NotAwaitingOtpError):
        signing.resend_otp(oneshot_services, aggregate.request.id, 0, correlation_id="c")


# ------------------------------------------------------------------------------------------------ through the API


def test_the_api_routes_answer_with_what_the_use_cases_decide(
    oneshot_services: Services,
    oneshot_worker: WorkerDriver,
    oneshot_simulator: OneShotSimulator,
    api_client: ApiClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the api handler on the same services, and a request awaiting the code
    monkeypatch.setattr(api, "get_services", lambda: oneshot_services)
    aggregate = awaiting(oneshot_services, oneshot_worker)
    request_id = aggregate.request.id
    # When a resend is asked for at once, Then 429 with Retry-After (events/apigw/otp_resend.json)
    resend = api_client.resend_otp(request_id, 0)
    assert resend.status == 429
    assert 0 < int(resend.headers["retry-after"]) <= 60
    # When a wrong code is submitted, Then 422 otp-rejected (events/apigw/otp_submit.json)
    right = code_of(oneshot_simulator, aggregate)
    rejected = api_client.submit_otp(request_id, 0, "000000" if right != "000000" else "999999")
    assert rejected.status == 422
    assert rejected.body["type"].endswith("/otp-rejected")
    # When the right code is submitted, Then 200 with the request, its signer signed
    signed = api_client.submit_otp(request_id, 0, right)
    assert signed.status == 200, signed.body
    assert signed.body["status"] == RequestStatus.SIGNING.value
    # When it is submitted again, Then 409: the request no longer awaits a code
    again = api_client.submit_otp(request_id, 0, right)
    assert again.status == 409
    assert again.body["type"].endswith("/not-awaiting-otp")
