"""The ZapSign simulator's data: its documents, signers, extra documents, stored files and webhook registrations,
the adjustable configuration, the errors its views raise, and the constants of the contract (docs/simulators.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

API_PREFIX = "/api/v1"


TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # §4.5 item 2: microseconds and a literal Z


MAX_EXTRA_DOCS = 14  # §3.8


MAX_URL_PDF_BYTES = 10 * 1024 * 1024  # §3.1


DEFAULT_TOKEN = "sim-zapsign-token"  # noqa: S105 - the simulator's fixed development token


# §4.2: type "" means these four only; email_bounce and the newer events need their own registration.
ALL_TYPE_EVENTS = frozenset({"doc_created", "doc_signed", "doc_deleted", "doc_refused"})


KNOWN_EVENTS = frozenset(
    {
        *ALL_TYPE_EVENTS,
        "email_bounce",
        "created_signer",
        "signature_notification_sent",
        "doc_viewed",
        "doc_read_confirmation",
        "signer_authentication_failed",
        "doc_expired",
        "doc_expiration_alert",
        "background_check_completed",
    }
)


FILE_SOURCES = ("base64_pdf", "url_pdf", "base64_docx", "url_docx", "markdown_text")


DOC_BOOLEANS = (
    "disable_signer_emails",
    "signature_order_active",
    "signed_file_only_finished",
    "allow_refuse_signature",
    "disable_signers_get_original_file",
    "sandbox",
)


SIGNER_BOOLEANS = (
    "send_automatic_email",
    "send_automatic_whatsapp",
    "send_automatic_whatsapp_signed_file",
    "lock_name",
    "lock_email",
    "lock_phone",
    "blank_email",
    "blank_phone",
    "hide_email",
    "hide_phone",
    "require_cpf",
    "validate_cpf",
    "require_selfie_photo",
    "require_document_photo",
)


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


REQUIRED = "Este campo é obrigatório."


class ActionError(Exception):
    """A control action that the simulated state does not allow (answered with `status` and `{"detail"}`)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class RequestRejectedError(Exception):
    """Stop handling an API call and answer `status` with `body` (validation errors, named error codes)."""

    def __init__(self, body: dict[str, Any], status: int = 400) -> None:
        super().__init__(json.dumps(body))
        self.body = body
        self.status = status


@dataclass
class StoredFile:
    data: bytes
    content_type: str


@dataclass
class SimSigner:
    token: str
    doc_token: str
    fields: dict[str, Any]
    status: str = "new"
    times_viewed: int = 0
    last_view_at: datetime | None = None
    signed_at: datetime | None = None
    document_photo: str | None = None  # file names in `files`
    document_verse_photo: str | None = None
    selfie_photo: str | None = None
    geo_latitude: str | None = None
    geo_longitude: str | None = None
    ip: str | None = None


@dataclass
class SimExtraDoc:
    open_id: int
    token: str
    name: str
    parent_token: str
    original_file: str
    signed_file: str | None = None


@dataclass
class SimDocument:
    open_id: int
    token: str
    name: str
    options: dict[str, Any]
    original_file: str
    created_at: datetime
    last_update_at: datetime
    signers: list[SimSigner] = field(default_factory=list)
    extra_docs: list[SimExtraDoc] = field(default_factory=list)
    status: str = "pending"
    signed_file: str | None = None
    deleted: bool = False
    deleted_at: datetime | None = None
    rejected_reason: str | None = None
    expired: bool = False


@dataclass
class WebhookRegistration:
    id: int
    url: str
    type: str
    doc_token: str | None
    headers: list[dict[str, str]]

    def matches(self, event_type: str, doc_token: str | None, *, unknown: bool = False) -> bool:
        if self.doc_token and self.doc_token != doc_token:
            return False
        if self.type == event_type:
            return True
        # GUESS (docs/providers/zapsign.md §4.2): "" covers the four document events only; injected unknown events go
        # to "" registrations too so that receivers can be tested for tolerance (§2.3).
        return self.type == "" and (event_type in ALL_TYPE_EVENTS or unknown)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "type": self.type, "doc_token": self.doc_token, "headers": self.headers}


@dataclass
class ZapSignConfig:
    """Behaviour switches, changeable at run time through `POST /_sim/zapsign/config`."""

    file_link_lifetime_seconds: int = 3600
    rate_limit_per_minute: int = 500
    rate_limit_window_seconds: int = 60
    # GUESS (docs/providers/zapsign.md §4.4, §5 item 8): "recusado" as in the doc_refused example ("refused": list
    # filter).
    refused_status: str = "recusado"
    partial_signed_file: bool = False
    refuse_fires_doc_signed: bool = False
    sandbox: bool = True
    payment_required: bool = False  # production without an API plan → 402 (§2.1)

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown setting {key!r}")
            current = getattr(self, key)
            if type(value) is not type(current):
                raise ValueError(f"{key} must be {type(current).__name__}")
            setattr(self, key, value)
