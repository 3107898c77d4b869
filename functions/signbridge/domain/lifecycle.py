"""The lifecycle of a request, a document and a signer, as data.

Every allowed move is a row in one of three tables (`REQUEST_TRANSITIONS`, `DOCUMENT_TRANSITIONS`,
`SIGNER_TRANSITIONS`), one section per workflow; a move that is not in the table is refused (`check_move` raises
`TransitionNotAllowedError`). The state store calls it before it writes (`signbridge.storage.records`), so a late or
duplicate event (an old `doc_signed` after `completed`) is refused and logged instead of applied. Terminal statuses
have no row: nothing moves them.

Conventions, per workflow:

- The request walks the stages of `REQUEST_STAGES[workflow]` in order; a workflow skips the stages it does not use.
- With several One-Shot signers the request loops `signing → oneshot_pending` once per signer before `archiving`;
  a wrong SMS code moves it back `signing → awaiting_otp` (the signer may try again).
- A signed PDF that fails verification moves the request from the stage that fetched it (`zapsign_signed`,
  `signing`) to `verification_failed`, where it waits for an operator: back to that stage (fetch and verify again,
  or with the file accepted), or `failed`.
- The ways out: `cancelled` and `expired` while someone still has to act and nothing is being signed; `refused` while a
  ZapSign signer can refuse; `failed` from any stage that is not terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from signbridge.domain.errors import TransitionNotAllowedError
from signbridge.domain.models import DocumentStatus, RequestStatus, SignerStatus, Workflow

R = RequestStatus
D = DocumentStatus
S = SignerStatus

# The order of the request stages, all workflows together; each workflow uses a subsequence.
REQUEST_STAGE_ORDER: Final[tuple[RequestStatus, ...]] = (
    R.DRAFT,
    R.SUBMITTED,
    R.ZAPSIGN_PENDING,
    R.ZAPSIGN_SIGNED,
    R.ONESHOT_PENDING,
    R.AWAITING_OTP,
    R.SIGNING,
    R.ARCHIVING,
    R.COMPLETED,
)

REQUEST_STAGES: Final[Mapping[Workflow, tuple[RequestStatus, ...]]] = {
    Workflow.ZAPSIGN: (R.DRAFT, R.SUBMITTED, R.ZAPSIGN_PENDING, R.ZAPSIGN_SIGNED, R.ARCHIVING, R.COMPLETED),
    Workflow.ONESHOT: (R.DRAFT, R.SUBMITTED, R.ONESHOT_PENDING, R.AWAITING_OTP, R.SIGNING, R.ARCHIVING, R.COMPLETED),
    Workflow.ZAPSIGN_ONESHOT: REQUEST_STAGE_ORDER,
}

# Off the main line: where a request waits for an operator, and which stages of each workflow lead there.
HOLD_STATUSES: Final[Mapping[Workflow, frozenset[RequestStatus]]] = {
    workflow: frozenset({R.VERIFICATION_FAILED}) for workflow in Workflow
}

TERMINAL_REQUEST_STATUSES: Final = frozenset({R.COMPLETED, R.REFUSED, R.CANCELLED, R.EXPIRED, R.FAILED})
TERMINAL_DOCUMENT_STATUSES: Final = frozenset({D.ARCHIVED, D.DISCARDED})
TERMINAL_SIGNER_STATUSES: Final = frozenset({S.SIGNED, S.REFUSED, S.FAILED})

_STOPS: Final = frozenset({R.CANCELLED, R.EXPIRED, R.FAILED})  # while nobody is signing and someone has to act

REQUEST_TRANSITIONS: Final[Mapping[Workflow, Mapping[RequestStatus, frozenset[RequestStatus]]]] = {
    Workflow.ZAPSIGN: {
        R.DRAFT: frozenset({R.SUBMITTED, *_STOPS}),
        R.SUBMITTED: frozenset({R.ZAPSIGN_PENDING, *_STOPS}),
        R.ZAPSIGN_PENDING: frozenset({R.ZAPSIGN_SIGNED, R.REFUSED, *_STOPS}),
        R.ZAPSIGN_SIGNED: frozenset({R.ARCHIVING, R.VERIFICATION_FAILED, R.FAILED}),
        R.VERIFICATION_FAILED: frozenset({R.ZAPSIGN_SIGNED, R.FAILED}),
        R.ARCHIVING: frozenset({R.COMPLETED, R.FAILED}),
    },
    Workflow.ONESHOT: {
        R.DRAFT: frozenset({R.SUBMITTED, *_STOPS}),
        R.SUBMITTED: frozenset({R.ONESHOT_PENDING, *_STOPS}),
        R.ONESHOT_PENDING: frozenset({R.AWAITING_OTP, *_STOPS}),
        R.AWAITING_OTP: frozenset({R.SIGNING, *_STOPS}),
        R.SIGNING: frozenset({R.ARCHIVING, R.ONESHOT_PENDING, R.AWAITING_OTP, R.VERIFICATION_FAILED, R.FAILED}),
        R.VERIFICATION_FAILED: frozenset({R.SIGNING, R.FAILED}),
        R.ARCHIVING: frozenset({R.COMPLETED, R.FAILED}),
    },
    Workflow.ZAPSIGN_ONESHOT: {
        R.DRAFT: frozenset({R.SUBMITTED, *_STOPS}),
        R.SUBMITTED: frozenset({R.ZAPSIGN_PENDING, *_STOPS}),
        R.ZAPSIGN_PENDING: frozenset({R.ZAPSIGN_SIGNED, R.REFUSED, *_STOPS}),
        R.ZAPSIGN_SIGNED: frozenset({R.ONESHOT_PENDING, R.VERIFICATION_FAILED, *_STOPS}),
        R.ONESHOT_PENDING: frozenset({R.AWAITING_OTP, *_STOPS}),
        R.AWAITING_OTP: frozenset({R.SIGNING, *_STOPS}),
        R.SIGNING: frozenset({R.ARCHIVING, R.ONESHOT_PENDING, R.AWAITING_OTP, R.VERIFICATION_FAILED, R.FAILED}),
        R.VERIFICATION_FAILED: frozenset({R.ZAPSIGN_SIGNED, R.SIGNING, R.FAILED}),
        R.ARCHIVING: frozenset({R.COMPLETED, R.FAILED}),
    },
}

# Documents: ZapSign holds them as one document (main + extras); One-Shot signers sign in turn, each on the previous
# signer's output, so `oneshot_signed → oneshot_uploaded` is the next signer's upload. A document of a request that
# ends unsigned is `discarded` once no provider holds a copy. An upload that fails the intake's checks leaves its
# document `rejected` (the request stays a `draft`); the client may ask for a new upload link while the request is a
# draft, which moves it back `rejected → awaiting_upload`.
DOCUMENT_TRANSITIONS: Final[Mapping[Workflow, Mapping[DocumentStatus, frozenset[DocumentStatus]]]] = {
    Workflow.ZAPSIGN: {
        D.AWAITING_UPLOAD: frozenset({D.RECEIVED, D.REJECTED, D.DISCARDED}),
        D.REJECTED: frozenset({D.AWAITING_UPLOAD, D.DISCARDED}),
        D.RECEIVED: frozenset({D.ZAPSIGN_PENDING, D.DISCARDED}),
        D.ZAPSIGN_PENDING: frozenset({D.ARCHIVED, D.DISCARDED}),
    },
    Workflow.ONESHOT: {
        D.AWAITING_UPLOAD: frozenset({D.RECEIVED, D.REJECTED, D.DISCARDED}),
        D.REJECTED: frozenset({D.AWAITING_UPLOAD, D.DISCARDED}),
        D.RECEIVED: frozenset({D.ONESHOT_UPLOADED, D.DISCARDED}),
        D.ONESHOT_UPLOADED: frozenset({D.ONESHOT_SIGNED, D.DISCARDED}),
        D.ONESHOT_SIGNED: frozenset({D.ONESHOT_UPLOADED, D.ARCHIVED, D.DISCARDED}),
    },
    Workflow.ZAPSIGN_ONESHOT: {
        D.AWAITING_UPLOAD: frozenset({D.RECEIVED, D.REJECTED, D.DISCARDED}),
        D.REJECTED: frozenset({D.AWAITING_UPLOAD, D.DISCARDED}),
        D.RECEIVED: frozenset({D.ZAPSIGN_PENDING, D.DISCARDED}),
        D.ZAPSIGN_PENDING: frozenset({D.ZAPSIGN_SIGNED, D.DISCARDED}),
        D.ZAPSIGN_SIGNED: frozenset({D.ONESHOT_UPLOADED, D.DISCARDED}),
        D.ONESHOT_UPLOADED: frozenset({D.ONESHOT_SIGNED, D.DISCARDED}),
        D.ONESHOT_SIGNED: frozenset({D.ONESHOT_UPLOADED, D.ARCHIVED, D.DISCARDED}),
    },
}

# Signers: a missed `doc_viewed` webhook is harmless (`pending → signed` directly at ZapSign). An OTP resend is not a
# move: it updates `otp_sent_at` on a signer that stays `otp_sent`.
SIGNER_TRANSITIONS: Final[Mapping[Workflow, Mapping[SignerStatus, frozenset[SignerStatus]]]] = {
    Workflow.ZAPSIGN: {
        S.PENDING: frozenset({S.LINK_OPENED, S.SIGNED, S.REFUSED, S.FAILED}),
        S.LINK_OPENED: frozenset({S.SIGNED, S.REFUSED, S.FAILED}),
    },
    Workflow.ONESHOT: {
        S.PENDING: frozenset({S.ONESHOT_REQUESTED, S.FAILED}),
        S.ONESHOT_REQUESTED: frozenset({S.CONTRACT_STORED, S.FAILED}),
        S.CONTRACT_STORED: frozenset({S.OTP_SENT, S.FAILED}),
        S.OTP_SENT: frozenset({S.SIGNED, S.FAILED}),
    },
    Workflow.ZAPSIGN_ONESHOT: {
        S.PENDING: frozenset({S.LINK_OPENED, S.ZAPSIGN_SIGNED, S.REFUSED, S.FAILED}),
        S.LINK_OPENED: frozenset({S.ZAPSIGN_SIGNED, S.REFUSED, S.FAILED}),
        S.ZAPSIGN_SIGNED: frozenset({S.ONESHOT_REQUESTED, S.FAILED}),
        S.ONESHOT_REQUESTED: frozenset({S.CONTRACT_STORED, S.FAILED}),
        S.CONTRACT_STORED: frozenset({S.OTP_SENT, S.FAILED}),
        S.OTP_SENT: frozenset({S.SIGNED, S.FAILED}),
    },
}

# Where documents and signers start when a request is created.
INITIAL_SIGNER_STATUS: Final = S.PENDING


class NoNextStatusError(ValueError):
    """`next_status` was asked about a terminal status: nothing comes after it."""


def is_terminal(status: RequestStatus) -> bool:
    return status in TERMINAL_REQUEST_STATUSES


def is_terminal_document(status: DocumentStatus) -> bool:
    return status in TERMINAL_DOCUMENT_STATUSES


def is_terminal_signer(status: SignerStatus) -> bool:
    return status in TERMINAL_SIGNER_STATUSES


def may_transition(workflow: Workflow, from_status: RequestStatus, to_status: RequestStatus) -> bool:
    return to_status in REQUEST_TRANSITIONS[workflow].get(from_status, frozenset())


def may_transition_document(workflow: Workflow, from_status: DocumentStatus, to_status: DocumentStatus) -> bool:
    return to_status in DOCUMENT_TRANSITIONS[workflow].get(from_status, frozenset())


def may_transition_signer(workflow: Workflow, from_status: SignerStatus, to_status: SignerStatus) -> bool:
    return to_status in SIGNER_TRANSITIONS[workflow].get(from_status, frozenset())


def check_move(
    subject: str,
    request_id: str,
    *,
    workflow: Workflow,
    from_status: Any,
    to_status: Any,
    may_move: Callable[[Workflow, Any, Any], bool],
) -> None:
    """`TransitionNotAllowedError` unless `may_move` (one of the three `may_transition*`) allows the move of
    `subject` ("request", "document 2", "signer 0") in this workflow."""
    if not may_move(workflow, from_status, to_status):
        raise TransitionNotAllowedError(request_id, subject, str(workflow), str(from_status), str(to_status))


def next_status(workflow: Workflow, completed_status: RequestStatus) -> RequestStatus:
    """The stage after `completed_status` in `workflow`, skipping the stages the workflow does not use.

    Follows the main line only: the One-Shot loop for the next signer (`signing → oneshot_pending`) is the caller's
    decision, since only it knows whether a signer is left.
    """
    if is_terminal(completed_status):
        raise NoNextStatusError(f"{completed_status} is terminal")
    stages = REQUEST_STAGES[workflow]
    position = REQUEST_STAGE_ORDER.index(completed_status)
    return next(status for status in REQUEST_STAGE_ORDER[position + 1 :] if status in stages)


def initial_request_status(*, every_document_inline: bool) -> RequestStatus:
    """`submitted` when the body carried every document, `draft` while uploads are awaited."""
    return R.SUBMITTED if every_document_inline else R.DRAFT


def initial_document_status(*, inline: bool) -> DocumentStatus:
    return D.RECEIVED if inline else D.AWAITING_UPLOAD
