"""The state store against a real moto server: atomic creates, guarded transitions, races, lookups, listings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from signbridge.domain.changes import DocumentChange, Lookup, SignerChange
from signbridge.domain.errors import (
    ConcurrentUpdateError,
    DocumentNotFoundError,
    InvalidCursorError,
    InvalidUpdateError,
    LookupConflictError,
    RequestAlreadyExistsError,
    RequestNotFoundError,
    SignerNotFoundError,
    TransitionNotAllowedError,
)
from signbridge.domain.models import (
    Cause,
    DocumentStatus,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    SignerStatus,
    TimelineSubject,
    Workflow,
)
from signbridge.storage.records import RecordStore
from tests.support.clock import FakeClock
from tests.support.samples import new_request

R = RequestStatus


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(table: str, dynamodb_client: Any, clock: FakeClock) -> RecordStore:
    # Pages of 3 items, so reading a request of a few items already takes several Query pages.
    return RecordStore(table_name=table, client=dynamodb_client, clock=clock, query_page_size=3)


def create(
    store: RecordStore, clock: FakeClock, workflow: Workflow = Workflow.ZAPSIGN, **options: Any
) -> SignatureRequest:
    request, documents, signers = new_request(workflow, now=clock(), **options)
    store.create_request(request, documents, signers, cause=Cause.API, correlation_id="corr-create")
    return request


def held(store: RecordStore, request: SignatureRequest) -> RequestAggregate:
    """The aggregate as a caller holding `request` (at its status and version) sees it."""
    return store.get_request(request.id).model_copy(update={"request": request})


def move(store: RecordStore, request: SignatureRequest, to: R, **options: Any) -> RequestAggregate:
    return store.move_request(
        held(store, request), to, cause=options.pop("cause", Cause.WORKER), correlation_id="corr-move", **options
    )


# ------------------------------------------------------------------------------------------------ create and read


def test_a_request_is_created_whole_and_read_back_in_one_query(store: RecordStore, clock: FakeClock) -> None:
    # Given a request with two documents and three signers
    request, documents, signers = new_request(Workflow.ZAPSIGN_ONESHOT, documents=2, signers=3, now=clock())
    # When it is created and read back
    store.create_request(request, documents, signers, cause=Cause.API, correlation_id="corr-1", detail="created")
    aggregate = store.get_request(request.id)
    # Then everything comes back as written, with the creation on the timeline
    assert aggregate.request == request
    assert list(aggregate.documents) == documents
    assert list(aggregate.signers) == signers
    (entry,) = aggregate.timeline
    assert (entry.from_status, entry.to_status, entry.cause, entry.correlation_id, entry.detail) == (
        None,
        "submitted",
        Cause.API,
        "corr-1",
        "created",
    )


def test_a_duplicate_create_is_refused_and_changes_nothing(store: RecordStore, clock: FakeClock) -> None:
    # Given an existing request
    request = create(store, clock)
    # When the same id is created again, with other content
    again, documents, signers = new_request(request_id=request.id, documents=2, now=clock())
    with pytest.raises(RequestAlreadyExistsError):
        store.create_request(again, documents, signers, cause=Cause.API, correlation_id="corr-2")
    # Then the first one is untouched: one document, one timeline entry
    aggregate = store.get_request(request.id)
    assert len(aggregate.documents) == 1
    assert len(aggregate.timeline) == 1


def test_reading_a_missing_request_says_so(store: RecordStore) -> None:
    # Given no request with that id
    # When it is read, whole or only its item
    # Then the error says the request does not exist
    with pytest.raises(RequestNotFoundError):
        store.get_request("missing")
    with pytest.raises(RequestNotFoundError):
        store.get_request_item("missing")


# ------------------------------------------------------------------------------------------------ transitions


def test_a_transition_moves_the_request_and_records_it(store: RecordStore, clock: FakeClock) -> None:
    # Given a submitted request
    request = create(store, clock)
    clock.advance(timedelta(minutes=5))
    # When it moves to zapsign_pending with a field learned on the way
    result = move(store, request, R.ZAPSIGN_PENDING, detail="zapsign doc created", updates={"zapsign_doc_token": "t1"})
    # Then status, version, times and the field change together
    item = store.get_request_item(request.id)
    assert (item.status, item.version, item.zapsign_doc_token) == (R.ZAPSIGN_PENDING, 2, "t1")
    assert item.status_since == item.updated_at == clock() == result.request.status_since
    assert item.created_at == request.created_at
    assert result.request.version == 2
    # And the timeline says what happened, in order
    timeline = store.get_request(request.id).timeline
    assert [(entry.from_status, entry.to_status) for entry in timeline] == [
        (None, "submitted"),
        ("submitted", "zapsign_pending"),
    ]
    assert (timeline[1].cause, timeline[1].correlation_id, timeline[1].detail) == (
        Cause.WORKER,
        "corr-move",
        "zapsign doc created",
    )
    # And the status index follows
    (listed,) = store.list_by_status(R.ZAPSIGN_PENDING).items
    assert listed.id == request.id
    assert store.list_by_status(R.SUBMITTED).items == ()


def test_a_stale_version_loses_and_writes_nothing(store: RecordStore, clock: FakeClock) -> None:
    # Given a request that already moved once
    request = create(store, clock)
    move(store, request, R.ZAPSIGN_PENDING)
    # When a writer still holding version 1 tries another move from submitted
    with pytest.raises(ConcurrentUpdateError) as lost:
        move(store, request, R.CANCELLED)
    # Then it is told what it found, and nothing was written
    assert lost.value.actual == "zapsign_pending at version 2"
    assert store.get_request_item(request.id).status is R.ZAPSIGN_PENDING
    assert len(store.get_request(request.id).timeline) == 2


def test_a_move_outside_the_lifecycle_is_refused_before_writing(store: RecordStore, clock: FakeClock) -> None:
    # Given a submitted zapsign request
    request = create(store, clock)
    # When something tries to skip to archiving
    with pytest.raises(TransitionNotAllowedError) as refused:
        move(store, request, R.ARCHIVING)
    # Then nothing changed
    assert (refused.value.from_status, refused.value.to_status) == ("submitted", "archiving")
    item = store.get_request_item(request.id)
    assert (item.status, item.version) == (R.SUBMITTED, 1)
    assert len(store.get_request(request.id).timeline) == 1


def test_a_late_event_cannot_move_a_finished_request(store: RecordStore, clock: FakeClock) -> None:
    # Given a completed request
    request = create(store, clock)
    aggregate = store.get_request(request.id)
    for target in [R.ZAPSIGN_PENDING, R.ZAPSIGN_SIGNED, R.ARCHIVING, R.COMPLETED]:
        aggregate = store.move_request(aggregate, target, cause=Cause.WORKER, correlation_id="c")
    # When an old doc_signed hint is acted on, with the current version even
    current = store.get_request(request.id)
    assert current.request.version == 5
    with pytest.raises(TransitionNotAllowedError):
        store.move_request(current, R.ZAPSIGN_SIGNED, cause=Cause.WEBHOOK, correlation_id="late")
    # Then it stays completed
    assert store.get_request_item(request.id).status is R.COMPLETED


def test_a_stale_aggregate_loses_and_a_missing_request_is_reported(store: RecordStore, clock: FakeClock) -> None:
    # Given a request at version 2, and a caller still holding it at version 1
    # When it moves it
    # Then the stale aggregate loses and a missing request is reported
    request = create(store, clock)
    stale = store.get_request(request.id)
    store.move_request(stale, R.ZAPSIGN_PENDING, cause=Cause.WORKER, correlation_id="c")
    with pytest.raises(ConcurrentUpdateError):
        store.move_request(stale, R.CANCELLED, cause=Cause.WORKER, correlation_id="c")
    with pytest.raises(RequestNotFoundError):
        store.get_request("missing")


def test_a_transition_of_a_missing_request_says_so(store: RecordStore, clock: FakeClock) -> None:
    # Given an aggregate of a request that was never written
    request, documents, signers = new_request(Workflow.ZAPSIGN, now=clock())
    unwritten = RequestAggregate(request=request, documents=tuple(documents), signers=tuple(signers), timeline=())
    # When it is moved
    # Then the error says the request does not exist
    with pytest.raises(RequestNotFoundError):
        store.move_request(unwritten, R.ZAPSIGN_PENDING, cause=Cause.WORKER, correlation_id="c")


def run_together(count: int, attempt: Callable[[], object]) -> tuple[list[object], list[Exception]]:
    """Run `attempt` in `count` threads released at the same instant; their results and their errors."""
    barrier = threading.Barrier(count)
    results: list[object] = []
    errors: list[Exception] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(attempt())
        except Exception as error:  # collected for the assertions
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_of_two_concurrent_writers_exactly_one_wins(store: RecordStore, clock: FakeClock) -> None:
    # Given a submitted request and several workers holding version 1 (a duplicate message, a redrive)
    request = create(store, clock)
    # When they all try to move it at the same instant
    results, errors = run_together(6, lambda: move(store, request, R.ZAPSIGN_PENDING))
    # Then exactly one move happened, the others lost cleanly, and the timeline has one entry for it
    assert len(results) == 1
    assert len(errors) == 5
    assert all(isinstance(error, ConcurrentUpdateError) for error in errors)
    assert store.get_request_item(request.id).version == 2
    assert len(store.get_request(request.id).timeline) == 2


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ({"version": 7}, "not a field an update may set"),
        ({"status": "completed"}, "not a field an update may set"),
        ({"colour": "blue"}, "not a field an update may set"),
        ({"current_signer": "first"}, "valid integer"),
    ],
)
def test_extra_updates_are_checked_against_the_model(
    store: RecordStore, clock: FakeClock, updates: dict[str, Any], message: str
) -> None:
    # Given an update of a protected, unknown or mistyped field
    # When a transition carries it
    # Then it is refused before writing
    request = create(store, clock)
    with pytest.raises(InvalidUpdateError, match=message):
        move(store, request, R.ZAPSIGN_PENDING, updates=updates)
    assert store.get_request_item(request.id).version == 1


def test_an_update_to_none_removes_the_field(store: RecordStore, clock: FakeClock) -> None:
    # Given a request with current_signer set
    # When a transition sets it to None
    # Then the field is gone
    request = create(store, clock, workflow=Workflow.ONESHOT)
    move(store, request, R.ONESHOT_PENDING, updates={"current_signer": 0})
    store.move_request(
        store.get_request(request.id), R.FAILED, cause=Cause.WORKER, correlation_id="c",
        updates={"current_signer": None, "failure_reason": "optimizer refused the request"},
    )  # fmt: skip
    item = store.get_request_item(request.id)
    assert (item.current_signer, item.failure_reason) == (None, "optimizer refused the request")


# ------------------------------------------------------------------------------------------------ parts in one write


def test_a_step_records_its_move_parts_and_lookup_atomically(store: RecordStore, clock: FakeClock) -> None:
    # Given a submitted zapsign request with two documents and two signers
    request = create(store, clock, documents=2, signers=2)
    # When the ZapSign document is created: request, documents, signers and the token lookup in one write
    move(
        store,
        request,
        R.ZAPSIGN_PENDING,
        updates={"zapsign_doc_token": "doc-main"},
        lookups=[Lookup.zapsign_doc("doc-main"), Lookup.zapsign_doc("doc-extra", document=1)],
        document_changes=[
            DocumentChange(
                0, DocumentStatus.RECEIVED, DocumentStatus.ZAPSIGN_PENDING, {"zapsign_doc_token": "doc-main"}
            ),
            DocumentChange(
                1, DocumentStatus.RECEIVED, DocumentStatus.ZAPSIGN_PENDING,
                {"zapsign_doc_token": "doc-extra", "zapsign_is_extra": True},
            ),
        ],
        signer_changes=[
            SignerChange(index, SignerStatus.PENDING, None, {"zapsign_signer_token": f"s{index}", "sign_url": f"https://z/{index}"})
            for index in range(2)
        ],
    )  # fmt: skip
    # Then all of it is there
    aggregate = store.get_request(request.id)
    assert [document.status for document in aggregate.documents] == [DocumentStatus.ZAPSIGN_PENDING] * 2
    assert aggregate.document(1).zapsign_is_extra
    assert [signer.sign_url for signer in aggregate.signers] == ["https://z/0", "https://z/1"]
    # And both tokens lead back to the request
    main = store.find_by_zapsign_doc_token("doc-main")
    extra = store.find_by_zapsign_doc_token("doc-extra")
    assert main is not None
    assert extra is not None
    assert (main.request_id, main.document) == (request.id, None)
    assert (extra.request_id, extra.document) == (request.id, 1)
    assert store.find_by_zapsign_doc_token("unknown") is None


def test_every_part_move_written_with_a_request_move_is_on_the_timeline(store: RecordStore, clock: FakeClock) -> None:
    # Given a zapsign request at ZapSign with two signers
    request = create(store, clock, signers=2)
    move(store, request, R.ZAPSIGN_PENDING)
    aggregate = store.get_request(request.id)
    clock.advance(timedelta(seconds=1))
    # When both signers sign, written together with the request's move
    answered = store.move_request(
        aggregate, R.ZAPSIGN_SIGNED, cause=Cause.WEBHOOK, correlation_id="corr-signed",
        signer_changes=[SignerChange(index, SignerStatus.PENDING, SignerStatus.SIGNED) for index in range(2)],
    )  # fmt: skip
    # Then the timeline has the request's move and one entry per signer, in that order, with the move's cause
    timeline = store.get_request(request.id).timeline
    signed = [entry for entry in timeline if entry.correlation_id == "corr-signed"]
    assert [(entry.subject, entry.subject_index, entry.from_status, entry.to_status) for entry in signed] == [
        (TimelineSubject.REQUEST, None, R.ZAPSIGN_PENDING, R.ZAPSIGN_SIGNED),
        (TimelineSubject.SIGNER, 0, SignerStatus.PENDING, SignerStatus.SIGNED),
        (TimelineSubject.SIGNER, 1, SignerStatus.PENDING, SignerStatus.SIGNED),
    ]
    assert {entry.cause for entry in signed} == {Cause.WEBHOOK}
    assert len({entry.id for entry in timeline}) == len(timeline)
    # and the aggregate the write answered says the same
    assert answered.timeline == timeline
    # And the transaction wrote them compactly: one timeline item per transaction
    events = store._client.query(
        TableName=store._table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :event)",
        ExpressionAttributeValues={":pk": {"S": f"REQUEST#{request.id}"}, ":event": {"S": "EVENT#"}},
    )["Items"]
    assert len(events) == 3  # created, zapsign_pending, zapsign_signed with its two signers


def test_a_failed_part_condition_cancels_the_whole_step(store: RecordStore, clock: FakeClock) -> None:
    # Given a request whose document 0 is not where the step believes
    request = create(store, clock)
    # When the step expects it awaiting upload
    with pytest.raises(ConcurrentUpdateError) as lost:
        move(
            store, request, R.ZAPSIGN_PENDING, lookups=[Lookup.zapsign_doc("doc-x")],
            document_changes=[DocumentChange(0, DocumentStatus.AWAITING_UPLOAD, DocumentStatus.RECEIVED)],
        )  # fmt: skip
    # Then neither the request nor the lookup was written
    assert lost.value.subject == "document 0"
    assert store.get_request_item(request.id).version == 1
    assert store.find_by_zapsign_doc_token("doc-x") is None


def test_a_token_cannot_point_at_two_requests(store: RecordStore, clock: FakeClock) -> None:
    # Given a token already recorded for request A
    first = create(store, clock)
    move(store, first, R.ZAPSIGN_PENDING, lookups=[Lookup.zapsign_doc("doc-shared")])
    # When request B's step claims the same token
    second = create(store, clock)
    with pytest.raises(LookupConflictError) as conflict:
        move(store, second, R.ZAPSIGN_PENDING, lookups=[Lookup.zapsign_doc("doc-shared")])
    # Then B's step is not applied, and the token still leads to A
    assert conflict.value.kind == "zapsign_doc"
    assert store.get_request_item(second.id).status is R.SUBMITTED
    target = store.find_by_zapsign_doc_token("doc-shared")
    assert target is not None
    assert target.request_id == first.id


def test_the_same_request_may_record_its_lookup_again(store: RecordStore, clock: FakeClock) -> None:
    # Given a One-Shot request pk recorded with signer 0's move
    request = create(store, clock, workflow=Workflow.ONESHOT)
    move(store, request, R.ONESHOT_PENDING)
    aggregate = store.move_part(
        store.get_request(request.id),
        SignerChange(0, SignerStatus.PENDING, SignerStatus.ONESHOT_REQUESTED, {"oneshot_request_pk": "388141"}),
        cause=Cause.WORKER, correlation_id="c", lookups=[Lookup.oneshot_request(388141, signer=0)],
    )  # fmt: skip
    # When a retried step writes the same lookup with another change of the same request
    aggregate = store.update_part(
        aggregate, SignerChange(0, SignerStatus.ONESHOT_REQUESTED, updates={"contract_key": "contracts/x.pdf"})
    )
    store.move_part(
        aggregate, SignerChange(0, SignerStatus.ONESHOT_REQUESTED, SignerStatus.CONTRACT_STORED),
        cause=Cause.WORKER, correlation_id="c", lookups=[Lookup.oneshot_request("388141", signer=0)],
    )  # fmt: skip
    # Then it is accepted, and the pk leads to the request and the signer
    target = store.find_by_oneshot_request(388141)
    assert target is not None
    assert (target.request_id, target.signer) == (request.id, 0)
    signer = store.get_request(request.id).signer(0)
    assert (signer.status, signer.oneshot_request_pk, signer.contract_key) == (
        SignerStatus.CONTRACT_STORED,
        "388141",
        "contracts/x.pdf",
    )


# ------------------------------------------------------------------------------------------------ part transitions


def test_a_document_moves_on_its_own_status_and_is_on_the_timeline(store: RecordStore, clock: FakeClock) -> None:
    # Given a received document
    # When it is uploaded to the Optimizer
    # Then its uid is recorded with the move, on the timeline, and the request does not move
    request = create(store, clock, workflow=Workflow.ONESHOT)
    clock.advance(timedelta(seconds=1))  # entries at the same instant have no defined order
    result = store.move_part(
        store.get_request(request.id),
        DocumentChange(
            0, DocumentStatus.RECEIVED, DocumentStatus.ONESHOT_UPLOADED, {"oneshot_document_uids": {0: "604b889f"}}
        ),
        cause=Cause.WORKER,
        correlation_id="c",
    )
    aggregate = store.get_request(request.id)
    assert aggregate.document(0).oneshot_document_uids == {0: "604b889f"}
    entry = aggregate.timeline[-1]
    assert (entry.subject, entry.subject_index, entry.to_status, entry.id) == (
        TimelineSubject.DOCUMENT,
        0,
        "oneshot_uploaded",
        result.timeline[-1].id,
    )
    # The request itself did not move
    assert aggregate.request.version == 1


def test_two_concurrent_document_moves_one_wins(store: RecordStore, clock: FakeClock) -> None:
    # Given two workers uploading the same document
    # When both record the move at once
    # Then one wins and the other loses cleanly
    request = create(store, clock, workflow=Workflow.ONESHOT)
    aggregate = store.get_request(request.id)
    results, errors = run_together(
        2,
        lambda: store.move_part(
            aggregate, DocumentChange(0, DocumentStatus.RECEIVED, DocumentStatus.ONESHOT_UPLOADED),
            cause=Cause.WORKER, correlation_id="c",
        ),
    )  # fmt: skip
    assert len(results) == 1
    assert [type(error) for error in errors] == [ConcurrentUpdateError]


def test_a_part_move_can_require_the_request_status(store: RecordStore, clock: FakeClock) -> None:
    # Given a request that was cancelled while a document step was in flight
    request = create(store, clock, workflow=Workflow.ONESHOT)
    move(store, request, R.CANCELLED)
    # When the step tries to record the upload, only while the request is oneshot_pending
    with pytest.raises(ConcurrentUpdateError) as lost:
        store.move_part(
            held(store, request), DocumentChange(0, DocumentStatus.RECEIVED, DocumentStatus.ONESHOT_UPLOADED),
            cause=Cause.WORKER, correlation_id="c", request_status=R.ONESHOT_PENDING,
        )  # fmt: skip
    # Then nothing is written
    assert lost.value.actual == "cancelled"
    assert store.get_request(request.id).document(0).status is DocumentStatus.RECEIVED


def test_part_moves_check_the_lifecycle_and_existence(store: RecordStore, clock: FakeClock) -> None:
    # Given a zapsign request
    # When its parts are moved wrongly, or parts that do not exist
    # Then each mistake has its error
    request = create(store, clock)
    aggregate = store.get_request(request.id)
    with pytest.raises(TransitionNotAllowedError):
        store.move_part(
            aggregate,
            SignerChange(0, SignerStatus.PENDING, SignerStatus.OTP_SENT),
            cause=Cause.WORKER,
            correlation_id="c",
        )
    with pytest.raises(SignerNotFoundError):
        store.move_part(
            aggregate,
            SignerChange(5, SignerStatus.PENDING, SignerStatus.SIGNED),
            cause=Cause.WEBHOOK,
            correlation_id="c",
        )
    with pytest.raises(DocumentNotFoundError):
        store.update_part(aggregate, DocumentChange(9, DocumentStatus.RECEIVED, updates={"size": 1}))
    with pytest.raises(InvalidUpdateError):
        store.update_part(aggregate, SignerChange(0, SignerStatus.PENDING, updates={"status": "signed"}))


# ------------------------------------------------------------------------------------------------ listings


def test_list_by_external_id_pages_newest_first(store: RecordStore, clock: FakeClock) -> None:
    # Given three requests of one client order and one of another
    created = []
    for _ in range(3):
        created.append(create(store, clock, external_id="order-42"))
        clock.advance(timedelta(seconds=1))
    create(store, clock, external_id="order-43")
    # When listed two at a time
    first = store.list_by_external_id("order-42", limit=2)
    assert first.next_cursor is not None
    second = store.list_by_external_id("order-42", limit=2, cursor=first.next_cursor)
    # Then every request of the order comes once, newest first, and the last page ends the listing
    assert [request.id for request in first.items + second.items] == [request.id for request in reversed(created)]
    assert second.next_cursor is None or store.list_by_external_id("order-42", cursor=second.next_cursor).items == ()
    # And a cursor cannot be replayed against another order
    with pytest.raises(InvalidCursorError):
        store.list_by_external_id("order-43", cursor=first.next_cursor)


def test_the_reconciler_finds_requests_stuck_in_a_status(store: RecordStore, clock: FakeClock) -> None:
    # Given two requests submitted an hour ago, then one just now
    stuck = [create(store, clock), create(store, clock)]
    clock.advance(timedelta(hours=1))
    create(store, clock)
    # When asked for submitted requests that have not moved for 30 minutes, one per page
    page = store.list_by_status(R.SUBMITTED, older_than=timedelta(minutes=30), limit=1)
    found = list(page.items)
    while page.next_cursor:
        page = store.list_by_status(R.SUBMITTED, older_than=timedelta(minutes=30), limit=1, cursor=page.next_cursor)
        found.extend(page.items)
    # Then exactly the stuck ones come back
    assert sorted(request.id for request in found) == sorted(request.id for request in stuck)
    assert len(store.list_by_status(R.SUBMITTED).items) == 3


def test_the_housekeeper_finds_requests_that_finished_recently(store: RecordStore, clock: FakeClock) -> None:
    # Given requests that reached a status ten days ago, two days ago and an hour ago
    old = create(store, clock, status=R.COMPLETED)
    clock.advance(timedelta(days=8))
    recent = [create(store, clock, status=R.COMPLETED)]
    clock.advance(timedelta(days=2) - timedelta(hours=1))
    recent.append(create(store, clock, status=R.COMPLETED))
    clock.advance(timedelta(hours=1))
    # When asked for those whose status changed within the last week, as of now
    found = store.list_by_status(R.COMPLETED, newer_than=timedelta(days=7)).items
    # Then the old one is left out, the longest-waiting first
    assert [request.id for request in found] == [request.id for request in recent]
    assert old.id not in {request.id for request in found}
    # And both bounds together select a window, measured from a given time instead of the store's clock
    window = store.list_by_status(
        R.COMPLETED, newer_than=timedelta(days=3), older_than=timedelta(days=1), now=clock() + timedelta(hours=2)
    ).items
    assert [request.id for request in window] == [recent[0].id]
