"""Requests that do not simply complete: refused, cancelled, expired; the OTP's wrong code and resend rules; input the
API refuses (issue "Workflows end to end")."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import E2E

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_a_signer_refusing_at_zapsign_ends_the_request_refused(e2e: E2E) -> None:
    # Given a zapsign request waiting for its signer
    request_id = e2e.create(e2e.body("zapsign"))["id"]
    token = e2e.tokens(e2e.wait_for_signer_links(request_id))[0]

    # When the signer refuses on ZapSign's page
    e2e.zapsign_control.open_link(token)
    e2e.zapsign_control.refuse(token, "The amounts are wrong")

    # Then the request ends refused, nothing signed is stored
    refused = e2e.wait(request_id, "refused")
    # ZapSign's Detail documents no refused signer status (docs/providers/zapsign.md §5 item 9), so who refused is known
    # only when ZapSign says so; the simulator does not.
    assert refused["signers"][0]["status"] in ("refused", "pending", "link_opened")
    assert e2e.keys(f"signed/{request_id}/") == []
    assert all("final" not in document["files"] for document in refused["documents"])


def test_cancelling_midway_cancels_at_zapsign(e2e: E2E) -> None:
    # Given a zapsign request waiting for its signer
    request_id = e2e.create(e2e.body("zapsign"))["id"]
    pending = e2e.wait_for_signer_links(request_id)
    document = e2e.zapsign.documents[e2e.doc_token(pending)]

    # When the client cancels it
    answer = e2e.api.cancel(request_id)

    # Then the answer is the cancelled request, and the ZapSign document is cancelled (refused) there too
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"
    e2e.stack.wait_until_idle(timeout=20)
    assert document.status in ("refused", "recusado") or document.deleted
    # and a signature arriving afterwards changes nothing
    assert e2e.get(request_id)["status"] == "cancelled"


def test_cancelling_while_awaiting_the_code_deletes_the_documents_at_the_optimizer(e2e: E2E) -> None:
    # Given a oneshot request whose code was sent
    body = e2e.body("oneshot")
    request_id = e2e.create(body)["id"]
    e2e.wait_for_turn(request_id, 0)
    (oneshot_request,) = [r for r in e2e.oneshot.requests.values() if r.phone == body["signers"][0]["phone"]]
    assert oneshot_request.documents

    # When the client cancels it
    answer = e2e.api.cancel(request_id)

    # Then it is cancelled and the Optimizer keeps nothing of it
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"
    assert e2e.stack.wait_until_idle(timeout=20)
    assert not oneshot_request.documents


def test_cancelling_a_completed_request_is_a_conflict(e2e: E2E) -> None:
    request_id = e2e.create(e2e.body("zapsign"))["id"]
    e2e.sign_at_zapsign(e2e.tokens(e2e.wait_for_signer_links(request_id))[0])
    e2e.wait(request_id, "completed")

    answer = e2e.api.cancel(request_id)

    assert answer.status_code == 409, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert e2e.get(request_id)["status"] == "completed"


def test_the_housekeeper_expires_a_request_past_its_deadline(e2e: E2E) -> None:
    # Given a zapsign request with a deadline a few seconds away, waiting for its signer
    deadline = datetime.now(UTC) + timedelta(seconds=8)
    request_id = e2e.create(e2e.body("zapsign", deadline=deadline.isoformat()))["id"]
    pending = e2e.wait_for_signer_links(request_id)

    # When the housekeeper runs after the deadline (a scheduled event's `time` is believed only near the clock)
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 1)
    run = e2e.stack.invoke("housekeeper", e2e.scheduled_event("housekeeper", datetime.now(UTC)))

    # Then the request is expired (by the schedule), and its ZapSign document no longer signable
    assert run.succeeded, run.error_message
    expired = e2e.wait(request_id, "expired")
    assert expired["timeline"][-1]["cause"] == "schedule"
    e2e.stack.wait_until_idle(timeout=20)
    token = e2e.tokens(pending)[0]
    signature = e2e.api.session.post(f"{e2e.zapsign.base_url}/_sim/zapsign/signers/{token}/sign", timeout=10)
    e2e.stack.wait_until_idle(timeout=20)
    assert e2e.get(request_id)["status"] == "expired", signature.text


def test_the_housekeeper_before_the_deadline_changes_nothing(e2e: E2E) -> None:
    deadline = datetime.now(UTC) + timedelta(hours=1)
    request_id = e2e.create(e2e.body("zapsign", deadline=deadline.isoformat()))["id"]
    before = e2e.wait_for_signer_links(request_id)

    run = e2e.stack.invoke("housekeeper", e2e.scheduled_event("housekeeper", datetime.now(UTC)))

    assert run.succeeded, run.error_message
    after = e2e.get(request_id)
    assert (after["status"], after["version"]) == (before["status"], before["version"])


def test_a_wrong_code_is_refused_and_the_right_one_then_signs(e2e: E2E) -> None:
    # Given a oneshot request awaiting its code
    body = e2e.body("oneshot")
    phone = body["signers"][0]["phone"]
    request_id = e2e.create(body)["id"]
    e2e.wait_for_turn(request_id, 0)
    right = e2e.otp(phone)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    # When a wrong code is submitted
    refused = e2e.api.submit_otp(request_id, 0, wrong)

    # Then it is a 422 naming the problem, and the request still awaits the code
    assert refused.status_code == 422, refused.text
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("otp-rejected")
    assert e2e.get(request_id)["status"] == "awaiting_otp"

    # When the right code follows, Then it signs and completes
    accepted = e2e.api.submit_otp(request_id, 0, right)
    assert accepted.status_code == 200, accepted.text
    e2e.assert_files_verified(e2e.wait(request_id, "completed"))


def test_a_resend_within_the_minute_is_429_with_retry_after_and_sends_nothing(e2e: E2E) -> None:
    # Given a oneshot request whose code was just sent
    body = e2e.body("oneshot")
    phone = body["signers"][0]["phone"]
    request_id = e2e.create(body)["id"]
    e2e.wait_for_turn(request_id, 0)
    code = e2e.otp(phone)
    sms_before = [sms for sms in e2e.oneshot.sms if sms["phone"] == phone]

    # When another code is asked for at once
    too_soon = e2e.api.resend_otp(request_id, 0)

    # Then 429 with Retry-After (the Optimizer sends one SMS a minute), no SMS sent, and the first code still signs
    assert too_soon.status_code == 429, too_soon.text
    assert too_soon.headers["Content-Type"].startswith("application/problem+json")
    assert 0 < int(too_soon.headers["Retry-After"]) <= 60
    e2e.stack.wait_until_idle(timeout=20)
    assert [sms for sms in e2e.oneshot.sms if sms["phone"] == phone] == sms_before
    accepted = e2e.api.submit_otp(request_id, 0, code)
    assert accepted.status_code == 200, accepted.text
    e2e.wait(request_id, "completed")


def test_a_resend_after_the_minute_sends_a_new_code_that_signs_moving_the_simulators_clock(e2e: E2E) -> None:
    # Given a oneshot request whose code was just sent, and a resend asked for too soon
    body = e2e.body("oneshot")
    phone = body["signers"][0]["phone"]
    request_id = e2e.create(body)["id"]
    first_recorded = e2e.wait_for_turn(request_id, 0)["signers"][0]["otp_sent_at"]
    e2e.otp(phone)
    with e2e.oneshot.lock:
        first_sent_at = max(sms["sent_at"] for sms in e2e.oneshot.sms if sms["phone"] == phone)
    assert e2e.api.resend_otp(request_id, 0).status_code == 429

    # When a minute passes on the Optimizer's clock (its control API; the local stack's SignBridge shares that clock,
    # so nothing waits a minute) and the client asks again
    e2e.oneshot_control.advance_clock(61)
    try:
        resent = e2e.api.resend_otp(request_id, 0)

        # Then 202, a new SMS code goes out, and that code signs
        assert resent.status_code == 202, resent.text
        new_code = e2e.otp(phone, after=first_sent_at + 60)
        e2e.wait(request_id, "awaiting_otp", condition=lambda got: got["signers"][0]["otp_sent_at"] != first_recorded)
        accepted = e2e.api.submit_otp(request_id, 0, new_code)
        assert accepted.status_code == 200, accepted.text
        e2e.assert_files_verified(e2e.wait(request_id, "completed"))
    finally:
        e2e.oneshot_control.advance_clock(-61)  # the stack is shared by the other e2e tests


def test_an_invalid_body_is_a_422_naming_the_field(e2e: E2E) -> None:
    body = e2e.body("oneshot")
    body["signers"][0]["phone"] = "600 111 222"

    answer = e2e.api.post("/v1/requests", body)

    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert any(error["field"] == "signers.0.phone" for error in answer.json()["errors"])


def test_the_openapi_document_is_served(e2e: E2E) -> None:
    answer = e2e.api.get("/v1/openapi.json")

    assert answer.status_code == 200
    document = answer.json()
    assert "/v1/requests" in document["paths"]
    assert document["openapi"].startswith("3.")


def test_the_local_stack_serves_the_docs_page(e2e: E2E) -> None:
    answer = e2e.api.get("/v1/docs")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in answer.text
    assert "<script src=" not in answer.text  # the assets are inlined: nothing comes from a CDN
