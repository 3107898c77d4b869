"""The reconciler against moto: stale requests are handed to the planner, which re-enqueues what is missing (and asks
the providers for the truth); fresh ones are left alone; a request stuck for good is given up. Requests are placed
in the store with an old `status_since` and the run is given its `now`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from signbridge.config import Settings
from signbridge.domain.models import ZAPSIGN_STAGE, DocumentStatus, RequestStatus, SignerStatus, Workflow
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.queues import QueueSender
from signbridge.storage.records import RecordStore
from signbridge.storage.secrets import SecretStore
from signbridge.wiring import AwsServices
from signbridge.workflow import maintenance, progress
from signbridge.workflow.maintenance import GIVE_UP_AFTER, StalePolicy, reconcile
from signbridge.workflow.services import Services
from tests.support.aws import Queues
from tests.support.events import load_event
from tests.support.handlers import load_handler
from tests.support.lambda_context import FakeLambdaContext
from tests.support.stored import Received, drain, place

R = RequestStatus
NOW = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)  # the time of events/schedule/reconciler.json


@pytest.fixture
def record_store(table: str, dynamodb_client: Any) -> RecordStore:
    # The store's clock at the run's time, so the entries it writes sort after those of the placed requests.
    return RecordStore(table_name=table, client=dynamodb_client, clock=lambda: NOW)


@pytest.fixture
def services(
    *,
    settings: Settings,
    record_store: RecordStore,
    file_store: FileStore,
    queue_sender: QueueSender,
    secret_store: SecretStore,
    idempotency_store: IdempotencyStore,
) -> Services:
    return AwsServices(
        settings=settings,
        records=record_store,
        files=file_store,
        queues=queue_sender,
        secrets=secret_store,
        idempotency=idempotency_store,
        clock=lambda: NOW,
    )


def emitted_metric(output: str, name: str) -> list[tuple[set[str], float]]:
    """The values of metric `name` in the EMF lines Powertools printed, with the dimension names of each line."""
    found = []
    for line in output.splitlines():
        if '"_aws"' not in line or f'"{name}"' not in line:
            continue
        document = json.loads(line)
        (dimensions,) = document["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        values = document[name] if isinstance(document[name], list) else [document[name]]
        found.extend((set(dimensions), float(value)) for value in values)
    return found


def ops(received: list[Received]) -> list[tuple[str | None, str, int | None]]:
    return sorted((item.message.request_id, item.op, item.message.signer) for item in received)


def signing_signer(**extra: Any) -> Any:
    """A One-Shot signer whose sign intent is recorded (request `signing`) but whose result is not."""
    return lambda _: {"status": SignerStatus.OTP_SENT, "oneshot_request_pk": "388141", **extra}


def uploaded_document(document: Any) -> dict[str, Any]:
    return {"status": DocumentStatus.ONESHOT_UPLOADED, "oneshot_document_uids": {0: f"uid-{document.index}"}}


# ------------------------------------------------------------------------------------------------ healing


def test_stale_requests_get_the_steps_the_planner_asks_for_on_the_right_queues(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any
) -> None:
    # Given a ZapSign request submitted an hour ago whose create message was lost,
    submitted = place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=NOW - timedelta(hours=1))
    # a ZapSign request waiting 35 minutes for its signers (a doc_signed webhook may have been lost),
    pending = place(
        record_store,
        Workflow.ZAPSIGN,
        R.ZAPSIGN_PENDING,
        since=NOW - timedelta(minutes=35),
        request={"zapsign_doc_token": "doc-token-1"},
    )
    # and a One-Shot request whose sign intent was recorded 10 minutes ago but not its result
    signing = place(
        record_store,
        Workflow.ONESHOT,
        R.SIGNING,
        since=NOW - timedelta(minutes=10),
        request={"current_signer": 0},
        signer=signing_signer(),
        document=uploaded_document,
    )
    # When the reconciler runs
    report = reconcile(services, now=NOW, correlation_id="corr-reconcile")
    # Then the create is asked again and ZapSign is re-read, on the ZapSign queue, grouped by request
    zapsign = drain(sqs_client, queues.zapsign.url)
    assert ops(zapsign) == sorted(
        [(submitted.id, "create_zapsign_document", None), (pending.id, "sync_zapsign_document", None)]
    )
    assert {item.group_id for item in zapsign} == {submitted.id, pending.id}
    # And the Optimizer is asked whether signer 0's signature exists, on the One-Shot queue
    assert ops(drain(sqs_client, queues.oneshot.url)) == [(signing.id, "confirm_oneshot_signature", 0)]
    assert all(item.message.correlation_id == "corr-reconcile" for item in zapsign)
    # And the report counts them by status, and nothing was given up or failed
    assert report.reconciled == {"submitted": 1, "zapsign_pending": 1, "signing": 1}
    assert report.gave_up == {}
    assert report.errors == {}


def test_a_request_stuck_in_archiving_is_completed_by_the_planner(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any
) -> None:
    # Given a ZapSign request whose signed PDF is stored but which stopped in archiving 10 minutes ago
    stuck = place(
        record_store,
        Workflow.ZAPSIGN,
        R.ARCHIVING,
        since=NOW - timedelta(minutes=10),
        document=lambda document: {
            "status": DocumentStatus.ZAPSIGN_PENDING,
            "signed_keys": {ZAPSIGN_STAGE: f"signed/x/{document.index:03d}/zapsign.pdf"},
        },
    )
    # When the reconciler runs
    report = reconcile(services, now=NOW, correlation_id="corr-reconcile")
    # Then the request is completed by the reconciler (cause schedule), its document archived with its final key
    aggregate = record_store.get_request(stuck.id)
    assert aggregate.request.status is R.COMPLETED
    assert aggregate.document(0).status is DocumentStatus.ARCHIVED
    assert aggregate.document(0).final_key == "signed/x/000/zapsign.pdf"
    assert aggregate.timeline[-1].cause == "schedule"
    assert report.moved == {"archiving": 1}
    assert report.finished == {"completed": 1}
    # And nothing was enqueued for it
    assert drain(sqs_client, queues.zapsign.url) == []


def test_fresh_requests_and_requests_waiting_on_people_are_left_alone(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any
) -> None:
    # Given a request submitted a minute ago, a draft and a request awaiting its SMS code for hours,
    # and a ZapSign request that waits on its signers for less than the 30-minute threshold
    fresh = place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=NOW - timedelta(minutes=1))
    place(record_store, Workflow.ZAPSIGN, R.DRAFT, since=NOW - timedelta(hours=5))
    place(record_store, Workflow.ONESHOT, R.AWAITING_OTP, since=NOW - timedelta(hours=5))
    place(record_store, Workflow.ZAPSIGN, R.ZAPSIGN_PENDING, since=NOW - timedelta(minutes=20))
    # When the reconciler runs
    report = reconcile(services, now=NOW, correlation_id="corr-reconcile")
    # Then nothing is enqueued and nothing moves
    assert drain(sqs_client, queues.zapsign.url) == []
    assert drain(sqs_client, queues.oneshot.url) == []
    assert report.reconciled == {}
    assert record_store.get_request(fresh.id).request.version == 1


def test_running_twice_in_a_row_enqueues_nothing_new(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any
) -> None:
    # Given stale requests on both queues
    place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=NOW - timedelta(hours=1))
    place(record_store, Workflow.ZAPSIGN, R.ZAPSIGN_PENDING, since=NOW - timedelta(minutes=35))
    place(record_store, Workflow.ONESHOT, R.SUBMITTED, since=NOW - timedelta(hours=1))
    # When the reconciler runs twice in a row
    reconcile(services, now=NOW, correlation_id="corr-1")
    second = reconcile(services, now=NOW + timedelta(seconds=30), correlation_id="corr-2")
    # Then each step is on its queue once: the repeats carry the same deduplication ids, which SQS drops
    zapsign = drain(sqs_client, queues.zapsign.url)
    oneshot = drain(sqs_client, queues.oneshot.url)
    assert len(zapsign) == 2
    assert len({item.deduplication_id for item in zapsign}) == 2
    # And the One-Shot request moved to oneshot_pending on the first run and its create is asked once
    assert [item.op for item in oneshot] == ["create_oneshot_request"]
    assert second.errors == {}


def test_one_broken_request_does_not_stop_the_others(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three stale requests, the planner failing for the oldest one
    broken = place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=NOW - timedelta(hours=3))
    healthy = [
        place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=NOW - timedelta(hours=2)),
        place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=NOW - timedelta(hours=1)),
    ]
    real_planner = progress.plan_next_steps

    def planner(aggregate: Any, **options: Any) -> Any:
        if aggregate.request.id == broken.id:
            raise RuntimeError("planner bug")
        return real_planner(aggregate, **options)

    monkeypatch.setattr(progress, "plan_next_steps", planner)
    # When the reconciler runs
    report = reconcile(services, now=NOW, correlation_id="corr-reconcile")
    # Then the others got their step, and the broken one is counted as an error
    assert ops(drain(sqs_client, queues.zapsign.url)) == sorted(
        (request.id, "create_zapsign_document", None) for request in healthy
    )
    assert report.errors == {"submitted": 1}
    assert report.reconciled == {"submitted": 2}


def test_a_request_stuck_for_good_is_given_up_with_a_reason(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any
) -> None:
    # Given a One-Shot request stuck in signing for longer than the give-up limit, and one just under it
    stuck = place(
        record_store,
        Workflow.ONESHOT,
        R.SIGNING,
        since=NOW - GIVE_UP_AFTER - timedelta(hours=1),
        request={"current_signer": 0},
        signer=signing_signer(),
        document=uploaded_document,
    )
    patient = place(
        record_store,
        Workflow.ONESHOT,
        R.SIGNING,
        since=NOW - GIVE_UP_AFTER + timedelta(hours=1),
        request={"current_signer": 0},
        signer=signing_signer(),
        document=uploaded_document,
    )
    # When the reconciler runs
    report = reconcile(services, now=NOW, correlation_id="corr-reconcile")
    # Then the stuck one failed, with a reason naming its status and age, by the schedule
    failed = record_store.get_request(stuck.id)
    assert failed.request.status is R.FAILED
    assert failed.request.failure_reason == "stuck in signing for 49 h; the reconciler gives up after 48 h"
    assert failed.timeline[-1].cause == "schedule"
    assert report.gave_up == {"signing": 1}
    assert report.finished == {"failed": 1}
    # And the Optimizer is told to drop its request; the other one is still being confirmed
    assert ops(drain(sqs_client, queues.oneshot.url)) == sorted(
        [(stuck.id, "cancel_oneshot_request", None), (patient.id, "confirm_oneshot_signature", 0)]
    )
    assert record_store.get_request(patient.id).request.status is R.SIGNING


def test_requests_waiting_on_signers_are_never_given_up_and_are_reread_once_an_hour(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any
) -> None:
    # Given ZapSign requests waiting on their signers for five days: one whose age is just past a whole hour,
    # one in the middle of an hour
    due = place(record_store, Workflow.ZAPSIGN, R.ZAPSIGN_PENDING, since=NOW - timedelta(days=5, minutes=4))
    place(record_store, Workflow.ZAPSIGN, R.ZAPSIGN_PENDING, since=NOW - timedelta(days=5, minutes=34))
    # When the reconciler runs
    report = reconcile(services, now=NOW, correlation_id="corr-reconcile")
    # Then only the one in its re-check window is re-read, and neither is failed
    assert ops(drain(sqs_client, queues.zapsign.url)) == [(due.id, "sync_zapsign_document", None)]
    assert report.not_due == {"zapsign_pending": 1}
    assert report.gave_up == {}


def test_a_run_is_bounded_and_counts_what_it_left_for_the_next(
    services: Services, record_store: RecordStore, queues: Queues, sqs_client: Any
) -> None:
    # Given three stale requests
    requests = [
        place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=NOW - timedelta(hours=hours)) for hours in (3, 2, 1)
    ]
    # When a run may handle only two
    report = reconcile(services, now=NOW, correlation_id="corr-reconcile", max_requests=2)
    # Then the two longest-waiting are handled and one is counted as skipped
    assert ops(drain(sqs_client, queues.zapsign.url)) == sorted(
        (request.id, "create_zapsign_document", None) for request in requests[:2]
    )
    assert report.skipped == 1


@pytest.mark.parametrize(
    ("age", "due"),
    [
        (timedelta(minutes=30), True),  # first look
        (timedelta(minutes=39), True),
        (timedelta(minutes=45), False),
        (timedelta(hours=1, minutes=5), True),  # the run holding the hour
        (timedelta(hours=1, minutes=15), False),
        (timedelta(days=3, minutes=9), True),
        (timedelta(days=3, minutes=10), False),
    ],
)
def test_a_waiting_status_is_looked_at_once_per_recheck_period(age: timedelta, due: bool) -> None:
    # Given the policy of a status that waits on people (first look at 30 minutes, then hourly)
    policy = StalePolicy(after=timedelta(minutes=30), recheck_every=timedelta(hours=1), give_up_after=None)
    # Then a run (every 10 minutes) looks at it only in the run that holds its first look or an hour mark
    assert policy.due(age) is due


def test_every_status_that_does_not_wait_on_people_has_a_threshold_and_a_give_up() -> None:
    # The statuses the reconciler leaves out are exactly those that wait on the client or an operator (a signed file
    # that failed verification: fetching it again by itself would loop), and the terminal ones
    machine = (
        set(R)
        - {R.DRAFT, R.AWAITING_OTP, R.ZAPSIGN_PENDING}
        - {R.VERIFICATION_FAILED}
        - {
            R.COMPLETED,
            R.REFUSED,
            R.CANCELLED,
            R.EXPIRED,
            R.FAILED,
        }
    )
    assert {status for status, policy in maintenance.STALE_AFTER.items() if policy.give_up_after} == machine
    assert maintenance.STALE_AFTER[R.ZAPSIGN_PENDING].give_up_after is None
    assert R.VERIFICATION_FAILED not in maintenance.STALE_AFTER


# ------------------------------------------------------------------------------------------------ the handler


def test_the_handler_reconciles_at_the_events_time_and_reports_counts_without_personal_data(
    *,
    settings: Settings,
    record_store: RecordStore,
    queues: Queues,
    sqs_client: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A run delivered three minutes late: it measures from when it was due (a `time` within a day of the clock)
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    event = load_event("schedule/reconciler.json", time=due.isoformat())
    event_time = datetime.fromisoformat(event["time"])
    # Given a request submitted an hour before the scheduled event's time, and one given up long ago
    submitted = place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=event_time - timedelta(hours=1))
    stuck = place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=event_time - timedelta(days=3))
    # When EventBridge invokes the reconciler with its scheduled event
    with load_handler("signbridge.handlers.reconciler", monkeypatch) as handler_module:
        result = handler_module.handler(event, FakeLambdaContext(function_name="reconciler"))
    # Then it measured from the event's time and returns its report
    assert result["now"] == event_time.isoformat()
    assert result["reconciled"] == {"submitted": 1}
    assert result["gave_up"] == {"submitted": 1}
    json.dumps(result)
    # And what it enqueued carries the event's id as correlation id
    (created, cancelled) = sorted(drain(sqs_client, queues.zapsign.url), key=lambda item: item.op, reverse=True)
    assert (created.message.request_id, created.op) == (submitted.id, "create_zapsign_document")
    assert (cancelled.message.request_id, cancelled.op) == (stuck.id, "cancel_zapsign_document")
    assert created.message.correlation_id == event["id"]
    # And its metrics are emitted (EMF on stdout), RequestsFinished with its status dimension
    output = capsys.readouterr().out
    assert emitted_metric(output, "RequestsReconciled") == [({"service"}, 1.0)]
    assert emitted_metric(output, "RequestsGivenUp") == [({"service"}, 1.0)]
    assert emitted_metric(output, "RequestsFinished") == [({"service", "status"}, 1.0)]
    assert '"status":"failed"' in output
    # And no personal data of the signers reaches the output
    for personal in ("Signer 0", "signer0@example.com", "+34600111222", "12345678Z"):
        assert personal not in output
