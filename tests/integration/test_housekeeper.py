"""The housekeeper against moto: overdue requests expire (and the providers are told), requests being signed are left
to finish, stale drafts expire with their uploads, finished requests get their Optimizer documents deleted, abandoned
uploads are removed; twice in a row changes nothing more. The run's `now` is a few hours after the real clock, so the
objects the test writes to S3 (stamped by moto with the real time) are old enough to be abandoned."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from signbridge.config import Settings
from signbridge.domain import keys
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import DocumentStatus, RequestStatus, SignerStatus, Workflow, oneshot_stage, utc_now
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.queues import DeadLetterQueues, QueueSender
from signbridge.storage.records import RecordStore
from signbridge.storage.secrets import SecretStore
from signbridge.wiring import AwsServices
from signbridge.workflow.maintenance import CLEANUP_WINDOW, DRAFT_MAX_AGE, housekeep
from signbridge.workflow.services import Services
from tests.support.aws import Queues
from tests.support.events import load_event
from tests.support.handlers import load_handler
from tests.support.lambda_context import FakeLambdaContext
from tests.support.samples import PDF_BYTES
from tests.support.stored import Received, drain, place

R = RequestStatus
D = DocumentStatus
S = SignerStatus


@pytest.fixture
def now() -> datetime:
    return utc_now() + timedelta(hours=3)


@pytest.fixture
def record_store(table: str, dynamodb_client: Any, now: datetime) -> RecordStore:
    return RecordStore(table_name=table, client=dynamodb_client, clock=lambda: now)


@pytest.fixture
def services(
    *,
    settings: Settings,
    record_store: RecordStore,
    file_store: FileStore,
    queue_sender: QueueSender,
    secret_store: SecretStore,
    idempotency_store: IdempotencyStore,
    now: datetime,
) -> Services:
    return AwsServices(
        settings=settings,
        records=record_store,
        files=file_store,
        queues=queue_sender,
        secrets=secret_store,
        idempotency=idempotency_store,
        clock=lambda: now,
    )


def ops(received: list[Received]) -> list[tuple[str | None, str, int | None]]:
    return sorted((item.message.request_id, item.op, item.message.signer) for item in received)


def put_incoming(s3_client: Any, bucket: str, key: str) -> str:
    s3_client.put_object(Bucket=bucket, Key=key, Body=PDF_BYTES)
    return key


def keys_under(s3_client: Any, bucket: str, prefix: str) -> list[str]:
    return sorted(item["Key"] for item in s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def with_oneshot_request(status: SignerStatus, **extra: Any) -> Any:
    return lambda _: {"status": status, "oneshot_request_pk": "388141", **extra}


# ------------------------------------------------------------------------------------------------ deadlines


def test_requests_past_their_deadline_expire_and_the_providers_are_told(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any, now: datetime
) -> None:
    overdue = {"deadline": now - timedelta(hours=1)}
    # Given a ZapSign request still waiting on its signer, past its deadline,
    zapsign = place(record_store, Workflow.ZAPSIGN, R.ZAPSIGN_PENDING, since=now - timedelta(days=2), request=overdue)
    # a One-Shot request whose SMS code never came back, past its deadline,
    awaiting = place(
        record_store,
        Workflow.ONESHOT,
        R.AWAITING_OTP,
        since=now - timedelta(days=2),
        request={**overdue, "current_signer": 0},
        signer=with_oneshot_request(S.OTP_SENT),
    )
    # a zapsign_oneshot request past its deadline whose ZapSign part is done (signed there: nothing to refuse),
    preparing = place(
        record_store,
        Workflow.ZAPSIGN_ONESHOT,
        R.ONESHOT_PENDING,
        since=now - timedelta(days=2),
        request={**overdue, "current_signer": 0},
        signer=with_oneshot_request(S.ONESHOT_REQUESTED),
    )
    # and a request whose deadline is tomorrow
    on_time = place(
        record_store,
        Workflow.ZAPSIGN,
        R.ZAPSIGN_PENDING,
        since=now - timedelta(days=2),
        request={"deadline": now + timedelta(days=1)},
    )
    # When the housekeeper runs
    report = housekeep(services, now=now, correlation_id="corr-housekeep")
    # Then the overdue ones expired, by the schedule, saying why
    for request in (zapsign, awaiting, preparing):
        expired = record_store.get_request(request.id)
        assert expired.request.status is R.EXPIRED
        assert expired.request.failure_reason == "deadline passed"
        assert expired.timeline[-1].cause == "schedule"
        assert expired.timeline[-1].correlation_id == "corr-housekeep"
    assert record_store.get_request(on_time.id).request.status is R.ZAPSIGN_PENDING
    assert report.expired == {"zapsign_pending": 1, "awaiting_otp": 1, "oneshot_pending": 1}
    # And ZapSign is asked to refuse the unsigned document, the Optimizer to drop its requests
    assert ops(drain(sqs_client, queues.zapsign.url)) == [(zapsign.id, "cancel_zapsign_document", None)]
    assert ops(drain(sqs_client, queues.oneshot.url)) == sorted(
        [(awaiting.id, "cancel_oneshot_request", None), (preparing.id, "cancel_oneshot_request", None)]
    )


def test_a_request_being_signed_or_archived_past_its_deadline_is_left_to_finish(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any, now: datetime
) -> None:
    overdue = {"deadline": now - timedelta(hours=1), "current_signer": 0}
    # Given a One-Shot request being signed and a ZapSign request being archived, both past their deadline
    signing = place(
        record_store,
        Workflow.ONESHOT,
        R.SIGNING,
        since=now - timedelta(minutes=2),
        request=overdue,
        signer=with_oneshot_request(S.OTP_SENT),
    )
    archiving = place(record_store, Workflow.ZAPSIGN, R.ARCHIVING, since=now - timedelta(minutes=2), request=overdue)
    # When the housekeeper runs
    report = housekeep(services, now=now, correlation_id="corr-housekeep")
    # Then both are left as they are (the lifecycle lets them finish), counted, and nothing is enqueued
    assert record_store.get_request(signing.id).request.status is R.SIGNING
    assert record_store.get_request(archiving.id).request.status is R.ARCHIVING
    assert report.left_to_finish == {"signing": 1, "archiving": 1}
    assert report.expired == {}
    assert drain(sqs_client, queues.oneshot.url) == []
    assert drain(sqs_client, queues.zapsign.url) == []


# ------------------------------------------------------------------------------------------------ drafts and uploads


def test_a_stale_draft_expires_and_its_uploads_are_removed(
    services: Services, record_store: RecordStore, s3_client: Any, bucket: str
) -> None:
    # A run half an hour after the uploads were written: too early for them to count as abandoned, so what removes
    # them is the draft's expiry.
    now = utc_now() + timedelta(minutes=30)

    def awaiting_upload(document: Any) -> dict[str, Any]:
        if document.index == 0:
            return {}  # received (its original is under originals/)
        return {
            "status": D.AWAITING_UPLOAD,
            "original_key": None,
            "incoming_key": keys.incoming_key("x", document.index),
        }

    # Given a draft created a day and an hour ago, one upload received and one that never completed its intake,
    stale = place(
        record_store,
        Workflow.ZAPSIGN,
        R.DRAFT,
        since=now - DRAFT_MAX_AGE - timedelta(hours=1),
        documents=2,
        document=awaiting_upload,
    )
    stale_upload = put_incoming(s3_client, bucket, keys.incoming_key(stale.id, 1))
    # and a draft created three hours ago whose upload is waiting for the intake
    recent = place(
        record_store, Workflow.ZAPSIGN, R.DRAFT, since=now - timedelta(hours=3), documents=2, document=awaiting_upload
    )
    recent_upload = put_incoming(s3_client, bucket, keys.incoming_key(recent.id, 1))
    # When the housekeeper runs
    report = housekeep(services, now=now, correlation_id="corr-housekeep")
    # Then the stale draft expired, saying why, its documents discarded and its upload removed
    expired = record_store.get_request(stale.id)
    assert expired.request.status is R.EXPIRED
    assert expired.request.failure_reason == "uploads did not arrive within 24 h"
    assert [document.status for document in expired.documents] == [D.DISCARDED, D.DISCARDED]
    assert keys_under(s3_client, bucket, f"incoming/{stale.id}/") == []
    assert stale_upload not in keys_under(s3_client, bucket, "incoming/")
    # And the recent draft and its upload are kept
    assert record_store.get_request(recent.id).request.status is R.DRAFT
    assert keys_under(s3_client, bucket, "incoming/") == [recent_upload]
    assert report.expired == {"draft": 1}
    assert report.incoming_deleted == 1


def test_abandoned_uploads_are_removed_and_awaited_ones_kept(
    services: Services, record_store: RecordStore, s3_client: Any, bucket: str, now: datetime
) -> None:
    # Given objects under incoming/: one whose document was already received (a second upload, or a move whose
    # delete failed), one of a request that does not exist, one that is no key SignBridge hands out,
    submitted = place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=now - timedelta(hours=4))
    received = put_incoming(s3_client, bucket, keys.incoming_key(submitted.id, 0))
    unknown = put_incoming(s3_client, bucket, keys.incoming_key("no-such-request", 0))
    stray = put_incoming(s3_client, bucket, "incoming/notes.txt")
    # and one whose document still awaits its upload
    draft = place(
        record_store,
        Workflow.ZAPSIGN,
        R.DRAFT,
        since=now - timedelta(hours=4),
        document=lambda _: {"status": D.AWAITING_UPLOAD, "original_key": None},
    )
    awaited = put_incoming(s3_client, bucket, keys.incoming_key(draft.id, 0))
    # When the housekeeper runs an hour after they were written (within the upload window)
    early = housekeep(services, now=utc_now() + timedelta(hours=1), correlation_id="corr-early")
    # Then nothing is removed yet
    assert early.incoming_deleted == 0
    assert keys_under(s3_client, bucket, "incoming/") == sorted([received, unknown, stray, awaited])
    # When it runs three hours after
    report = housekeep(services, now=now, correlation_id="corr-housekeep")
    # Then the abandoned ones are removed and the awaited one is kept
    assert keys_under(s3_client, bucket, "incoming/") == [awaited]
    assert report.incoming_deleted == 3


# ------------------------------------------------------------------------------------------------ Optimizer clean-up


def test_finished_requests_still_holding_optimizer_documents_get_them_deleted(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any, now: datetime
) -> None:
    def signed_output(document: Any) -> dict[str, Any]:
        return {"status": D.ARCHIVED, "signed_keys": {oneshot_stage(0): f"signed/x/{document.index:03d}/oneshot-0.pdf"}}

    # Given a One-Shot request completed yesterday whose delete at the Optimizer never happened,
    completed = place(
        record_store,
        Workflow.ONESHOT,
        R.COMPLETED,
        since=now - timedelta(days=1),
        signer=with_oneshot_request(S.SIGNED),
        document=signed_output,
    )
    # one cancelled while its signer had the SMS code,
    cancelled = place(
        record_store,
        Workflow.ONESHOT,
        R.CANCELLED,
        since=now - timedelta(hours=5),
        signer=with_oneshot_request(S.OTP_SENT),
    )
    # one whose documents were already deleted, a ZapSign-only one, and one that finished before the window
    place(
        record_store,
        Workflow.ONESHOT,
        R.COMPLETED,
        since=now - timedelta(days=1),
        signer=with_oneshot_request(S.SIGNED, oneshot_deleted_at=now - timedelta(days=1)),
        document=signed_output,
    )
    place(record_store, Workflow.ZAPSIGN, R.COMPLETED, since=now - timedelta(days=1))
    place(
        record_store,
        Workflow.ONESHOT,
        R.FAILED,
        since=now - CLEANUP_WINDOW - timedelta(days=1),
        signer=with_oneshot_request(S.OTP_SENT),
    )
    # When the housekeeper runs
    report = housekeep(services, now=now, correlation_id="corr-housekeep")
    # Then the signed signer's documents are deleted and the cancelled request's One-Shot request dropped
    assert ops(drain(sqs_client, queues.oneshot.url)) == sorted(
        [(completed.id, "delete_oneshot_documents", 0), (cancelled.id, "cancel_oneshot_request", None)]
    )
    assert report.cleanup_enqueued == {"delete_oneshot_documents": 1, "cancel_oneshot_request": 1}
    assert report.cleaned == 2


def test_running_twice_in_a_row_changes_nothing_more(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any, now: datetime
) -> None:
    # Given an overdue One-Shot request holding a request at the Optimizer, and a finished one with leftovers
    overdue = place(
        record_store,
        Workflow.ONESHOT,
        R.AWAITING_OTP,
        since=now - timedelta(days=1),
        request={"deadline": now - timedelta(hours=1), "current_signer": 0},
        signer=with_oneshot_request(S.OTP_SENT),
    )
    finished = place(
        record_store, Workflow.ONESHOT, R.FAILED, since=now - timedelta(days=1), signer=with_oneshot_request(S.OTP_SENT)
    )
    # When the housekeeper runs twice in a row
    first = housekeep(services, now=now, correlation_id="corr-1")
    second = housekeep(services, now=now + timedelta(seconds=30), correlation_id="corr-2")
    # Then each clean-up is on the queue once, and the second run expired nothing
    assert ops(drain(sqs_client, queues.oneshot.url)) == sorted(
        [(overdue.id, "cancel_oneshot_request", None), (finished.id, "cancel_oneshot_request", None)]
    )
    assert first.expired == {"awaiting_otp": 1}
    assert second.expired == {}
    assert record_store.get_request(overdue.id).request.version == 2  # one transition, not two


def test_a_run_is_bounded_and_counts_what_it_left_for_the_next(
    services: Services, record_store: RecordStore, now: datetime
) -> None:
    # Given three overdue requests
    for hours in (3, 2, 1):
        place(
            record_store,
            Workflow.ZAPSIGN,
            R.ZAPSIGN_PENDING,
            since=now - timedelta(hours=hours),
            request={"deadline": now - timedelta(minutes=5)},
        )
    # When a run may act on two requests
    report = housekeep(services, now=now, correlation_id="corr-housekeep", max_requests=2)
    # Then two expire and one is left for the next run
    assert report.expired == {"zapsign_pending": 2}
    assert report.skipped == {"expiry": 1}


# ------------------------------------------------------------------------------------------------ the handler


def test_the_handler_runs_at_the_events_time_and_returns_its_report(
    *,
    settings: Settings,
    record_store: RecordStore,
    queues: Queues,
    sqs_client: Any,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a ZapSign request whose deadline passed before the scheduled event's time (a run delivered a minute late:
    # it measures from when it was due, a `time` within a day of the clock)
    due = utc_now().replace(microsecond=0) - timedelta(minutes=1)
    overdue = place(
        record_store,
        Workflow.ZAPSIGN,
        R.ZAPSIGN_PENDING,
        since=due - timedelta(days=1),
        request={"deadline": due - timedelta(minutes=5)},
    )
    event = load_event("schedule/housekeeper.json", time=due.isoformat())
    # When EventBridge invokes the housekeeper with its scheduled event
    with load_handler("signbridge.handlers.housekeeper", monkeypatch) as handler_module:
        result = handler_module.handler(event, FakeLambdaContext(function_name="housekeeper"))
    # Then the request expired and the run's report is returned, JSON-ready
    assert result["expired"] == {"zapsign_pending": 1}
    assert result["now"] == due.isoformat()
    json.dumps(result)
    assert record_store.get_request(overdue.id).request.status is R.EXPIRED
    (cancel,) = drain(sqs_client, queues.zapsign.url)
    assert (cancel.op, cancel.message.correlation_id) == ("cancel_zapsign_document", event["id"])
    # And the expiry is counted as a finished request, with no personal data in the output
    output = capsys.readouterr().out
    assert '"RequestsFinished"' in output
    assert '"status":"expired"' in output
    for personal in ("Signer 0", "signer0@example.com", "+34600111222", "12345678Z"):
        assert personal not in output


def test_dead_letters_of_finished_requests_are_dropped_and_the_others_kept(
    *, services: Services, record_store: RecordStore, settings: Settings, queues: Queues, sqs_client: Any, now: datetime
) -> None:
    # Given the ZapSign dead-letter queue holding a step of a completed request, one of a request still waiting on
    # ZapSign, one of a request that does not exist, and a body that is no operation message
    done = place(record_store, Workflow.ZAPSIGN, R.COMPLETED, since=now - timedelta(days=1))
    waiting = place(record_store, Workflow.ZAPSIGN, R.ZAPSIGN_PENDING, since=now - timedelta(days=1))
    bodies = [
        OperationMessage(op="archive_zapsign_document", request_id=done.id, document=0, correlation_id="c").to_body(),
        OperationMessage(op="sync_zapsign_document", request_id=waiting.id, correlation_id="c").to_body(),
        OperationMessage(op="sync_zapsign_document", request_id="gone", correlation_id="c").to_body(),
        "Hello from SQS!",
    ]
    for number, body in enumerate(bodies):
        sqs_client.send_message(
            QueueUrl=queues.zapsign.dead_letter_url,
            MessageBody=body,
            MessageGroupId=f"g{number}",
            MessageDeduplicationId=f"d{number}",
        )
    services.dead_letters = DeadLetterQueues.from_settings(settings, client=sqs_client)

    # When the housekeeper runs
    report = housekeep(services, now=now, correlation_id="housekeeping")

    # Then the two that can never do anything again are dropped and counted; the other two wait for a person
    assert report.as_dict()["dead_letters_dropped"] == {"zapsign": 2}
    attributes = sqs_client.get_queue_attributes(
        QueueUrl=queues.zapsign.dead_letter_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 2
    )
    # And the request still under way is untouched
    assert record_store.get_request(waiting.id).request.status is R.ZAPSIGN_PENDING
