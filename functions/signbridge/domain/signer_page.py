"""The signing-page link of a One-Shot signer: how its token is made, checked and when it stops working.

A link is `{api}/sign/{token}`, the token `{request id}.{mac}`: `mac` is HMAC-SHA256 (256 bits, base64url) of the
request id, the signer's index and a random per-signer nonce, under a key that lives in Secrets Manager (the
`signer-page` secret). The table holds the nonce and the SHA-256 of the token, never the token: reading the table
does not give a working link, and the key alone (without the nonce) does not either. The function that serves the
page needs neither the key nor the nonce: it hashes the token it is shown and compares the hash with the signer's
(in constant time). The API, which holds the key, can show the same link again in `GET /v1/requests/{id}`.

The request id in the token is an opaque identifier (no personal data), there so the page finds the request in one
read. A token is bound to one request and one signer; it opens nothing else. It stops working when the link expires
(the request's deadline or the configured lifetime after the request was created, whichever comes first), when the
request has ended, and for signing once the signer has signed (the result stays readable for `RESULT_GRACE`, so the
page can show the signed documents as they arrive; then the link is closed for good).

Pure functions: no I/O, no clock (the caller passes the time).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from signbridge.domain.models import Language, RequestAggregate, RequestStatus, Signer, SignerStatus

MAC_BYTES: Final = 32  # HMAC-SHA256: 256 bits, beyond guessing
NONCE_BYTES: Final = 16
MAC_CHARS: Final = 43  # base64url of 32 bytes, without padding
_DOMAIN: Final = b"signbridge-signer-page/v1"
# The request id's characters (as the API's path parameter allows them), then a dot, then the MAC.
TOKEN_PATTERN: Final = rf"^[A-Za-z0-9_-]{{1,64}}\.[A-Za-z0-9_-]{{{MAC_CHARS}}}$"
_TOKEN = re.compile(TOKEN_PATTERN)
MIN_KEY_BYTES: Final = 32

# After the signer has signed, the page may still read the result (progress, the signed PDFs) this long.
RESULT_GRACE: Final = timedelta(minutes=30)
DEFAULT_LINK_TTL_SECONDS: Final = 14 * 24 * 3600

# The page's languages (ISO 639-1), from the request's `Language`.
PAGE_LANGUAGES: Final = ("es", "pt", "en")
_PAGE_LANGUAGE: Final = {Language.ES: "es", Language.PT_BR: "pt", Language.EN: "en"}


class LinkState(StrEnum):
    """What a link may do now."""

    OPEN = "open"
    """The signer may read, accept the contract, ask for and submit SMS codes (when it is their turn)."""
    RESULT = "result"
    """The signer has signed: the page shows the result and the signed PDFs, nothing more can be done."""
    EXPIRED = "expired"
    """The link's lifetime (or the request's deadline) has passed."""
    USED = "used"
    """The signer signed longer than `RESULT_GRACE` ago, or the request has ended: the link is closed."""


def new_nonce() -> str:
    return secrets.token_urlsafe(NONCE_BYTES)


def link_token(key: bytes, request_id: str, signer_index: int, nonce: str) -> str:
    """The token of the link of signer `signer_index` of `request_id` (deterministic for the key and the nonce)."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the signing-page key must have at least {MIN_KEY_BYTES} bytes")
    message = b"|".join((_DOMAIN, request_id.encode(), str(signer_index).encode(), nonce.encode()))
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return f"{request_id}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def token_digest(token: str) -> str:
    """What the table stores of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def request_id_of(token: str) -> str | None:
    """The request id a well-formed token names; None for anything else (a guess, a truncated link)."""
    if not _TOKEN.fullmatch(token):
        return None
    return token.split(".", 1)[0]


def signer_of(aggregate: RequestAggregate, token: str) -> Signer | None:
    """The signer whose link this token is, comparing digests in constant time; None when none is."""
    digest = token_digest(token)
    found = None
    for signer in aggregate.signers:
        stored = signer.page_link_sha256 or ""
        # Every signer is compared (no early exit), so the time does not tell which signer nearly matched.
        if hmac.compare_digest(stored.encode(), digest.encode()) and stored:
            found = signer
    return found


def link_expires_at(aggregate: RequestAggregate, ttl_seconds: int) -> datetime:
    """The request's deadline or `ttl_seconds` after the request was created, whichever comes first."""
    request = aggregate.request
    lifetime = request.created_at + timedelta(seconds=ttl_seconds)
    return min(lifetime, request.deadline) if request.deadline is not None else lifetime


def link_state(aggregate: RequestAggregate, signer: Signer, *, now: datetime, ttl_seconds: int) -> LinkState:
    """What the link of `signer` may do at `now` (see the module's docstring)."""
    if signer.status is SignerStatus.SIGNED:
        signed_at = signer.oneshot_signed_at or signer.status_since
        return LinkState.RESULT if now < signed_at + RESULT_GRACE else LinkState.USED
    if aggregate.request.status in _ENDED:
        return LinkState.USED
    if now >= link_expires_at(aggregate, ttl_seconds):
        return LinkState.EXPIRED
    return LinkState.OPEN


_ENDED: Final = frozenset(
    {
        RequestStatus.COMPLETED,
        RequestStatus.REFUSED,
        RequestStatus.CANCELLED,
        RequestStatus.EXPIRED,
        RequestStatus.FAILED,
    }
)


def page_language(aggregate: RequestAggregate, signer: Signer) -> str:
    """The page's first language: the signer's, else the request's."""
    return _PAGE_LANGUAGE[signer.language or aggregate.request.language]
