"""The domain model: a signature request, its documents, its signers and its timeline, as stored and read.

The stored / read models (`SignatureRequest`, `Document`, `Signer`, `TimelineEntry`) are tolerant: unknown attributes
are ignored and fields hold what was recorded, so an item written by an older or newer version still loads. The
strict input models that create a request (`CreateRequestBody` & co.) live beside the use cases, in
`signbridge.handlers.api.bodies`.

Personal data (names, email, phone, ID number, ID images) is kept out of `repr()` (`Field(repr=False)`), so a model
that ends up in a log line or a traceback does not carry it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

MAX_DOCUMENTS: Final = 15  # ZapSign: a main document and up to 14 extra documents (docs/providers/zapsign.md §3.8)
MAX_SIGNERS: Final = 20  # keeps a create (request + documents + signers + event) far below DynamoDB's 100 items


def utc_now() -> datetime:
    return datetime.now(UTC)


class Workflow(StrEnum):
    """Which providers a request goes through (docs/design.md, "What a user gets")."""

    ZAPSIGN = "zapsign"
    """ZapSign only: signers sign a ZapSign document; the signed PDFs are copied to S3."""
    ONESHOT = "oneshot"
    """Uanataca One-Shot only: a qualified signature per signer, from identity data and ID images the client sends."""
    ZAPSIGN_ONESHOT = "zapsign_oneshot"
    """ZapSign first (collecting ID photos and a selfie), then One-Shot on the ZapSign-signed PDFs."""

    @property
    def uses_zapsign(self) -> bool:
        return self in (Workflow.ZAPSIGN, Workflow.ZAPSIGN_ONESHOT)

    @property
    def uses_oneshot(self) -> bool:
        return self in (Workflow.ONESHOT, Workflow.ZAPSIGN_ONESHOT)

    @property
    def client_sends_id_images(self) -> bool:
        """Only `oneshot` takes the ID images from the client; `zapsign_oneshot` takes them from ZapSign."""
        return self is Workflow.ONESHOT


class RequestStatus(StrEnum):
    """Where a signature request stands. The allowed moves are in `signbridge.domain.lifecycle`."""

    DRAFT = "draft"
    """Created; waiting for the client to upload the documents declared for upload."""
    SUBMITTED = "submitted"
    """Every document is in S3 and checked; the first provider step is queued."""
    ZAPSIGN_PENDING = "zapsign_pending"
    """The ZapSign document exists; waiting for the signers to sign at ZapSign."""
    ZAPSIGN_SIGNED = "zapsign_signed"
    """ZapSign reports every signer signed (confirmed by re-reading the document at ZapSign)."""
    ONESHOT_PENDING = "oneshot_pending"
    """Preparing the current signer's One-Shot request: create it, upload the documents, fetch the contract."""
    AWAITING_OTP = "awaiting_otp"
    """The SMS code was sent to the current signer; waiting for the client to submit it."""
    SIGNING = "signing"
    """The code was submitted and the Optimizer is signing (intent recorded before the call)."""
    VERIFICATION_FAILED = "verification_failed"
    """A signed PDF from a provider did not pass verification (docs/evidence.md): nothing of it was recorded as signed
    and the request waits for an operator (`verification_problem` says which file and why; `signbridge requests
    retry-verification` fetches and verifies it again, `… accept-verification` accepts that very file)."""
    ARCHIVING = "archiving"
    """Every signature is in place; copying the signed PDFs to S3 and deleting them from the Optimizer."""
    COMPLETED = "completed"
    """Terminal: every signed PDF is in S3."""
    REFUSED = "refused"
    """Terminal: a signer refused to sign at ZapSign."""
    CANCELLED = "cancelled"
    """Terminal: the client (or an operator) cancelled the request."""
    EXPIRED = "expired"
    """Terminal: the deadline passed (or the uploads never arrived) before the request finished."""
    FAILED = "failed"
    """Terminal: a step failed for good; `failure_reason` says which and why."""


class DocumentStatus(StrEnum):
    """Where one document stands. The allowed moves per workflow are in `signbridge.domain.lifecycle`."""

    AWAITING_UPLOAD = "awaiting_upload"
    """Declared for upload; the client has a presigned POST and has not uploaded yet."""
    RECEIVED = "received"
    """The original is in S3 (`original_key`), checked (PDF, size cap, declared sha256) with its sha256 recorded."""
    REJECTED = "rejected"
    """Terminal: the upload failed the checks (`rejection_reason`)."""
    ZAPSIGN_PENDING = "zapsign_pending"
    """Part of the ZapSign document (the main one or an extra one, `zapsign_doc_token`); waiting for signatures."""
    ZAPSIGN_SIGNED = "zapsign_signed"
    """`zapsign_oneshot`: the ZapSign-signed PDF is stored in S3 (`signed_keys["zapsign"]`), the input to One-Shot."""
    ONESHOT_UPLOADED = "oneshot_uploaded"
    """Uploaded to the Optimizer for the signer whose turn it is (`oneshot_document_uids[signer]`)."""
    ONESHOT_SIGNED = "oneshot_signed"
    """The current signer's One-Shot-signed PDF is stored in S3 (`signed_keys["oneshot-{n}"]`)."""
    ARCHIVED = "archived"
    """Terminal: the final signed PDF is in S3 (`final_key`); nothing of it is left to fetch from a provider."""
    DISCARDED = "discarded"
    """Terminal: the request ended without signing it; any copy at a provider was removed."""


class SignerStatus(StrEnum):
    """Where one signer stands. The allowed moves per workflow are in `signbridge.domain.lifecycle`."""

    PENDING = "pending"
    """Nothing done yet for this signer (at ZapSign: link created, not opened; at One-Shot: not their turn yet)."""
    LINK_OPENED = "link_opened"
    """The signer opened the ZapSign signing link."""
    ZAPSIGN_SIGNED = "zapsign_signed"
    """`zapsign_oneshot`: the signer signed at ZapSign; the One-Shot part is still ahead."""
    REFUSED = "refused"
    """Terminal: the signer refused to sign at ZapSign."""
    ONESHOT_REQUESTED = "oneshot_requested"
    """The signer's One-Shot request exists at the Optimizer (`oneshot_request_pk`)."""
    CONTRACT_STORED = "contract_stored"
    """The documents are uploaded and the One-Shot service contract is stored in S3 (`contract_key`)."""
    OTP_SENT = "otp_sent"
    """The Optimizer sent the SMS code (`otp_sent_at`); waiting for it to be submitted."""
    SIGNED = "signed"
    """Terminal: every signature the workflow asks of this signer is in place."""
    FAILED = "failed"
    """Terminal: this signer's part failed for good (`failure_reason`)."""


class Cause(StrEnum):
    """What made a status change: recorded on every timeline entry."""

    WEBHOOK = "webhook"
    SCHEDULE = "schedule"
    API = "api"
    OPERATOR = "operator"
    WORKER = "worker"
    INTAKE = "intake"


class IdDocumentType(StrEnum):
    """One-Shot's `id_document_type` values (docs/providers/oneshot.md §5.3)."""

    IDC = "IDC"
    """National identity card (One-Shot's default)."""
    PAS = "PAS"
    """Passport."""
    PNO = "PNO"
    """Personal number."""
    TIN = "TIN"
    """Tax identification number."""
    CI = "CI"
    """Cédula de identidad."""
    CE = "CE"
    """Cédula de extranjería."""


class Language(StrEnum):
    """Languages both providers can speak to a signer in (ZapSign `lang`; One-Shot `communication_language`)."""

    PT_BR = "pt-br"
    ES = "es"
    EN = "en"


class IdImageKind(StrEnum):
    """One-Shot's names for the three identity-evidence images."""

    DOCUMENT_FRONT = "document_front"
    DOCUMENT_REAR = "document_rear"
    DOCUMENT_OWNER = "document_owner"
    """A selfie of the signer holding the ID document below the chin."""


class TimelineSubject(StrEnum):
    REQUEST = "request"
    DOCUMENT = "document"
    SIGNER = "signer"


def oneshot_stage(signer_index: int) -> str:
    """The name of a One-Shot signing stage in `Document.signed_keys` and in S3 keys: `oneshot-{n}`."""
    return f"oneshot-{signer_index}"


ZAPSIGN_STAGE: Final = "zapsign"


# ------------------------------------------------------------------------------------------------ stored models


class _Stored(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=False)


class SignatureRequest(_Stored):
    """The request item: one per request, the root of the aggregate and the carrier of its status and version."""

    id: str
    workflow: Workflow
    status: RequestStatus
    version: int = Field(ge=1, description="Incremented by every transition; the guard of every conditional write.")
    external_id: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    language: Language = Language.EN
    deadline: datetime | None = None
    created_at: datetime
    updated_at: datetime
    status_since: datetime
    failure_reason: str | None = None
    zapsign_doc_token: str | None = None
    document_count: int = Field(ge=0)
    signer_count: int = Field(ge=0)
    current_signer: int | None = Field(default=None, description="Index of the signer whose One-Shot turn it is.")
    refusal_reason: str | None = Field(
        default=None, repr=False, description="ZapSign's `rejected_reason` when refused (free text a person typed)."
    )
    refused_by: int | None = Field(
        default=None,
        ge=0,
        description="When refused: the index of the signer who refused (ZapSign shows that signer refused, or only "
        "that signer had not signed); None when ZapSign does not tell.",
    )
    verification_problem: str | None = Field(
        default=None, description="Why the request waits in `verification_failed`: the file and the policy's reasons."
    )
    verification_held_from: RequestStatus | None = Field(
        default=None, description="The status the request left for `verification_failed` (where a retry resumes)."
    )
    verification_accepted: list[str] = Field(
        default_factory=list,
        description="sha256 of signed files an operator accepted although they did not pass verification.",
    )
    signature_appearance: dict[str, Any] | None = Field(
        default=None,
        description="One-Shot: the visible signature, as `SignatureAppearance.model_dump(mode='json', "
        "exclude_none=True)` (read it back with `SignatureAppearance.model_validate`).",
    )
    raw_event_keys: list[str] = Field(
        default_factory=list,
        description="The S3 keys of the raw provider webhooks that moved the request (`raw/{provider}/…`), in order: "
        "the evidence package carries them.",
    )
    evidence_include_id_images: bool = Field(
        default=False, description="The client asked for the ID images in the evidence package (personal data)."
    )
    evidence_key: str | None = Field(
        default=None, description="The S3 key of the sealed evidence package (`packages/…`), once built."
    )
    evidence_version_id: str | None = None
    evidence_sha256: str | None = None
    evidence_size: int | None = None
    evidence_built_at: datetime | None = None
    evidence_requested_at: datetime | None = Field(
        default=None, description="When a rebuild of the evidence package was last asked (the API's POST …/evidence)."
    )

    @property
    def evidence_pending(self) -> bool:
        """Completed, and its evidence package not built yet, or a rebuild asked after the last build."""
        if self.status is not RequestStatus.COMPLETED:
            return False
        if self.evidence_key is None or self.evidence_built_at is None:
            return True
        return self.evidence_requested_at is not None and self.evidence_requested_at > self.evidence_built_at


class Document(_Stored):
    index: int = Field(ge=0)
    name: str
    status: DocumentStatus
    status_since: datetime
    size: int | None = None
    sha256: str | None = None
    declared_sha256: str | None = None
    declared_size: int | None = Field(default=None, description="The exact size the client declared for its upload.")
    incoming_key: str | None = None
    original_key: str | None = None
    signed_keys: dict[str, str] = Field(
        default_factory=dict, description='S3 key of each signed output by stage: "zapsign", "oneshot-{signer}".'
    )
    final_key: str | None = None
    signed_sha256: dict[str, str] = Field(
        default_factory=dict, description='sha256 of each signed output by stage, as stored ("zapsign", "oneshot-N").'
    )
    verifications: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description='The verification of each signed output by stage ("zapsign", "oneshot-N"): a '
        "`signbridge.domain.verification.VerificationSummary` dumped as JSON (read it back with `model_validate`).",
    )
    zapsign_doc_token: str | None = Field(
        default=None, description="This document's token at ZapSign: the main document's, or its extra document's."
    )
    zapsign_is_extra: bool = False
    zapsign_create_started_at: datetime | None = Field(
        default=None,
        description="Document 0 only: intent of the ZapSign create call (recorded before it; the token after it).",
    )
    oneshot_document_uids: dict[int, str] = Field(
        default_factory=dict, description="Document uid at the Optimizer, by signer index."
    )
    oneshot_upload_started: dict[int, datetime] = Field(
        default_factory=dict, description="Intent of each signer's upload of this document (recorded before it)."
    )
    rejection_reason: str | None = None


class Signer(_Stored):
    index: int = Field(ge=0)
    name: str = Field(repr=False)
    email: str | None = Field(default=None, repr=False)
    phone: str | None = Field(default=None, repr=False, description="E.164: +<country code><number>.")
    given_name: str | None = Field(default=None, repr=False)
    first_surname: str | None = Field(default=None, repr=False)
    second_surname: str | None = Field(default=None, repr=False)
    id_number: str | None = Field(default=None, repr=False)
    id_document_type: IdDocumentType | None = None
    id_document_country: str | None = None
    language: Language | None = None
    status: SignerStatus
    status_since: datetime
    zapsign_signer_token: str | None = None
    sign_url: str | None = Field(default=None, repr=False)  # a bearer link: whoever has it can sign
    oneshot_request_pk: str | None = None
    evidence_keys: dict[IdImageKind, str] = Field(default_factory=dict, description="S3 key of each ID image.")
    contract_key: str | None = None
    otp_sent_at: datetime | None = None
    oneshot_create_started_at: datetime | None = Field(
        default=None, description="Intent of the One-Shot create call (recorded before it; the pk after it)."
    )
    otp_resends: int = Field(default=0, ge=0, description="SMS resends asked for: the generation of the next one.")
    otp_intent_generation: int | None = Field(
        default=None, description="Generation of the OTP call under way (intent, recorded before the call)."
    )
    otp_generation: int | None = Field(
        default=None, description="Generation of the last SMS the Optimizer sent (0: the first, n: the n-th resend)."
    )
    otp_failures: int = Field(
        default=0, ge=0, description="Wrong SMS codes since the last unlock; at the limit the signer is locked."
    )
    oneshot_signed_at: datetime | None = Field(default=None, description="When the Optimizer's signature was recorded.")
    oneshot_deleted_at: datetime | None = Field(
        default=None, description="When this signer's documents were deleted from the Optimizer (it never does so)."
    )
    failure_reason: str | None = None
    page_link_nonce: str | None = Field(
        default=None, description="One-Shot: the nonce of the signing-page link (domain/signer_page.py); not secret."
    )
    page_link_sha256: str | None = Field(
        default=None, description="One-Shot: SHA-256 of the signing-page link's token (the token is never stored)."
    )
    contract_accepted_at: datetime | None = Field(
        default=None, description="When the signer accepted the One-Shot service contract on the signing page."
    )
    contract_acceptance: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description='Evidence of the acceptance: {"ip": …, "user_agent": …} as the signing page received them.',
    )


class TimelineEntry(_Stored):
    """One status change, readable by a person. `detail` never carries personal data."""

    id: str
    at: datetime
    subject: TimelineSubject = TimelineSubject.REQUEST
    subject_index: int | None = Field(default=None, description="Document or signer index; None for the request.")
    from_status: str | None = Field(default=None, description="None for the entry that records the creation.")
    to_status: str
    cause: Cause
    correlation_id: str
    detail: str | None = None


class RequestAggregate(BaseModel):
    """A whole request as read in one query: the request, its documents and signers by index, its timeline in order."""

    model_config = ConfigDict(frozen=True)

    request: SignatureRequest
    documents: tuple[Document, ...]
    signers: tuple[Signer, ...]
    timeline: tuple[TimelineEntry, ...]

    def document(self, index: int) -> Document:
        return next(document for document in self.documents if document.index == index)

    def signer(self, index: int) -> Signer:
        return next(signer for signer in self.signers if signer.index == index)
