"""The lifecycle tables: every allowed move, every terminal state, late events, the order of the stages."""

from __future__ import annotations

import itertools

import pytest

from signbridge.domain import lifecycle
from signbridge.domain.lifecycle import (
    DOCUMENT_TRANSITIONS,
    HOLD_STATUSES,
    REQUEST_STAGES,
    REQUEST_TRANSITIONS,
    SIGNER_TRANSITIONS,
    TERMINAL_DOCUMENT_STATUSES,
    TERMINAL_REQUEST_STATUSES,
    TERMINAL_SIGNER_STATUSES,
    NoNextStatusError,
    is_terminal,
    may_transition,
    may_transition_document,
    may_transition_signer,
    next_status,
)
from signbridge.domain.models import DocumentStatus, RequestStatus, SignerStatus, Workflow

R = RequestStatus
D = DocumentStatus
S = SignerStatus

ALLOWED_REQUEST_MOVES = [
    (workflow, source, target)
    for workflow, table in REQUEST_TRANSITIONS.items()
    for source, targets in table.items()
    for target in sorted(targets)
]
ALLOWED_DOCUMENT_MOVES = [
    (workflow, source, target)
    for workflow, table in DOCUMENT_TRANSITIONS.items()
    for source, targets in table.items()
    for target in sorted(targets)
]
ALLOWED_SIGNER_MOVES = [
    (workflow, source, target)
    for workflow, table in SIGNER_TRANSITIONS.items()
    for source, targets in table.items()
    for target in sorted(targets)
]


def _reachable(table: dict, start: object) -> set:
    seen, frontier = {start}, [start]
    while frontier:
        for target in table.get(frontier.pop(), ()):
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


# ------------------------------------------------------------------------------------------------ request


@pytest.mark.parametrize(("workflow", "source", "target"), ALLOWED_REQUEST_MOVES)
def test_every_move_in_the_request_table_is_allowed(workflow: Workflow, source: R, target: R) -> None:
    # Given a row of the table
    # When asked whether the move is allowed
    # Then it is, and it never starts from a terminal status
    assert may_transition(workflow, source, target)
    assert not is_terminal(source)


@pytest.mark.parametrize("workflow", list(Workflow))
def test_a_move_outside_the_table_is_refused(workflow: Workflow) -> None:
    # Given every pair of statuses
    for source, target in itertools.product(RequestStatus, RequestStatus):
        # When the pair is not a row of the workflow's table
        allowed = target in REQUEST_TRANSITIONS[workflow].get(source, frozenset())
        # Then may_transition agrees with the table, and nothing moves to where it already is
        assert may_transition(workflow, source, target) is allowed
        assert not (source == target and allowed)


@pytest.mark.parametrize(("workflow", "terminal"), list(itertools.product(Workflow, sorted(TERMINAL_REQUEST_STATUSES))))
def test_terminal_statuses_never_move(workflow: Workflow, terminal: R) -> None:
    # Given a finished request
    # When any event arrives, late or not
    # Then no status is reachable from it
    assert is_terminal(terminal)
    assert all(not may_transition(workflow, terminal, target) for target in RequestStatus)


@pytest.mark.parametrize(
    ("workflow", "late_target"),
    [
        (Workflow.ZAPSIGN, R.ZAPSIGN_SIGNED),  # an old doc_signed after completed
        (Workflow.ZAPSIGN, R.REFUSED),  # a refusal after completion
        (Workflow.ZAPSIGN_ONESHOT, R.ZAPSIGN_SIGNED),
        (Workflow.ONESHOT, R.SIGNING),  # a replayed OTP submission
        (Workflow.ONESHOT, R.CANCELLED),
    ],
)
def test_a_late_event_cannot_move_a_completed_request(workflow: Workflow, late_target: R) -> None:
    # Given a completed request
    # When a late event would move it
    # Then the move is refused
    assert not may_transition(workflow, R.COMPLETED, late_target)


@pytest.mark.parametrize(
    ("workflow", "source", "target"),
    [
        (Workflow.ZAPSIGN, R.SUBMITTED, R.ONESHOT_PENDING),  # a stage the workflow does not use
        (Workflow.ONESHOT, R.SUBMITTED, R.ZAPSIGN_PENDING),
        (Workflow.ZAPSIGN_ONESHOT, R.ZAPSIGN_SIGNED, R.ARCHIVING),  # skipping the One-Shot part
        (Workflow.ZAPSIGN_ONESHOT, R.DRAFT, R.COMPLETED),  # jumping to the end
        (Workflow.ONESHOT, R.ARCHIVING, R.SIGNING),  # backwards
        (Workflow.ONESHOT, R.SIGNING, R.CANCELLED),  # no cancel while the Optimizer is signing
        (Workflow.ZAPSIGN, R.ARCHIVING, R.CANCELLED),  # nor once every signature is in
        (Workflow.ONESHOT, R.AWAITING_OTP, R.REFUSED),  # refusal is a ZapSign event
        (Workflow.ZAPSIGN, R.ZAPSIGN_SIGNED, R.EXPIRED),  # everyone signed: nothing left to expire
    ],
)
def test_forbidden_moves_are_refused(workflow: Workflow, source: R, target: R) -> None:
    # Given a move the lifecycle does not allow
    # When asked
    # Then it is refused
    assert not may_transition(workflow, source, target)


@pytest.mark.parametrize("workflow", list(Workflow))
def test_a_workflow_table_only_names_its_own_stages(workflow: Workflow) -> None:
    # Given the stages the workflow uses
    known = set(REQUEST_STAGES[workflow]) | TERMINAL_REQUEST_STATUSES | HOLD_STATUSES[workflow]
    # When every source and target of its table is listed
    named = set(REQUEST_TRANSITIONS[workflow])
    named |= {target for targets in REQUEST_TRANSITIONS[workflow].values() for target in targets}
    # Then none is a stage of another workflow
    assert named <= known


@pytest.mark.parametrize("workflow", list(Workflow))
def test_every_stage_is_reachable_and_can_finish(workflow: Workflow) -> None:
    # Given the workflow's table
    table = REQUEST_TRANSITIONS[workflow]
    # When walking it from draft
    reachable = _reachable(dict(table), R.DRAFT)
    # Then every stage of the workflow is reachable, and from every stage a terminal status is
    assert set(REQUEST_STAGES[workflow]) <= reachable
    for stage in REQUEST_STAGES[workflow]:
        assert _reachable(dict(table), stage) & TERMINAL_REQUEST_STATUSES
        if not is_terminal(stage):
            assert may_transition(workflow, stage, R.FAILED), f"{stage} cannot fail"


@pytest.mark.parametrize(
    ("workflow", "expected_line"),
    [
        (Workflow.ZAPSIGN, [R.DRAFT, R.SUBMITTED, R.ZAPSIGN_PENDING, R.ZAPSIGN_SIGNED, R.ARCHIVING, R.COMPLETED]),
        (
            Workflow.ONESHOT,
            [R.DRAFT, R.SUBMITTED, R.ONESHOT_PENDING, R.AWAITING_OTP, R.SIGNING, R.ARCHIVING, R.COMPLETED],
        ),
        (
            Workflow.ZAPSIGN_ONESHOT,
            [
                R.DRAFT,
                R.SUBMITTED,
                R.ZAPSIGN_PENDING,
                R.ZAPSIGN_SIGNED,
                R.ONESHOT_PENDING,
                R.AWAITING_OTP,
                R.SIGNING,
                R.ARCHIVING,
                R.COMPLETED,
            ],
        ),
    ],
)
def test_next_status_walks_the_main_line_of_each_workflow(workflow: Workflow, expected_line: list[R]) -> None:
    # Given a request at draft
    line = [R.DRAFT]
    # When next_status is followed to the end
    while not is_terminal(line[-1]):
        following = next_status(workflow, line[-1])
        # Then each step is an allowed move
        assert may_transition(workflow, line[-1], following)
        line.append(following)
    # And the line is the workflow's stages in order
    assert line == expected_line == list(REQUEST_STAGES[workflow])


@pytest.mark.parametrize(
    ("workflow", "completed", "expected"),
    [
        (Workflow.ONESHOT, R.SUBMITTED, R.ONESHOT_PENDING),  # skips the ZapSign stages
        (Workflow.ZAPSIGN, R.ZAPSIGN_SIGNED, R.ARCHIVING),  # skips the One-Shot stages
        (Workflow.ZAPSIGN_ONESHOT, R.ZAPSIGN_SIGNED, R.ONESHOT_PENDING),
        (Workflow.ONESHOT, R.ZAPSIGN_SIGNED, R.ONESHOT_PENDING),  # a stage the workflow does not use
    ],
)
def test_next_status_skips_stages_the_workflow_does_not_use(workflow: Workflow, completed: R, expected: R) -> None:
    # Given a completed stage
    # When asking for the next one
    # Then the first stage after it that the workflow uses comes back
    assert next_status(workflow, completed) is expected


@pytest.mark.parametrize("terminal", sorted(TERMINAL_REQUEST_STATUSES))
def test_next_status_of_a_terminal_status_is_an_error(terminal: R) -> None:
    # Given a terminal status
    # When asking what comes next
    # Then there is nothing
    with pytest.raises(NoNextStatusError):
        next_status(Workflow.ZAPSIGN_ONESHOT, terminal)


@pytest.mark.parametrize("workflow", [Workflow.ONESHOT, Workflow.ZAPSIGN_ONESHOT])
def test_one_shot_loops_for_the_next_signer_and_after_a_wrong_code(workflow: Workflow) -> None:
    # Given a request whose current signer is being signed for
    # When another signer is left, or the code was wrong
    # Then the request may go back for the next signer or the next code attempt
    assert may_transition(workflow, R.SIGNING, R.ONESHOT_PENDING)
    assert may_transition(workflow, R.SIGNING, R.AWAITING_OTP)


# ------------------------------------------------------------------------------------------------ documents


@pytest.mark.parametrize(("workflow", "source", "target"), ALLOWED_DOCUMENT_MOVES)
def test_every_move_in_the_document_table_is_allowed(workflow: Workflow, source: D, target: D) -> None:
    # Given a row of the document table
    # Then it is allowed and does not start from a terminal status
    assert may_transition_document(workflow, source, target)
    assert not lifecycle.is_terminal_document(source)


@pytest.mark.parametrize(
    ("workflow", "terminal"), list(itertools.product(Workflow, sorted(TERMINAL_DOCUMENT_STATUSES)))
)
def test_terminal_document_statuses_never_move(workflow: Workflow, terminal: D) -> None:
    # Given a document in a terminal status
    # Then nothing moves it
    assert all(not may_transition_document(workflow, terminal, target) for target in DocumentStatus)


@pytest.mark.parametrize(
    ("workflow", "path"),
    [
        (Workflow.ZAPSIGN, [D.AWAITING_UPLOAD, D.RECEIVED, D.ZAPSIGN_PENDING, D.ARCHIVED]),
        (
            Workflow.ONESHOT,
            [D.RECEIVED, D.ONESHOT_UPLOADED, D.ONESHOT_SIGNED, D.ONESHOT_UPLOADED, D.ONESHOT_SIGNED, D.ARCHIVED],
        ),
        (
            Workflow.ZAPSIGN_ONESHOT,
            [D.RECEIVED, D.ZAPSIGN_PENDING, D.ZAPSIGN_SIGNED, D.ONESHOT_UPLOADED, D.ONESHOT_SIGNED, D.ARCHIVED],
        ),
    ],
)
def test_a_document_follows_its_workflow(workflow: Workflow, path: list[D]) -> None:
    # Given the path a document takes (two One-Shot signers in the oneshot case)
    # Then every step is allowed
    for source, target in itertools.pairwise(path):
        assert may_transition_document(workflow, source, target), f"{source} -> {target}"


@pytest.mark.parametrize(
    ("workflow", "source", "target"),
    [
        (Workflow.ZAPSIGN, D.RECEIVED, D.ONESHOT_UPLOADED),
        (Workflow.ZAPSIGN_ONESHOT, D.ZAPSIGN_SIGNED, D.ARCHIVED),  # skipping One-Shot
        (Workflow.ONESHOT, D.RECEIVED, D.REJECTED),  # only an upload can be rejected
        (Workflow.ONESHOT, D.ONESHOT_UPLOADED, D.ARCHIVED),  # the signed output is stored first
    ],
)
def test_forbidden_document_moves_are_refused(workflow: Workflow, source: D, target: D) -> None:
    # Given a document move the lifecycle does not allow
    # When asked
    # Then it is refused
    assert not may_transition_document(workflow, source, target)


@pytest.mark.parametrize("workflow", list(Workflow))
def test_a_rejected_upload_may_be_uploaded_again_and_only_an_upload(workflow: Workflow) -> None:
    # Given a document whose upload failed the intake's checks
    # Then the client may upload it again (a new link moves it back to awaiting_upload), or the request ends
    assert DOCUMENT_TRANSITIONS[workflow][D.REJECTED] == {D.AWAITING_UPLOAD, D.DISCARDED}
    assert not lifecycle.is_terminal_document(D.REJECTED)
    # and nothing else goes back to awaiting an upload: an accepted original is never replaced
    assert [source for source in DocumentStatus if may_transition_document(workflow, source, D.AWAITING_UPLOAD)] == [
        D.REJECTED
    ]


@pytest.mark.parametrize("workflow", list(Workflow))
def test_every_unfinished_document_can_be_discarded(workflow: Workflow) -> None:
    # Given a request that ends without signatures
    # Then every document that is not finished may be discarded
    for source in DOCUMENT_TRANSITIONS[workflow]:
        assert may_transition_document(workflow, source, D.DISCARDED)


# ------------------------------------------------------------------------------------------------ signers


@pytest.mark.parametrize(("workflow", "source", "target"), ALLOWED_SIGNER_MOVES)
def test_every_move_in_the_signer_table_is_allowed(workflow: Workflow, source: S, target: S) -> None:
    # Given a row of the signer table
    # When asked
    # Then it is allowed and does not start from a terminal status
    assert may_transition_signer(workflow, source, target)
    assert not lifecycle.is_terminal_signer(source)


@pytest.mark.parametrize(("workflow", "terminal"), list(itertools.product(Workflow, sorted(TERMINAL_SIGNER_STATUSES))))
def test_terminal_signer_statuses_never_move(workflow: Workflow, terminal: S) -> None:
    # Given a signer in a terminal status
    # When any event arrives
    # Then nothing moves them
    assert all(not may_transition_signer(workflow, terminal, target) for target in SignerStatus)


@pytest.mark.parametrize(
    ("workflow", "path"),
    [
        (Workflow.ZAPSIGN, [S.PENDING, S.LINK_OPENED, S.SIGNED]),
        (Workflow.ZAPSIGN, [S.PENDING, S.SIGNED]),  # the doc_viewed webhook was lost: harmless
        (Workflow.ONESHOT, [S.PENDING, S.ONESHOT_REQUESTED, S.CONTRACT_STORED, S.OTP_SENT, S.SIGNED]),
        (
            Workflow.ZAPSIGN_ONESHOT,
            [S.PENDING, S.LINK_OPENED, S.ZAPSIGN_SIGNED, S.ONESHOT_REQUESTED, S.CONTRACT_STORED, S.OTP_SENT, S.SIGNED],
        ),
    ],
)
def test_a_signer_follows_their_workflow(workflow: Workflow, path: list[S]) -> None:
    # Given the path a signer takes in the workflow
    # When each step is asked
    # Then every step is allowed
    for source, target in itertools.pairwise(path):
        assert may_transition_signer(workflow, source, target), f"{source} -> {target}"


@pytest.mark.parametrize(
    ("workflow", "source", "target"),
    [
        (Workflow.ZAPSIGN_ONESHOT, S.LINK_OPENED, S.SIGNED),  # the qualified signature is still missing
        (Workflow.ZAPSIGN, S.PENDING, S.ZAPSIGN_SIGNED),  # zapsign-only signers end at signed
        (Workflow.ONESHOT, S.OTP_SENT, S.OTP_SENT),  # a resend updates otp_sent_at; it is not a move
        (Workflow.ONESHOT, S.PENDING, S.REFUSED),  # refusal is a ZapSign event
    ],
)
def test_forbidden_signer_moves_are_refused(workflow: Workflow, source: S, target: S) -> None:
    # Given a signer move the lifecycle does not allow
    # When asked
    # Then it is refused
    assert not may_transition_signer(workflow, source, target)


def test_initial_statuses_depend_on_how_documents_arrive() -> None:
    # Given a body with every document inline, or some left to upload
    # Then the request starts submitted or draft, and each document received or awaiting its upload
    assert lifecycle.initial_request_status(every_document_inline=True) is R.SUBMITTED
    assert lifecycle.initial_request_status(every_document_inline=False) is R.DRAFT
    assert lifecycle.initial_document_status(inline=True) is D.RECEIVED
    assert lifecycle.initial_document_status(inline=False) is D.AWAITING_UPLOAD
