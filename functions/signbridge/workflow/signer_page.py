"""The use cases of the One-Shot signing page (docs/signer-page.md): a signer with a link, and nothing else.

Every call starts from the link's token (`signbridge.domain.signer_page`): the request it names is read once, the
signer whose stored digest matches is the only one the call may act for, and the link's state (open, result,
expired, used) decides what it may do. Signing goes through the API's own use cases (`signing.resend_otp`,
`signing.submit_otp`): the page is another way in, not another way to sign. What the page adds is the contract
acceptance (time, IP, user agent, recorded on the signer with a timeline entry), which the page asks for before any
SMS code.

The links themselves are made here too (`mint_links` when a request is created, `page_urls` for the API's view),
with the key from Secrets Manager; the page never needs the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from aws_lambda_powertools import Logger

from signbridge.domain import signer_page
from signbridge.domain.changes import TimelineNote
from signbridge.domain.errors import RequestNotFoundError
from signbridge.domain.models import Cause, RequestAggregate, RequestStatus, Signer, SignerStatus
from signbridge.domain.oneshot import OTP_INTERVAL_SECONDS
from signbridge.domain.signer_page import LinkState
from signbridge.workflow import signing
from signbridge.workflow.errors import (
    ContractNotAcceptedError,
    NotAwaitingOtpError,
    SigningLinkExpiredError,
    SigningLinkInvalidError,
    SigningLinkUsedError,
)
from signbridge.workflow.services import Services
from signbridge.workflow.step import Step

logger = Logger(child=True)

SIGN_PATH: Final = "/sign/"
MAX_USER_AGENT_CHARS: Final = 512
MAX_IP_CHARS: Final = 64
CONTRACT_ACCEPTED: Final = "the signer accepted the One-Shot service contract on the signing page"


class Phase:
    """What the page shows the signer (the page's own words for where the signer stands)."""

    WAITING = "waiting"  # not this signer's turn yet, or the documents and the contract are being prepared
    CONTRACT = "contract"  # the contract is stored: read it and accept it
    CODE = "code"  # accepted, the SMS code is sent: type it
    LOCKED = "locked"  # too many wrong codes
    SIGNING = "signing"  # the Optimizer is signing
    SIGNED = "signed"  # done; the signed PDFs follow


@dataclass(frozen=True)
class PageAccess:
    """A link that opened: the request as read, its signer, what the link may do, and until when."""

    aggregate: RequestAggregate
    signer: Signer
    state: LinkState
    expires_at: datetime
    max_failures: int

    @property
    def phase(self) -> str:
        return _phase(self)


# ------------------------------------------------------------------------------------------------ links


def mint_links(services: Services, request_id: str, signers: list[Signer]) -> list[Signer]:
    """`signers` with their signing-page link (nonce and digest) when the stage has a link key; as they are
    otherwise."""
    if not services.settings.signer_page_secret_name:
        return signers
    key = services.secrets.signer_page().key()
    minted = []
    for signer in signers:
        nonce = signer_page.new_nonce()
        token = signer_page.link_token(key, request_id, signer.index, nonce)
        minted.append(
            signer.model_copy(update={"page_link_nonce": nonce, "page_link_sha256": signer_page.token_digest(token)})
        )
    return minted


def page_urls(services: Services, aggregate: RequestAggregate) -> dict[int, str]:
    """The signing-page URL of each One-Shot signer that has a link (for the API's view; empty without a key)."""
    linked = [signer for signer in aggregate.signers if signer.page_link_nonce and signer.page_link_sha256]
    if not linked or not services.settings.signer_page_secret_name or not aggregate.request.workflow.uses_oneshot:
        return {}
    key = services.secrets.signer_page().key()
    base = services.settings.api_base_url.rstrip("/")
    request_id = aggregate.request.id
    tokens = {
        signer.index: signer_page.link_token(key, request_id, signer.index, signer.page_link_nonce or "")
        for signer in linked
    }
    return {index: f"{base}{SIGN_PATH}{token}" for index, token in tokens.items()}


# ------------------------------------------------------------------------------------------------ use cases


def open_link(services: Services, token: str) -> PageAccess:
    """The signer the link is for, and what it may do. Raises `SigningLinkInvalidError` (no such link),
    `SigningLinkExpiredError`, `SigningLinkUsedError`."""
    request_id = signer_page.request_id_of(token)
    if request_id is None:
        raise SigningLinkInvalidError("this signing link is not valid")
    try:
        aggregate = services.records.get_request(request_id)
    except RequestNotFoundError:
        raise SigningLinkInvalidError("this signing link is not valid") from None
    return _access(services, aggregate, token)


def accept_contract(services: Services, token: str, *, ip: str, user_agent: str, correlation_id: str) -> PageAccess:
    """Record that the signer accepted the service contract (time, IP, user agent; a timeline entry). Accepting
    again changes nothing. Raises the link errors, and `NotAwaitingOtpError` (409) when there is no contract to
    accept yet (not the signer's turn)."""
    access = _open_for_action(services, token)
    signer = access.signer
    if signer.contract_accepted_at is not None:
        return access
    if signer.status not in (SignerStatus.CONTRACT_STORED, SignerStatus.OTP_SENT) or not signer.contract_key:
        raise NotAwaitingOtpError("the service contract is not ready yet; reload the page in a moment")
    step = Step(services, access.aggregate, cause=Cause.API, correlation_id=correlation_id)
    updates = {
        "contract_accepted_at": services.clock(),
        "contract_acceptance": {"ip": ip[:MAX_IP_CHARS], "user_agent": user_agent[:MAX_USER_AGENT_CHARS]},
    }
    aggregate = step.update_signer(
        signer.index, updates, note=TimelineNote(Cause.API, correlation_id, CONTRACT_ACCEPTED)
    )
    logger.info("service contract accepted on the signing page", extra={"signer": signer.index})
    return _access(services, aggregate, token)


def resend_code(services: Services, token: str, *, correlation_id: str) -> None:
    """Another SMS code (the API's rule: one a minute), once the contract is accepted."""
    access = _open_for_action(services, token)
    _require_acceptance(access)
    signing.resend_otp(services, access.aggregate.request.id, access.signer.index, correlation_id=correlation_id)


def submit_code(services: Services, token: str, code: str, *, correlation_id: str) -> PageAccess:
    """Sign with the SMS code, through the API's use case (wrong codes, the lock, the Optimizer's answers: the
    same rules and errors as `POST …/otp`), once the contract is accepted."""
    access = _open_for_action(services, token)
    _require_acceptance(access)
    aggregate = signing.submit_otp(
        services, access.aggregate.request.id, access.signer.index, code, correlation_id=correlation_id
    )
    return _access(services, aggregate, token)


def resend_wait_seconds(services: Services, signer: Signer) -> int:
    """Seconds until another SMS code may be asked for (0: now)."""
    if signer.otp_sent_at is None:
        return 0
    elapsed = (services.clock() - signer.otp_sent_at).total_seconds()
    return max(0, math.ceil(OTP_INTERVAL_SECONDS - elapsed))


# ------------------------------------------------------------------------------------------------ helpers


def _access(services: Services, aggregate: RequestAggregate, token: str) -> PageAccess:
    signer = signer_page.signer_of(aggregate, token)
    if signer is None or not aggregate.request.workflow.uses_oneshot:
        raise SigningLinkInvalidError("this signing link is not valid")
    ttl = services.settings.page_link_ttl_seconds
    state = signer_page.link_state(aggregate, signer, now=services.clock(), ttl_seconds=ttl)
    if state is LinkState.EXPIRED:
        raise SigningLinkExpiredError("this signing link has expired")
    if state is LinkState.USED:
        raise SigningLinkUsedError("this signing link has been used or its request has ended")
    expires_at = signer_page.link_expires_at(aggregate, ttl)
    return PageAccess(aggregate, signer, state, expires_at, services.settings.otp_max_failures)


def _open_for_action(services: Services, token: str) -> PageAccess:
    access = open_link(services, token)
    if access.state is not LinkState.OPEN:
        raise SigningLinkUsedError("this signer has signed: the link can do nothing more")
    return access


def _require_acceptance(access: PageAccess) -> None:
    if access.signer.contract_accepted_at is None:
        raise ContractNotAcceptedError("accept the service contract before asking for or typing the SMS code")


def _phase(access: PageAccess) -> str:
    signer, request = access.signer, access.aggregate.request
    if signer.status is SignerStatus.SIGNED:
        return Phase.SIGNED
    if request.current_signer != signer.index:
        return Phase.WAITING
    if request.status is RequestStatus.SIGNING:
        return Phase.SIGNING
    if signer.contract_key and signer.status in (SignerStatus.CONTRACT_STORED, SignerStatus.OTP_SENT):
        if signer.contract_accepted_at is None:
            return Phase.CONTRACT
        if request.status is RequestStatus.AWAITING_OTP and signer.status is SignerStatus.OTP_SENT:
            return Phase.LOCKED if signer.otp_failures >= access.max_failures else Phase.CODE
    return Phase.WAITING
