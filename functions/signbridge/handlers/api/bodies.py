"""The bodies of the API's requests: strict input models.

Unknown fields are refused (`extra="forbid"`), every field is checked with the types of
`signbridge.domain.validation`, and a failed check is reported at the field it concerns (`signers.0.phone`), including
the checks that depend on the workflow. The stored entities they become are in `signbridge.domain.models`.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Final, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails

from signbridge.domain.appearance import SignatureAppearance
from signbridge.domain.models import (
    MAX_DOCUMENTS,
    MAX_SIGNERS,
    IdDocumentType,
    IdImageKind,
    Language,
    Workflow,
    utc_now,
)
from signbridge.domain.oneshot import OTP_CODE_PATTERN
from signbridge.domain.validation import (
    Base64IdImage,
    Base64Pdf,
    CountryCode,
    DocumentName,
    Email,
    ExternalId,
    IdNumber,
    Metadata,
    PersonName,
    PhoneE164,
    Sha256Hex,
    decode_base64,
)
from signbridge.domain.validation import field_error as _error

# ------------------------------------------------------------------------------------------------ input models


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SignerInput(_Input):
    """A signer as the client describes them. Which fields are required depends on the workflow (see
    `CreateRequestBody`)."""

    name: PersonName | None = Field(
        default=None, repr=False, description="Shown at ZapSign. Defaults to the given name and surnames."
    )
    email: Email | None = Field(default=None, repr=False)
    phone: PhoneE164 | None = Field(
        default=None, repr=False, description="Mobile number with its international prefix, e.g. +34600111222."
    )
    given_name: PersonName | None = Field(default=None, repr=False)
    first_surname: PersonName | None = Field(default=None, repr=False)
    second_surname: PersonName | None = Field(default=None, repr=False)
    id_number: IdNumber | None = Field(default=None, repr=False, description="The ID document's number.")
    id_document_type: IdDocumentType | None = Field(default=None, description="One-Shot assumes IDC when absent.")
    id_document_country: CountryCode | None = Field(default=None, description="ISO 3166-1 alpha-2, e.g. ES.")
    language: Language | None = Field(default=None, description="Overrides the request's language for this signer.")
    document_front: Base64IdImage | None = Field(default=None, repr=False, description="`oneshot` only: JPEG/PNG.")
    document_rear: Base64IdImage | None = Field(default=None, repr=False, description="`oneshot` only: JPEG/PNG.")
    document_owner: Base64IdImage | None = Field(
        default=None, repr=False, description="`oneshot` only: a selfie holding the ID document, JPEG/PNG."
    )

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        parts = (self.given_name, self.first_surname, self.second_surname)
        return " ".join(part for part in parts if part)

    def id_image(self, kind: IdImageKind) -> bytes | None:
        """The decoded image of `kind`, if the client sent it."""
        value: str | None = getattr(self, kind.value)
        return None if value is None else decode_base64(value)


class DocumentInput(_Input):
    """A PDF given inline (`content_base64`) or declared for a presigned upload (no `content_base64`)."""

    name: DocumentName
    content_base64: Base64Pdf | None = Field(default=None, repr=False, description="The PDF, standard base64.")
    sha256: Sha256Hex | None = Field(
        default=None, description="Optional: the PDF's SHA-256; checked on arrival (inline or uploaded)."
    )
    size: Annotated[int, Field(gt=0)] | None = Field(
        default=None, description="Optional, uploads only: the exact size in bytes the upload must have."
    )

    @property
    def is_inline(self) -> bool:
        return self.content_base64 is not None

    def content(self) -> bytes | None:
        return None if self.content_base64 is None else decode_base64(self.content_base64)


# What a One-Shot request needs of each signer (docs/providers/oneshot.md §5.3).
ONESHOT_REQUIRED_SIGNER_FIELDS: Final = ("given_name", "first_surname", "id_number", "phone", "email")
ID_IMAGE_FIELDS: Final = tuple(kind.value for kind in IdImageKind)


class EvidencePackageOptions(_Input):
    """What the request's evidence package holds beyond its default contents (docs/evidence.md)."""

    include_id_images: bool = Field(
        default=False,
        description="Also put the signers' ID images (front, rear, selfie) in the package: personal data, so only "
        "when asked.",
    )


class CreateRequestBody(_Input):
    """`POST /v1/requests`. Checks that depend on the workflow are reported at the field they concern."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "workflow": "zapsign",
                    "signers": [{"name": "Ana García", "email": "ana@example.com"}],
                    "documents": [{"name": "contract.pdf", "size": 48213}],
                    "language": "es",
                    "external_id": "order-1234",
                    "metadata": {"department": "sales"},
                }
            ]
        }
    )

    workflow: Workflow
    signers: list[SignerInput] = Field(min_length=1, max_length=MAX_SIGNERS)
    documents: list[DocumentInput] = Field(min_length=1, max_length=MAX_DOCUMENTS)
    language: Language = Language.EN
    deadline: AwareDatetime | None = Field(default=None, description="When the request expires; in the future.")
    external_id: ExternalId | None = Field(default=None, description="Your identifier; requests can be listed by it.")
    metadata: Metadata = Field(default_factory=dict, description="Up to 20 string pairs, echoed back.")
    signature_appearance: SignatureAppearance | None = Field(
        default=None, description="One-Shot workflows only: the visible qualified signature."
    )
    evidence_package: EvidencePackageOptions | None = Field(
        default=None, description="Options of the sealed evidence package built when the request completes."
    )

    @property
    def include_id_images(self) -> bool:
        return self.evidence_package is not None and self.evidence_package.include_id_images

    @model_validator(mode="after")
    def _check_workflow_requirements(self) -> Self:
        errors = [
            *self._signer_errors(),
            *self._document_errors(),
            *self._deadline_errors(),
            *self._appearance_errors(),
        ]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    def inline_bytes(self) -> int:
        """Total decoded size of the inline documents and ID images (the API compares it with its cap)."""
        total = sum(len(document.content() or b"") for document in self.documents)
        for signer in self.signers:
            total += sum(len(signer.id_image(kind) or b"") for kind in IdImageKind)
        return total

    def _signer_errors(self) -> list[InitErrorDetails]:
        errors: list[InitErrorDetails] = []
        workflow = self.workflow
        for position, signer in enumerate(self.signers):
            if workflow.uses_zapsign and not signer.display_name:
                errors.append(
                    _error(
                        ("signers", position, "name"),
                        "required for the {workflow} workflow (or give given_name and first_surname)",
                        workflow,
                    )
                )
            if workflow.uses_oneshot:
                errors.extend(
                    _error(("signers", position, field), "required for the {workflow} workflow", workflow)
                    for field in ONESHOT_REQUIRED_SIGNER_FIELDS
                    if getattr(signer, field) is None
                )
            for field in ID_IMAGE_FIELDS:
                given = getattr(signer, field) is not None
                if workflow.client_sends_id_images and not given:
                    errors.append(
                        _error(
                            ("signers", position, field),
                            "required for the {workflow} workflow: a base64 JPEG or PNG image",
                            workflow,
                        )
                    )
                elif given and not workflow.client_sends_id_images:
                    errors.append(
                        _error(
                            ("signers", position, field),
                            "not used by the {workflow} workflow"
                            + (": ZapSign collects the ID photos" if workflow.uses_zapsign else ""),
                            workflow,
                        )
                    )
        return errors

    def _document_errors(self) -> list[InitErrorDetails]:
        errors: list[InitErrorDetails] = []
        for position, document in enumerate(self.documents):
            content = document.content()
            if content is None:
                continue
            if document.size is not None:
                errors.append(
                    _error(
                        ("documents", position, "size"),
                        "only for documents to upload; omit it with content_base64",
                        kind="document",
                    )
                )
            if document.sha256 is not None and hashlib.sha256(content).hexdigest() != document.sha256:
                errors.append(
                    _error(("documents", position, "sha256"), "does not match content_base64", kind="document")
                )
        return errors

    def _appearance_errors(self) -> list[InitErrorDetails]:
        if self.signature_appearance is not None and not self.workflow.uses_oneshot:
            return [_error(("signature_appearance",), "not used by the {workflow} workflow", self.workflow)]
        return []

    def _deadline_errors(self) -> list[InitErrorDetails]:
        if self.deadline is not None and self.deadline <= utc_now():
            return [_error(("deadline",), "a time in the future, with its UTC offset", kind="deadline")]
        return []


MAX_CANCEL_REASON_CHARS: Final = 200


class CancelRequestBody(_Input):
    """`POST /v1/requests/{id}/cancel` (the body is optional). The reason goes to the timeline: no personal data."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "the contract was withdrawn"}]})

    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CANCEL_REASON_CHARS,
        pattern=r"^[^\x00-\x1f\x7f]*$",  # one line of text: it is shown in the timeline
        description="Why, for the timeline.",
    )


class SubmitOtpBody(_Input):
    """`POST /v1/requests/{id}/signers/{n}/otp`: the SMS code the signer received."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "123456"}]})

    code: str = Field(repr=False, pattern=OTP_CODE_PATTERN, description="The code from the SMS: 4 to 8 digits.")
