"""Provider webhooks: check the caller, store the raw body first, enqueue a hint for the worker, answer fast.

A webhook body is never trusted (docs/design.md, "Fetch, don't trust"): it only says which provider object to look at.
The acknowledgement path is the raw body to S3 (content-addressed, so a duplicate delivery lands on the same key) and
one enqueue; the worker re-reads the provider and decides. One section per provider, each with its own entry point.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from aws_lambda_powertools import Logger

from signbridge import api_routes
from signbridge.domain import keys
from signbridge.domain.json_limits import check_json_limits
from signbridge.domain.messages import OperationMessage
from signbridge.domain.operations import Op, Queue
from signbridge.workflow.errors import (
    MalformedCallbackError,
    MalformedWebhookError,
    PayloadTooLargeError,
    UnknownCallbackAddressError,
    WrongWebhookSecretError,
)
from signbridge.workflow.services import Services

logger = Logger(child=True)

RAW_EVENT_MAX_BYTES: Final = 1024 * 1024  # provider callbacks are a few hundred bytes; anything near this is not one


class Disposition(StrEnum):
    """What became of an accepted webhook call."""

    QUEUED = "queued"  # stored, and a hint queued for the worker
    STORED = "stored"  # stored only: an event SignBridge does not act upon (or one naming nothing usable)


@dataclass(frozen=True)
class WebhookOutcome:
    """An accepted webhook call: what became of it, where the body was stored, how many hints were queued. A call
    that is refused raises instead (`UnknownCallerError`, `PayloadTooLargeError`, `JsonLimitError`,
    `MalformedEventError`)."""

    disposition: Disposition
    raw_key: str
    enqueued: int = 0


def _secret_matches(given: str, accepted: tuple[str, ...]) -> bool:
    """Constant-time comparison against every accepted secret (all are compared, whichever matches)."""
    given_bytes = given.encode()
    matches = [hmac.compare_digest(given_bytes, secret.encode()) for secret in accepted]
    return any(matches)


def _store_raw(services: Services, provider: str, body: bytes, received_at: datetime) -> tuple[str, str]:
    """The raw body at `raw/{provider}/{date}/{sha256}.json`; returns (key, sha256)."""
    digest = hashlib.sha256(body).hexdigest()
    key = keys.raw_event_key(provider, received_at.strftime("%Y-%m-%d"), digest)
    services.files.store_bytes(
        key, body, expect_pdf=False, max_bytes=RAW_EVENT_MAX_BYTES, content_type="application/json"
    )
    return key, digest


# ------------------------------------------------------------------------------------------------ One-Shot


ONESHOT_PROVIDER: Final = "oneshot"


# The query of the callback address a create gave (`workflow.oneshot.create._callback_url`): the request and signer.
_CALLBACK_REQUEST: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CALLBACK_SIGNER: Final = re.compile(r"[0-9]{1,3}")


def accept_oneshot_callback(
    services: Services,
    path_secret: str,
    body: bytes,
    received_at: datetime,
    *,
    correlation_id: str,
    query: Mapping[str, str] | None = None,
) -> WebhookOutcome:
    """`POST /webhooks/oneshot/{secret}`: the Optimizer's status-change callback (docs/providers/oneshot.md §6.2).

    The Optimizer sends no signature and no auth header, so the secret is the last path segment of the callback URL
    SignBridge gave it. A wrong secret raises `UnknownCallbackAddressError` and nothing is stored. Otherwise the raw
    body is stored, then a callback naming a request pk (new shape `request.pk`, legacy `request`) becomes one
    `confirm_oneshot_signature` hint; any other well-formed callback is only stored. Malformed JSON raises
    `MalformedCallbackError` (stored first, for whoever investigates). The address's query (`request`, `signer`, set
    by the create) goes with the hint as `created_for`, so a callback for a create whose answer was lost is adopted
    (`workflow.oneshot.create.adopt_lost_create`); a query of another shape is ignored.
    """
    if not _secret_matches(path_secret, services.secrets.webhooks().accepted_oneshot()):
        logger.warning("One-Shot callback with a wrong secret refused")  # never the secret itself
        raise UnknownCallbackAddressError("unknown callback address")
    if len(body) > RAW_EVENT_MAX_BYTES:
        raise PayloadTooLargeError(f"a callback body is at most {RAW_EVENT_MAX_BYTES} bytes")
    check_json_limits(body)  # JSON nested too deep or a number too long: refused before anything stores or parses it
    raw_key, digest = _store_raw(services, ONESHOT_PROVIDER, body, received_at)
    try:
        payload = json.loads(body)
    except ValueError:
        logger.warning("One-Shot callback is not JSON", extra={"raw_key": raw_key})
        raise MalformedCallbackError("the body is not JSON", raw_key=raw_key) from None
    pk = oneshot_callback_pk(payload)
    event_type = _oneshot_event_type(payload)
    if pk is None:
        logger.info("One-Shot callback names no request; stored only", extra={"event_type": event_type})
        return WebhookOutcome(Disposition.STORED, raw_key)
    hinted: dict[str, object] = {"oneshot_pk": pk, "event_type": event_type, "raw_key": raw_key}
    created_for = _created_for(query or {})
    if created_for is not None:
        hinted["created_for"] = created_for
    hint = OperationMessage(op=Op.CONFIRM_ONESHOT_SIGNATURE.value, correlation_id=correlation_id, payload=hinted)
    # The pk belongs to one request: as a group it keeps that request's hints in order without a lookup here; the
    # body's hash drops a duplicate delivery within SQS's five minutes.
    services.queues.send(Queue.ONESHOT, hint, group_id=f"oneshot-{pk}", deduplication_id=digest)
    logger.info("One-Shot callback queued", extra={"oneshot_pk": pk, "event_type": event_type})
    return WebhookOutcome(Disposition.QUEUED, raw_key, enqueued=1)


def _created_for(query: Mapping[str, str]) -> dict[str, object] | None:
    request_id, signer = query.get("request", ""), query.get("signer", "")
    if not _CALLBACK_REQUEST.fullmatch(request_id) or not _CALLBACK_SIGNER.fullmatch(signer):
        return None
    return {"request_id": request_id, "signer": int(signer)}


def oneshot_callback_pk(payload: object) -> int | None:
    """The One-Shot request pk a callback names: `request.pk` (new, N13) or the legacy integer `request` (L2)."""
    if not isinstance(payload, dict):
        return None
    request = payload.get("request")
    value = request.get("pk") if isinstance(request, dict) else request
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _oneshot_event_type(payload: object) -> str | None:
    """`event_type` (new) or, for a legacy body, its `status` (kept for the log and the hint, never acted upon)."""
    if not isinstance(payload, dict):
        return None
    value = payload.get("event_type") or payload.get("status")
    return str(value)[:64] if isinstance(value, str) else None


# ------------------------------------------------------------------------------------------------ ZapSign


ZAPSIGN_PROVIDER: Final = "zapsign"
# The events whose body is the document serializer, `token` being the ZapSign document's token
# (docs/providers/zapsign.md §4.4). `email_bounce` has its own small body (its `token` may be a signer's, §5 item 18)
# and `background_check_completed` names no document: both are stored only, like any event type ZapSign adds later
# (§2.3).
ZAPSIGN_DOCUMENT_EVENTS: Final = frozenset(
    {
        "doc_created",
        "doc_signed",
        "doc_refused",
        "doc_deleted",
        "doc_viewed",
        "doc_read_confirmation",
        "doc_expired",
        "doc_expiration_alert",
        "created_signer",
        "signature_notification_sent",
        "signer_authentication_failed",
    }
)
MAX_DOC_TOKEN_CHARS: Final = 100  # ZapSign tokens are UUIDs (§2.2); anything far longer is not one


def accept_zapsign_webhook(
    services: Services,
    headers: Mapping[str, str],
    body: bytes,
    received_at: datetime,
    *,
    correlation_id: str,
) -> WebhookOutcome:
    """`POST /webhooks/zapsign` (docs/providers/zapsign.md §4).

    ZapSign signs nothing; the webhook is registered with a custom header carrying a shared secret
    (`api_routes.ZAPSIGN_WEBHOOK_SECRET_HEADER`), compared in constant time with the accepted secrets (two during a
    rotation). Missing or wrong: `WrongWebhookSecretError`, nothing stored or queued. Otherwise the raw body is
    stored first, then a document event becomes one `sync_zapsign_document` hint (group: the document token, which
    belongs to one request; deduplication: the body's sha256); anything else is only stored. ZapSign retries whatever
    is not answered exactly 200 (§4.1), so every event we understand or deliberately ignore is an accepted outcome;
    malformed JSON raises `MalformedWebhookError` (stored first, for whoever investigates). Two AWS calls at most:
    the S3 put and the SQS send (plus the cached secret read).
    """
    presented = _header(headers, api_routes.ZAPSIGN_WEBHOOK_SECRET_HEADER)
    if presented is None or not _secret_matches(presented, services.secrets.webhooks().accepted_zapsign()):
        logger.warning(
            "ZapSign webhook without a valid secret refused", extra={"header_present": presented is not None}
        )
        raise WrongWebhookSecretError(f"missing or wrong {api_routes.ZAPSIGN_WEBHOOK_SECRET_HEADER} header")
    if len(body) > RAW_EVENT_MAX_BYTES:
        raise PayloadTooLargeError(f"a webhook body is at most {RAW_EVENT_MAX_BYTES} bytes")
    check_json_limits(body)  # JSON nested too deep or a number too long: refused before anything stores or parses it
    raw_key, digest = _store_raw(services, ZAPSIGN_PROVIDER, body, received_at)
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        logger.warning("ZapSign webhook is not a JSON object", extra={"raw_key": raw_key})
        raise MalformedWebhookError("the body is not a JSON object", raw_key=raw_key)
    event_type = payload.get("event_type")
    event_name = event_type[:64] if isinstance(event_type, str) else None
    doc_token = payload.get("token")
    if event_name not in ZAPSIGN_DOCUMENT_EVENTS:
        logger.info("ZapSign event stored only", extra={"event_type": event_name, "raw_key": raw_key})
        return WebhookOutcome(Disposition.STORED, raw_key)
    if not isinstance(doc_token, str) or not 0 < len(doc_token) <= MAX_DOC_TOKEN_CHARS:
        logger.warning("ZapSign document event without a usable token", extra={"event_type": event_name})
        return WebhookOutcome(Disposition.STORED, raw_key)
    hint = OperationMessage(
        op=Op.SYNC_ZAPSIGN_DOCUMENT.value,
        correlation_id=correlation_id,
        payload={"doc_token": doc_token, "event_type": event_name, "raw_key": raw_key},
    )
    # No lookup here (it would be a third AWS call): the token as the group keeps one document's hints in order, and
    # the worker finds the request. A duplicate delivery within five minutes has the same body: SQS drops it.
    services.queues.send(Queue.ZAPSIGN, hint, group_id=doc_token, deduplication_id=digest)
    logger.info("ZapSign webhook queued", extra={"event_type": event_name, "raw_key": raw_key})
    return WebhookOutcome(Disposition.QUEUED, raw_key, enqueued=1)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, whatever the case of its name (API Gateway's HTTP API lower-cases them)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
