"""ZapSign in SignBridge's terms: the documents and signers it answers with (tolerant models), the bodies SignBridge
sends (strict models), and the status spellings seen in the sources. Plain data; the client that speaks HTTP is
`signbridge.providers.zapsign`.

Responses are parsed with models that ignore unknown fields (ZapSign adds response properties without notice,
§2.3 of docs/providers/zapsign.md) and read only what SignBridge needs. Status values are kept as strings: the
enumerations differ between sources (§3.2, §5 items 8-9), so helpers such as `ZapSignDocument.is_signed` accept every
spelling seen.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

PROVIDER = "zapsign"

# Status spellings seen in the sources (§3.2 "Enumerations"): English in Detail/webhooks, Portuguese in examples
# and SDK docs. The list filter uses `refused`; the `doc_refused` example and the cancel text say `recusado`.
DOCUMENT_SIGNED = frozenset({"signed", "assinado"})
DOCUMENT_PENDING = frozenset({"pending", "em-curso"})
DOCUMENT_REFUSED = frozenset({"refused", "recusado"})
SIGNER_SIGNED = frozenset({"signed", "assinou"})
# `abriu-link` in the doc_refused example; `abriu` / `recusou` in the list's include_signers enum (§3.2, §3.3).
SIGNER_LINK_OPENED = frozenset({"link-opened", "abriu-link", "abriu"})
SIGNER_REFUSED = frozenset({"refused", "recusou", "recusado"})

# Webhook `type` values documented for the create-webhook API (§4.2). "" = doc_created, doc_signed, doc_deleted and
# doc_refused only; email_bounce must be registered on its own.
WebhookType = Literal["", "doc_signed", "doc_created", "doc_deleted", "doc_refused", "email_bounce"]
CancelOutcome = Literal["cancelled", "already_refused"]

AuthMode = Literal[
    "assinaturaTela",
    "tokenEmail",
    "assinaturaTela-tokenEmail",
    "tokenSms",
    "assinaturaTela-tokenSms",
    "tokenWhatsapp",
    "assinaturaTela-tokenWhatsapp",
    "certificadoDigital",
]


def _blank_to_none(value: object) -> object:
    # DOC (§4.4 doc_expired): `external_id` arrives as the string "None" (Python's str(None) leaking).
    if value is None or value in {"", "None"}:
        return None
    return value


# -- responses ------------------------------------------------------------------------------------------------------


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ZapSignMetadata(_Tolerant):
    key: str
    value: Any = None


class ZapSignSigner(_Tolerant):
    """A signer as returned by Detail, create and webhooks (§3.2 superset)."""

    token: str
    status: str = ""
    name: str = ""
    email: str | None = None
    phone_country: str | None = None
    phone_number: str | None = None
    external_id: str | None = None
    sign_url: str | None = None
    auth_mode: str | None = None
    times_viewed: int | None = None
    last_view_at: datetime | None = None
    signed_at: datetime | None = None
    require_document_photo: bool | None = None
    require_selfie_photo: bool | None = None
    document_photo_url: str | None = None
    document_verse_photo_url: str | None = None
    selfie_photo_url: str | None = None
    qualification: str | None = None

    _blank_external_id = field_validator("external_id", mode="before")(_blank_to_none)
    _blank_urls = field_validator(
        "sign_url", "document_photo_url", "document_verse_photo_url", "selfie_photo_url", mode="before"
    )(_blank_to_none)

    @property
    def has_signed(self) -> bool:
        return self.status in SIGNER_SIGNED

    @property
    def has_opened_link(self) -> bool:
        """Opened the signing link (and not yet signed)."""
        return self.status in SIGNER_LINK_OPENED

    @property
    def has_refused(self) -> bool:
        # GUESS (docs/providers/zapsign.md §3.2, §5 item 9): Detail documents no refused signer status; the list's
        # include_signers enum has `recusou`. Read any refusal spelling seen.
        return self.status in SIGNER_REFUSED


class ZapSignExtraDocument(_Tolerant):
    """An extra document of an envelope: an item of `extra_docs`, the add-extra-doc response (§3.8), or Detail on
    an extra-doc token (then `parent_doc_token` is set, §3.2)."""

    token: str
    name: str = ""
    open_id: int | None = None
    original_file: str | None = None
    signed_file: str | None = None
    parent_doc_token: str | None = None


class ZapSignDocument(_Tolerant):
    """The document serializer of Detail, create, delete and the webhooks (§3.2)."""

    token: str
    status: str = ""
    name: str = ""
    open_id: int | None = None
    original_file: str | None = None
    signed_file: str | None = None
    extra_docs: list[ZapSignExtraDocument] = Field(default_factory=list)
    signers: list[ZapSignSigner] = Field(default_factory=list)
    deleted: bool = False
    deleted_at: datetime | None = None
    rejected_reason: str | None = None
    external_id: str | None = None
    folder_path: str | None = None
    metadata: list[ZapSignMetadata] = Field(default_factory=list)
    sandbox: bool | None = None
    created_at: datetime | None = None
    last_update_at: datetime | None = None

    _blank_external_id = field_validator("external_id", mode="before")(_blank_to_none)

    @field_validator("extra_docs", "signers", "metadata", mode="before")
    @classmethod
    def _null_list(cls, value: object) -> object:
        return [] if value is None else value

    @property
    def is_signed(self) -> bool:
        """Every signer signed (a `doc_signed` webhook alone does not mean this, §4.4)."""
        return self.status in DOCUMENT_SIGNED

    @property
    def is_refused(self) -> bool:
        return self.status in DOCUMENT_REFUSED

    def signer(self, token: str) -> ZapSignSigner | None:
        return next((signer for signer in self.signers if signer.token == token), None)


class ZapSignDocumentSummary(_Tolerant):
    """An item of the document list (§3.3): a short form, without signers, external id or folder."""

    token: str
    status: str | None = None
    name: str | None = None  # §3.3: this endpoint turns empty strings into null
    open_id: int | None = None
    original_file: str | None = None
    signed_file: str | None = None
    created_at: datetime | None = None
    last_update_at: datetime | None = None
    # Not in the documented item; read when present so a caller can skip a mismatch without a Detail call.
    external_id: str | None = None
    folder_path: str | None = None

    _blank_external_id = field_validator("external_id", mode="before")(_blank_to_none)


class ZapSignDocumentPage(_Tolerant):
    """A page of `GET docs/` (§3.3, DRF pagination)."""

    count: int = 0
    next: str | None = None
    previous: str | None = None
    results: list[ZapSignDocumentSummary] = Field(default_factory=list)

    @field_validator("results", mode="before")
    @classmethod
    def _null_list(cls, value: object) -> object:
        return [] if value is None else value


# -- requests -------------------------------------------------------------------------------------------------------


class _Request(BaseModel):
    # Requests are built by SignBridge: reject typos in field names instead of silently dropping them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewSigner(_Request):
    """A signer of `POST docs/` (§3.1 "Signer fields"). Unset fields are not sent (ZapSign defaults apply)."""

    name: str = Field(min_length=1)
    email: str | None = None
    phone_country: str | None = None
    phone_number: str | None = None
    auth_mode: AuthMode | None = None
    send_automatic_email: bool | None = None
    send_automatic_whatsapp: bool | None = None
    order_group: int | None = None
    custom_message: str | None = None
    lock_name: bool | None = None
    lock_email: bool | None = None
    lock_phone: bool | None = None
    require_cpf: bool | None = None
    cpf: str | None = None
    require_document_photo: bool | None = None
    require_selfie_photo: bool | None = None
    selfie_validation_type: str | None = None
    qualification: str | None = None
    external_id: str | None = None
    redirect_link: str | None = None


class MetadataItem(_Request):
    key: str
    value: str


class NewDocument(_Request):
    """The body of `POST docs/` (§3.1). Exactly one of `base64_pdf` (raw base64, no `data:` prefix) and `url_pdf`.

    Use `NewDocument.from_pdf(...)` to pass the PDF bytes.
    """

    name: str = Field(min_length=1, max_length=255)
    signers: list[NewSigner] = Field(min_length=1)
    base64_pdf: str | None = None
    url_pdf: str | None = None
    external_id: str | None = None
    lang: Literal["pt-br", "es", "en"] | None = None
    date_limit_to_sign: date | datetime | None = None
    # GUESS (docs/providers/zapsign.md §3.1, §5 item 17): the docs' table spells the request key "Metadata"; webhooks
    # echo lowercase `metadata`, so we send lowercase.
    metadata: list[MetadataItem] | None = None
    folder_path: str | None = None
    signature_order_active: bool | None = None
    disable_signer_emails: bool | None = None
    allow_refuse_signature: bool | None = None
    reminder_every_n_days: int | None = None
    brand_logo: str | None = None
    brand_primary_color: str | None = None
    brand_name: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _one_file_source(self) -> NewDocument:
        if (self.base64_pdf is None) == (self.url_pdf is None):
            raise ValueError("give exactly one of base64_pdf and url_pdf")
        if self.base64_pdf is not None and self.base64_pdf.startswith("data:"):
            raise ValueError("base64_pdf must be raw base64, without a data: prefix")
        return self

    @field_serializer("date_limit_to_sign")
    def _serialize_deadline(self, value: date | datetime | None) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value.isoformat()

    @classmethod
    def from_pdf(cls, name: str, pdf: bytes, signers: Iterable[NewSigner], **options: Any) -> NewDocument:
        return cls(name=name, base64_pdf=encode_pdf(pdf), signers=list(signers), **options)

    def to_body(self) -> dict[str, Any]:
        # Never send null for strings (§2.1 general rules): unset fields are omitted.
        return self.model_dump(mode="json", exclude_none=True)


def encode_pdf(pdf: bytes) -> str:
    """Raw base64 as `base64_pdf` wants it (§3.1: no `data:application/pdf;base64,` prefix)."""
    return base64.b64encode(pdf).decode("ascii")
