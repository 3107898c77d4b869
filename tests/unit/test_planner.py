"""The planner (`signbridge.workflow.planner`) on plain in-memory aggregates: what each workflow stage asks for next.

No store and no queue: a request is built in memory in the status under test, and the plan is read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from signbridge.domain.changes import DocumentChange, Move, Plan
from signbridge.domain.models import (
    Document,
    DocumentStatus,
    IdImageKind,
    RequestAggregate,
    RequestStatus,
    Signer,
    SignerStatus,
    Workflow,
    oneshot_stage,
)
from signbridge.domain.operations import Op, Queue
from signbridge.workflow.planner import final_key, oneshot_input_key, plan_next_steps
from tests.support.samples import new_request

R = RequestStatus
D = DocumentStatus
S = SignerStatus
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CORRELATION = "corr-planner"


def aggregate(
    workflow: Workflow,
    status: RequestStatus,
    *,
    documents: int = 1,
    signers: int = 1,
    request: dict[str, Any] | None = None,
    document: Callable[[Document], dict[str, Any]] | None = None,
    signer: Callable[[Signer], dict[str, Any]] | None = None,
) -> RequestAggregate:
    """A request in `status`, built in memory; `request`, `document(d)` and `signer(s)` give field updates."""
    base, document_items, signer_items = new_request(
        workflow, request_id="req-1", documents=documents, signers=signers, now=NOW
    )
    return RequestAggregate(
        request=base.model_copy(update={"status": status, **(request or {})}),
        documents=tuple(item.model_copy(update=document(item) if document else {}) for item in document_items),
        signers=tuple(item.model_copy(update=signer(item) if signer else {}) for item in signer_items),
        timeline=(),
    )


def plan(current: RequestAggregate, *, stale: bool = False) -> Plan:
    return plan_next_steps(current, correlation_id=CORRELATION, stale=stale)


def steps(result: Plan) -> list[tuple[str, int | None, int | None]]:
    """(op, signer, document) of each planned step."""
    return [(step.op, step.signer, step.document) for step in result.steps]


def signed_keys(*stages: str) -> Callable[[Document], dict[str, Any]]:
    return lambda document: {
        "signed_keys": {stage: f"signed/req-1/{document.index:03d}/{stage}.pdf" for stage in stages}
    }


EVIDENCE = {kind: f"evidence/req-1/000/{kind.value}.jpg" for kind in IdImageKind}


# ------------------------------------------------------------------------------------------------ draft, submitted


def test_a_draft_whose_documents_all_arrived_is_submitted() -> None:
    # Given a draft whose two uploaded documents were both received
    current = aggregate(Workflow.ZAPSIGN, R.DRAFT, documents=2)
    # When the planner is asked
    result = plan(current)
    # Then it moves the request on by itself, with nothing to enqueue
    assert result.move == Move(R.SUBMITTED, "every document received")
    assert result.steps == ()


def test_a_draft_still_waiting_for_an_upload_waits() -> None:
    # Given a draft with one document still awaiting its upload
    current = aggregate(
        Workflow.ZAPSIGN,
        R.DRAFT,
        documents=2,
        document=lambda d: {"status": D.AWAITING_UPLOAD} if d.index == 1 else {},
    )
    # When the planner is asked / Then nothing happens until the upload arrives
    assert plan(current).empty


def test_a_submitted_zapsign_request_creates_its_zapsign_document() -> None:
    # Given a submitted request of a workflow that starts at ZapSign
    for workflow in (Workflow.ZAPSIGN, Workflow.ZAPSIGN_ONESHOT):
        result = plan(aggregate(workflow, R.SUBMITTED))
        # Then one step creates the ZapSign document, on the ZapSign queue, for this request and correlation id
        assert steps(result) == [(Op.CREATE_ZAPSIGN_DOCUMENT, None, None)]
        assert result.move is None
        (step,) = result.steps
        assert (step.request_id, step.correlation_id) == ("req-1", CORRELATION)
        assert Op(step.op).queue is Queue.ZAPSIGN


def test_a_submitted_oneshot_request_hands_the_turn_to_signer_0() -> None:
    # Given a submitted One-Shot request
    result = plan(aggregate(Workflow.ONESHOT, R.SUBMITTED))
    # Then it moves to oneshot_pending with signer 0's turn
    assert result.move == Move(R.ONESHOT_PENDING, "One-Shot turn of signer 0", updates={"current_signer": 0})


# ------------------------------------------------------------------------------------------------ ZapSign stages


def test_a_pending_zapsign_request_waits_for_its_webhooks_unless_stale() -> None:
    # Given a request waiting for its ZapSign signers
    current = aggregate(Workflow.ZAPSIGN, R.ZAPSIGN_PENDING)
    # When the worker asks, nothing is due (the webhooks drive this stage)
    assert plan(current).empty
    # When the reconciler asks (stale), ZapSign itself is asked for the truth
    assert steps(plan(current, stale=True)) == [(Op.SYNC_ZAPSIGN_DOCUMENT, None, None)]


def test_a_zapsign_signed_request_archives_each_document_not_yet_stored() -> None:
    # Given a ZapSign-signed request: document 0 stored already, documents 1 and 2 not
    current = aggregate(
        Workflow.ZAPSIGN,
        R.ZAPSIGN_SIGNED,
        documents=3,
        document=lambda d: {"status": D.ZAPSIGN_SIGNED if d.index == 0 else D.ZAPSIGN_PENDING},
    )
    # When the planner is asked
    result = plan(current)
    # Then one archive step per missing document, and no move yet
    assert steps(result) == [(Op.ARCHIVE_ZAPSIGN_DOCUMENT, None, 1), (Op.ARCHIVE_ZAPSIGN_DOCUMENT, None, 2)]
    assert result.move is None


def test_a_zapsign_request_with_every_signed_document_stored_moves_to_archiving() -> None:
    current = aggregate(
        Workflow.ZAPSIGN, R.ZAPSIGN_SIGNED, documents=2, document=lambda _: {"status": D.ZAPSIGN_SIGNED}
    )
    assert plan(current) == Plan(move=Move(R.ARCHIVING, "every ZapSign-signed document stored"))


def test_a_zapsign_oneshot_request_also_archives_the_id_evidence_then_starts_oneshot() -> None:
    # Given a zapsign_oneshot request whose documents are stored, but signer 1 has no ID evidence stored yet
    stored = aggregate(
        Workflow.ZAPSIGN_ONESHOT,
        R.ZAPSIGN_SIGNED,
        signers=2,
        document=lambda _: {"status": D.ZAPSIGN_SIGNED},
        signer=lambda s: {"evidence_keys": EVIDENCE} if s.index == 0 else {},
    )
    # When the planner is asked / Then signer 1's evidence is archived first
    assert steps(plan(stored)) == [(Op.ARCHIVE_ZAPSIGN_EVIDENCE, 1, None)]
    # Given every signer's evidence stored as well
    complete = stored.model_copy(
        update={"signers": tuple(s.model_copy(update={"evidence_keys": EVIDENCE}) for s in stored.signers)}
    )
    # Then the One-Shot part starts with signer 0
    assert plan(complete).move == Move(
        R.ONESHOT_PENDING, "ZapSign part stored; One-Shot turn of signer 0", updates={"current_signer": 0}
    )


# ------------------------------------------------------------------------------------------------ One-Shot stages


@pytest.mark.parametrize(
    ("signer_status", "uploaded", "expected"),
    [
        (S.PENDING, {}, [(Op.CREATE_ONESHOT_REQUEST, 0, None)]),
        (S.ZAPSIGN_SIGNED, {}, [(Op.CREATE_ONESHOT_REQUEST, 0, None)]),
        (
            S.ONESHOT_REQUESTED,
            {0: "uid-0"},
            [(Op.UPLOAD_ONESHOT_DOCUMENT, 0, 1), (Op.UPLOAD_ONESHOT_DOCUMENT, 0, 2)],
        ),
        (S.ONESHOT_REQUESTED, {0: "uid-0", 1: "uid-1", 2: "uid-2"}, [(Op.STORE_ONESHOT_CONTRACT, 0, None)]),
        (S.CONTRACT_STORED, {0: "uid-0", 1: "uid-1", 2: "uid-2"}, [(Op.SEND_ONESHOT_OTP, 0, None)]),
    ],
)
def test_oneshot_pending_walks_the_current_signer_through_its_steps(
    signer_status: SignerStatus, uploaded: dict[int, str], expected: list[tuple[str, int | None, int | None]]
) -> None:
    # Given signer 0's One-Shot turn, the signer at `signer_status`, the documents in `uploaded` at the Optimizer
    current = aggregate(
        Workflow.ONESHOT,
        R.ONESHOT_PENDING,
        documents=3,
        request={"current_signer": 0},
        signer=lambda _: {"status": signer_status},
        document=lambda d: {"oneshot_document_uids": {0: uploaded[d.index]} if d.index in uploaded else {}},
    )
    # When the planner is asked
    result = plan(current)
    # Then the next step of that signer is due, on the One-Shot queue
    assert steps(result) == expected
    assert result.move is None
    assert {Op(step.op).queue for step in result.steps} == {Queue.ONESHOT}


def test_an_sms_sent_to_the_current_signer_awaits_the_code() -> None:
    current = aggregate(
        Workflow.ONESHOT, R.ONESHOT_PENDING, request={"current_signer": 0}, signer=lambda _: {"status": S.OTP_SENT}
    )
    assert plan(current) == Plan(move=Move(R.AWAITING_OTP, "SMS code sent to signer 0"))


def test_awaiting_a_code_plans_nothing() -> None:
    # The client submits the code; the housekeeper expires the request at its deadline
    current = aggregate(
        Workflow.ONESHOT, R.AWAITING_OTP, request={"current_signer": 0}, signer=lambda _: {"status": S.OTP_SENT}
    )
    assert plan(current).empty
    assert plan(current, stale=True).empty


def test_a_sign_without_a_recorded_result_is_confirmed_only_when_stale() -> None:
    # Given a request signing, whose signer's signature is not recorded (the API crashed or still waits)
    current = aggregate(
        Workflow.ONESHOT, R.SIGNING, request={"current_signer": 0}, signer=lambda _: {"status": S.OTP_SENT}
    )
    # Then the worker leaves it; the reconciler asks the Optimizer
    assert plan(current).empty
    assert steps(plan(current, stale=True)) == [(Op.CONFIRM_ONESHOT_SIGNATURE, 0, None)]


def test_a_signed_signer_retrieves_each_signed_document_not_yet_stored() -> None:
    current = aggregate(
        Workflow.ONESHOT,
        R.SIGNING,
        documents=2,
        request={"current_signer": 0},
        signer=lambda _: {"status": S.SIGNED},
        document=lambda d: signed_keys(oneshot_stage(0))(d) if d.index == 0 else {},
    )
    assert steps(plan(current)) == [(Op.RETRIEVE_ONESHOT_DOCUMENT, 0, 1)]


def test_after_a_signer_signed_the_turn_passes_to_the_next_then_the_request_archives() -> None:
    # Given two One-Shot signers; signer 0 signed and every document of theirs is stored
    first_done = aggregate(
        Workflow.ONESHOT,
        R.SIGNING,
        signers=2,
        request={"current_signer": 0},
        signer=lambda s: {"status": S.SIGNED if s.index == 0 else S.PENDING},
        document=signed_keys(oneshot_stage(0)),
    )
    # Then the turn passes to signer 1
    assert plan(first_done).move == Move(R.ONESHOT_PENDING, "One-Shot turn of signer 1", updates={"current_signer": 1})
    # Given signer 1 signed too and their documents are stored
    both_done = aggregate(
        Workflow.ONESHOT,
        R.SIGNING,
        signers=2,
        request={"current_signer": 1},
        signer=lambda _: {"status": S.SIGNED},
        document=signed_keys(oneshot_stage(0), oneshot_stage(1)),
    )
    # Then the request moves to archiving
    assert plan(both_done).move == Move(R.ARCHIVING, "every One-Shot signature stored")


# ------------------------------------------------------------------------------------------------ archiving, the end


def test_archiving_completes_the_request_with_each_document_pointing_at_its_last_signed_version() -> None:
    # Given a zapsign_oneshot request archiving, document 0 archived already, document 1 not
    current = aggregate(
        Workflow.ZAPSIGN_ONESHOT,
        R.ARCHIVING,
        documents=2,
        document=lambda d: {
            "status": D.ARCHIVED if d.index == 0 else D.ONESHOT_SIGNED,
            **signed_keys("zapsign", oneshot_stage(0))(d),
        },
    )
    # When the planner is asked
    result = plan(current)
    # Then the request completes, archiving document 1 with the One-Shot output as its final key
    expected = DocumentChange(
        1, D.ONESHOT_SIGNED, D.ARCHIVED, {"final_key": f"signed/req-1/001/{oneshot_stage(0)}.pdf"}
    )
    assert result.move == Move(R.COMPLETED, "every signed document stored", document_changes=(expected,))


def test_a_completed_request_deletes_each_signer_documents_from_the_optimizer_once() -> None:
    # Given a completed One-Shot request whose signer 0 signed and whose outputs are all stored
    done = aggregate(
        Workflow.ONESHOT,
        R.COMPLETED,
        signers=2,
        signer=lambda s: {"status": S.SIGNED, "oneshot_request_pk": f"{100 + s.index}"},
        document=signed_keys(oneshot_stage(0), oneshot_stage(1)),
    )
    # Then both signers' documents are deleted at the Optimizer (it never deletes anything itself)
    assert steps(plan(done)) == [
        (Op.DELETE_ONESHOT_DOCUMENTS, 0, None),
        (Op.DELETE_ONESHOT_DOCUMENTS, 1, None),
        (Op.BUILD_EVIDENCE_PACKAGE, None, None),  # and its evidence package is built
    ]
    # Given the deletion of signer 0 recorded
    deleted = done.model_copy(
        update={
            "signers": tuple(
                s.model_copy(update={"oneshot_deleted_at": NOW}) if s.index == 0 else s for s in done.signers
            )
        }
    )
    # Then only signer 1's remains to do
    assert steps(plan(deleted)) == [(Op.DELETE_ONESHOT_DOCUMENTS, 1, None), (Op.BUILD_EVIDENCE_PACKAGE, None, None)]


@pytest.mark.parametrize("status", [R.REFUSED, R.CANCELLED, R.EXPIRED, R.FAILED])
def test_a_request_that_ended_otherwise_plans_no_move(status: RequestStatus) -> None:
    assert plan(aggregate(Workflow.ZAPSIGN, status)).empty


# ------------------------------------------------------------------------------------------------ the helpers


def test_the_final_key_is_the_last_stage_of_the_workflow() -> None:
    keys = signed_keys("zapsign", oneshot_stage(0), oneshot_stage(1))
    (document,) = aggregate(Workflow.ZAPSIGN, R.ARCHIVING, document=keys).documents
    assert final_key(Workflow.ZAPSIGN, document, 2) == "signed/req-1/000/zapsign.pdf"
    assert final_key(Workflow.ONESHOT, document, 2) == "signed/req-1/000/oneshot-1.pdf"
    assert final_key(Workflow.ZAPSIGN_ONESHOT, document, 1) == "signed/req-1/000/oneshot-0.pdf"


def test_each_oneshot_signer_signs_the_previous_output() -> None:
    keys = signed_keys("zapsign", oneshot_stage(0))
    (document,) = aggregate(Workflow.ZAPSIGN_ONESHOT, R.ONESHOT_PENDING, document=keys).documents
    assert oneshot_input_key(Workflow.ONESHOT, document, 0) == document.original_key
    assert oneshot_input_key(Workflow.ZAPSIGN_ONESHOT, document, 0) == "signed/req-1/000/zapsign.pdf"
    assert oneshot_input_key(Workflow.ZAPSIGN_ONESHOT, document, 1) == "signed/req-1/000/oneshot-0.pdf"


def test_a_completed_request_builds_its_evidence_package_until_it_is_recorded_and_again_when_asked() -> None:
    # Given a completed ZapSign request without an evidence package
    done = aggregate(Workflow.ZAPSIGN, R.COMPLETED, document=signed_keys("zapsign"))
    # Then its package is built
    assert steps(plan(done)) == [(Op.BUILD_EVIDENCE_PACKAGE, None, None)]
    # Given the package recorded
    built = done.model_copy(
        update={"request": done.request.model_copy(update={"evidence_key": "packages/x", "evidence_built_at": NOW})}
    )
    # Then nothing is left to do
    assert steps(plan(built)) == []
    # Given a rebuild asked after the build
    asked = NOW + timedelta(minutes=1)
    again = built.model_copy(update={"request": built.request.model_copy(update={"evidence_requested_at": asked})})
    # Then it is built again, as a new generation (SQS does not drop it as a repeat of the first build)
    (message,) = plan(again).steps
    assert (message.op, message.generation) == (Op.BUILD_EVIDENCE_PACKAGE, int(asked.timestamp() * 1000))
    # And a request that did not complete never gets one
    assert steps(plan(aggregate(Workflow.ZAPSIGN, R.FAILED))) == []


@pytest.mark.parametrize("workflow", list(Workflow))
@pytest.mark.parametrize("stale", [False, True])
def test_a_request_held_after_a_failed_verification_waits_for_an_operator(workflow: Workflow, stale: bool) -> None:
    # Given a request whose signed file did not pass verification (not even the reconciler re-fetches it)
    request, documents, signers = new_request(workflow, request_id="req-1")
    aggregate = RequestAggregate(
        request=request.model_copy(update={"status": RequestStatus.VERIFICATION_FAILED}),
        documents=tuple(documents),
        signers=tuple(signers),
        timeline=(),
    )
    # Then the planner moves nothing and asks for nothing
    assert plan_next_steps(aggregate, correlation_id="c", stale=stale) == Plan()
