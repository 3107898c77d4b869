"""The signing-page link (`signbridge.domain.signer_page`): unguessable, bound to one request and one signer, expiring,
closed once used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signbridge.domain import signer_page
from signbridge.domain.models import (
    Language,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    Signer,
    SignerStatus,
    Workflow,
)
from signbridge.domain.signer_page import LinkState

KEY = b"k" * 32
CREATED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TTL = 7 * 24 * 3600


def aggregate(
    *,
    status: RequestStatus = RequestStatus.AWAITING_OTP,
    deadline: datetime | None = None,
    signer_status: SignerStatus = SignerStatus.OTP_SENT,
    signed_at: datetime | None = None,
    request_id: str = "0f8fad5bd9cb469fa16570867728950e",
) -> tuple[RequestAggregate, list[str]]:
    """A `oneshot` request with two signers, each with a link; answers the aggregate and the two tokens."""
    signers, tokens = [], []
    for index in range(2):
        nonce = signer_page.new_nonce()
        token = signer_page.link_token(KEY, request_id, index, nonce)
        tokens.append(token)
        signers.append(
            Signer(
                index=index,
                name=f"Signer {index}",
                status=signer_status if index == 0 else SignerStatus.PENDING,
                status_since=signed_at or CREATED,
                oneshot_signed_at=signed_at if index == 0 else None,
                page_link_nonce=nonce,
                page_link_sha256=signer_page.token_digest(token),
            )
        )
    request = SignatureRequest(
        id=request_id,
        workflow=Workflow.ONESHOT,
        status=status,
        version=3,
        language=Language.ES,
        deadline=deadline,
        created_at=CREATED,
        updated_at=CREATED,
        status_since=CREATED,
        document_count=1,
        signer_count=2,
        current_signer=0,
    )
    return RequestAggregate(request=request, documents=(), signers=tuple(signers), timeline=()), tokens


def test_a_token_names_its_request_and_opens_only_its_own_signer() -> None:
    # Given a request with two signers, each with a link
    held, tokens = aggregate()

    # Then each token names the request and finds its own signer, and only that one
    assert signer_page.request_id_of(tokens[0]) == held.request.id
    first, second = (signer_page.signer_of(held, token) for token in tokens)
    assert first is not None
    assert first.index == 0
    assert second is not None
    assert second.index == 1


def test_the_table_holds_the_digest_not_the_token() -> None:
    held, tokens = aggregate()
    stored = held.signers[0].model_dump_json()
    assert tokens[0] not in stored
    assert tokens[0].split(".")[1] not in stored
    assert signer_page.token_digest(tokens[0]) in stored


@pytest.mark.parametrize(
    "guess",
    [
        "",
        "0f8fad5bd9cb469fa16570867728950e",
        "0f8fad5bd9cb469fa16570867728950e." + "A" * 43,  # the right request id, a guessed MAC
        "0f8fad5bd9cb469fa16570867728950e." + "A" * 42,  # malformed: too short
        "../../etc/passwd." + "A" * 43,
        "x" * 65 + "." + "A" * 43,
    ],
    ids=["empty", "request-id-only", "guessed-mac", "short-mac", "path-traversal", "long-request-id"],
)
def test_a_guessed_or_malformed_token_opens_nothing(guess: str) -> None:
    held, _ = aggregate()
    assert signer_page.signer_of(held, guess) is None


def test_a_token_of_another_request_or_key_opens_nothing() -> None:
    held, tokens = aggregate()
    other_request, _ = aggregate(request_id="a" * 32)
    forged = signer_page.link_token(b"z" * 32, held.request.id, 0, held.signers[0].page_link_nonce or "")
    # A signer's real token does not open another request, and a token made with another key opens nothing.
    assert signer_page.signer_of(other_request, tokens[0]) is None
    assert signer_page.signer_of(held, forged) is None


def test_the_same_key_and_nonce_give_the_same_token_so_the_api_can_show_it_again() -> None:
    held, tokens = aggregate()
    nonce = held.signers[0].page_link_nonce or ""
    assert signer_page.link_token(KEY, held.request.id, 0, nonce) == tokens[0]
    assert signer_page.link_token(KEY, held.request.id, 1, nonce) != tokens[0]


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        signer_page.link_token(b"short", "r", 0, "n")


def test_a_link_expires_at_the_deadline_or_its_lifetime_whichever_comes_first() -> None:
    # Given a request with a deadline in two days, and links living a week
    deadline = CREATED + timedelta(days=2)
    held, _ = aggregate(deadline=deadline)
    signer = held.signers[0]

    # Then the link is open before the deadline and expired from it
    assert signer_page.link_expires_at(held, TTL) == deadline
    assert signer_page.link_state(held, signer, now=deadline - timedelta(seconds=1), ttl_seconds=TTL) is LinkState.OPEN
    assert signer_page.link_state(held, signer, now=deadline, ttl_seconds=TTL) is LinkState.EXPIRED
    # and without a deadline, at the end of its lifetime
    free, _ = aggregate()
    assert signer_page.link_expires_at(free, TTL) == CREATED + timedelta(seconds=TTL)
    later = CREATED + timedelta(seconds=TTL)
    assert signer_page.link_state(free, free.signers[0], now=later, ttl_seconds=TTL) is LinkState.EXPIRED


def test_once_signed_the_link_shows_the_result_for_a_while_then_is_used() -> None:
    signed_at = CREATED + timedelta(hours=1)
    held, _ = aggregate(status=RequestStatus.COMPLETED, signer_status=SignerStatus.SIGNED, signed_at=signed_at)
    signer = held.signers[0]
    assert signer_page.link_state(held, signer, now=signed_at, ttl_seconds=TTL) is LinkState.RESULT
    after = signed_at + signer_page.RESULT_GRACE
    assert signer_page.link_state(held, signer, now=after, ttl_seconds=TTL) is LinkState.USED


@pytest.mark.parametrize("status", [RequestStatus.CANCELLED, RequestStatus.EXPIRED, RequestStatus.FAILED])
def test_a_link_of_an_ended_request_is_used(status: RequestStatus) -> None:
    held, _ = aggregate(status=status)
    assert signer_page.link_state(held, held.signers[0], now=CREATED, ttl_seconds=TTL) is LinkState.USED


def test_the_page_speaks_the_signers_language_else_the_requests() -> None:
    held, _ = aggregate()
    assert signer_page.page_language(held, held.signers[0]) == "es"
    portuguese = held.signers[0].model_copy(update={"language": Language.PT_BR})
    assert signer_page.page_language(held, portuguese) == "pt"
