"""`POST /v1/requests/{id}/cancel` through the real `api` handler, against moto."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from signbridge.config import Settings
from signbridge.domain.errors import ConcurrentUpdateError
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import RequestAggregate, RequestStatus, SignerStatus, Workflow
from signbridge.domain.operations import Op
from signbridge.handlers import api
from signbridge.storage.records import RecordStore
from signbridge.wiring import AwsServices
from tests.support.api import ApiClient
from tests.support.stored import place

Queued = Callable[[str], list[OperationMessage]]
R = RequestStatus


def test_a_request_pending_at_both_providers_is_cancelled_and_their_copies_removal_queued(
    api_client: ApiClient, record_store: RecordStore, queued: Queued
) -> None:
    # Given a zapsign_oneshot request awaiting a One-Shot code: it has a ZapSign document and a One-Shot request
    request = place(
        record_store,
        Workflow.ZAPSIGN_ONESHOT,
        R.AWAITING_OTP,
        since=datetime.now(UTC),
        request={"zapsign_doc_token": "doc-token-1", "current_signer": 0},
        signer=lambda _: {"oneshot_request_pk": "4242", "status": SignerStatus.OTP_SENT},
    )

    # When the client cancels it, saying why
    answer = api_client.cancel(request.id, {"reason": "the customer withdrew"})

    # Then the request is cancelled, with the reason in its timeline
    assert answer.status == 200, answer.body
    assert answer.body["status"] == "cancelled"
    last = answer.body["timeline"][-1]
    assert (last["from"], last["to"], last["cause"]) == ("awaiting_otp", "cancelled", "api")
    assert "the customer withdrew" in last["detail"]
    assert record_store.get_request(request.id).request.status is R.CANCELLED
    # and each provider's copy is queued for removal, on that provider's queue
    (zapsign,) = queued("zapsign")
    (oneshot,) = queued("oneshot")
    assert (zapsign.op, zapsign.request_id) == (Op.CANCEL_ZAPSIGN_DOCUMENT.value, request.id)
    assert (oneshot.op, oneshot.request_id) == (Op.CANCEL_ONESHOT_REQUEST.value, request.id)
    assert zapsign.correlation_id == last["correlation_id"]
    # and the documents are left as they were (the provider steps remove the providers' copies)
    assert [document["status"] for document in answer.body["documents"]] == ["received"]


def test_a_draft_is_cancelled_without_a_body_and_nothing_is_queued(
    api_client: ApiClient, record_store: RecordStore, queued: Queued
) -> None:
    # Given a draft that no provider has heard of
    request = place(record_store, Workflow.ZAPSIGN, R.DRAFT, since=datetime.now(UTC))

    # When the client cancels it without a body
    answer = api_client.cancel(request.id)

    # Then it is cancelled and there is nothing to remove anywhere
    assert answer.status == 200
    assert answer.body["status"] == "cancelled"
    assert answer.body["timeline"][-1]["detail"] == "cancelled by the client"
    assert queued("zapsign") == []
    assert queued("oneshot") == []


def test_cancelling_twice_answers_200_both_times_and_cancels_once(
    api_client: ApiClient, record_store: RecordStore
) -> None:
    # Given a cancelled request
    request = place(
        record_store, Workflow.ZAPSIGN, R.ZAPSIGN_PENDING, since=datetime.now(UTC), request={"zapsign_doc_token": "t"}
    )
    first = api_client.cancel(request.id)

    # When the client cancels it again (a retry)
    again = api_client.cancel(request.id)

    # Then the answer is the same request, cancelled once
    assert (first.status, again.status) == (200, 200)
    assert again.body["version"] == first.body["version"]
    assert [entry["to"] for entry in again.body["timeline"]].count("cancelled") == 1


@pytest.mark.parametrize(
    ("workflow", "status"),
    [
        (Workflow.ZAPSIGN, R.COMPLETED),
        (Workflow.ZAPSIGN, R.REFUSED),
        (Workflow.ONESHOT, R.FAILED),
        (Workflow.ONESHOT, R.SIGNING),
        (Workflow.ZAPSIGN, R.ARCHIVING),
    ],
)
def test_a_finished_request_or_one_being_signed_cannot_be_cancelled(
    api_client: ApiClient, record_store: RecordStore, queued: Queued, workflow: Workflow, status: RequestStatus
) -> None:
    # Given a request that has ended, or whose signature is under way
    request = place(record_store, workflow, status, since=datetime.now(UTC))

    # When the client tries to cancel it
    answer = api_client.cancel(request.id)

    # Then it is a 409 naming the status, and nothing changed or was queued
    assert answer.status == 409
    assert answer.content_type == "application/problem+json"
    assert answer.body["type"] == "https://signbridge.dev/problems/not-cancellable"
    assert status.value in answer.body["detail"]
    assert record_store.get_request(request.id).request.status is status
    assert queued("zapsign") == []
    assert queued("oneshot") == []


def test_a_cancel_that_loses_a_race_reads_the_request_again_and_cancels_it(
    api_client: ApiClient, record_store: RecordStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a request that moves (a webhook) just as the client cancels it: the first conditional write loses
    request = place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=datetime.now(UTC))
    services = AwsServices.from_settings(settings)
    monkeypatch.setattr(api, "get_services", lambda: services)
    real_move = services.records.move_request
    attempts: list[RequestStatus] = []

    def racing_move(aggregate: RequestAggregate, to: RequestStatus, **kwargs: Any) -> Any:
        attempts.append(to)
        if len(attempts) == 1:
            raise ConcurrentUpdateError(aggregate.request.id, "request", expected="submitted at version 1")
        return real_move(aggregate, to, **kwargs)

    monkeypatch.setattr(services.records, "move_request", racing_move)

    # When the client cancels it
    answer = api_client.cancel(request.id)

    # Then the cancel read the request again and won the second time
    assert answer.status == 200
    assert answer.body["status"] == "cancelled"
    assert attempts == [R.CANCELLED, R.CANCELLED]


def test_an_unknown_request_cannot_be_cancelled(api_client: ApiClient) -> None:
    answer = api_client.cancel("a" * 32)

    assert answer.status == 404
    assert answer.body["type"] == "https://signbridge.dev/problems/request-not-found"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"reason": "x" * 201}, "reason"), ({"reason": "two\nlines"}, "reason"), ({"why": "no"}, "why")],
)
def test_a_cancel_body_that_is_not_a_short_reason_is_a_422(
    api_client: ApiClient, record_store: RecordStore, body: dict[str, Any], field: str
) -> None:
    request = place(record_store, Workflow.ZAPSIGN, R.DRAFT, since=datetime.now(UTC))

    answer = api_client.cancel(request.id, body)

    assert answer.status == 422
    assert [error["field"] for error in answer.body["errors"]] == [field]
    assert record_store.get_request(request.id).request.status is R.DRAFT
