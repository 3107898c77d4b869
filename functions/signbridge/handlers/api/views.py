"""What the HTTP API answers: response models (they also describe the bodies in the OpenAPI document) and how a
request aggregate becomes one. Problems (the error bodies) are `signbridge.handlers.problems`.

Views show what a client needs to act: statuses, the ZapSign signing links to hand to signers, short-lived download
links for the stored files, the timeline. They leave out what the client already has or must not get back: phone
numbers, ID numbers, ID images, provider tokens and keys.

Download links are presigned locally (no S3 call) and live `settings.presign_ttl_seconds` (at most an hour).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from signbridge.domain.files import PresignedPost
from signbridge.domain.models import (
    Cause,
    Document,
    DocumentStatus,
    Language,
    RequestAggregate,
    RequestStatus,
    SignatureRequest,
    Signer,
    SignerStatus,
    TimelineEntry,
    TimelineSubject,
    Workflow,
)
from signbridge.domain.verification import Indication, LongTermLevel, SubIndication, VerificationSummary
from signbridge.workflow.ports import FileStore

ORIGINAL_FILE = "original"
FINAL_FILE = "final"


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


# Examples for the OpenAPI document: a ZapSign request just created, one document declared for upload.
_AT = "2026-03-02T10:15:00Z"
_SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": "0f8fad5bd9cb469fa16570867728950e",
    "workflow": "zapsign",
    "status": "draft",
    "status_since": _AT,
    "version": 1,
    "external_id": "order-1234",
    "metadata": {"department": "sales"},
    "language": "es",
    "deadline": None,
    "created_at": _AT,
    "updated_at": _AT,
    "failure_reason": None,
    "document_count": 1,
    "signer_count": 1,
}
_REQUEST_EXAMPLE: dict[str, Any] = {
    **_SUMMARY_EXAMPLE,
    "verification_problem": None,
    "current_signer": None,
    "signature_appearance": None,
    "refused_by": None,
    "refusal_reason": None,
    "signers": [
        {
            "index": 0,
            "name": "Ana García",
            "email": "ana@example.com",
            "language": None,
            "status": "pending",
            "status_since": _AT,
            "sign_url": None,
            "otp_sent_at": None,
            "otp_failures": 0,
            "contract": None,
            "signing_page_url": None,
            "failure_reason": None,
            "refusal_reason": None,
        }
    ],
    "documents": [
        {
            "index": 0,
            "name": "contract.pdf",
            "status": "awaiting_upload",
            "status_since": _AT,
            "size": None,
            "sha256": None,
            "rejection_reason": None,
            "files": {},
            "verifications": {},
        }
    ],
    "timeline": [
        {
            "at": _AT,
            "subject": "request",
            "index": None,
            "from": None,
            "to": "draft",
            "cause": "api",
            "detail": None,
            "correlation_id": "Kp3xYhXbIAMEb2w=",
        }
    ],
}
_UPLOAD_EXAMPLE: dict[str, Any] = {
    "document": 0,
    "url": "https://signbridge-documents.s3.amazonaws.com/",
    "fields": {"key": "requests/0f8fad5bd9cb469fa16570867728950e/0/original.pdf", "policy": "eyJleHBpcmF0aW9u…"},
    "expires_at": "2026-03-02T10:30:00Z",
    "max_bytes": 48213,
}


class FileLink(_View):
    url: str = Field(description="A presigned GET link to the stored file; it expires at `expires_at`.")
    expires_at: datetime
    sha256: str | None = Field(default=None, description="SHA-256 of the stored file, when recorded.")


_VERIFICATION_EXAMPLE: dict[str, Any] = {
    "indication": "TOTAL-PASSED",
    "sub_indication": None,
    "passed": True,
    "accepted_by_operator": False,
    "reasons": [],
    "validated_at": _AT,
    "sha256": "9f2c6a0d4e…",
    "report": {"url": "https://signbridge-documents.s3.amazonaws.com/reports/…", "expires_at": _AT, "sha256": None},
    "signatures": [
        {
            "field_name": "Signature1",
            "signer": 0,
            "indication": "TOTAL-PASSED",
            "sub_indication": None,
            "qualified": True,
        }
    ],
    "long_term": {
        "level": "B-LT",
        "size": 48213,
        "file": {"url": "https://signbridge-documents.s3.amazonaws.com/signed/…", "expires_at": _AT, "sha256": "…"},
    },
}


class SignatureVerificationView(_View):
    field_name: str = Field(description="The PDF signature field.")
    signer: int | None = Field(
        default=None,
        description="The index of the request's signer the certificate names (name and ID number); null for a "
        "signature that names none of them (ZapSign's own platform signature, or the wrong person).",
    )
    indication: Indication = Field(description="ETSI EN 319 102-1: TOTAL-PASSED, INDETERMINATE or TOTAL-FAILED.")
    sub_indication: SubIndication | None = Field(default=None, description="ETSI EN 319 102-1 table 5.")
    qualified: bool = Field(description="The certificate carries QcCompliance, QcSSCD and QcType esign.")


class LongTermView(_View):
    """The signed version with its validation material embedded, stored beside it (docs/evidence.md)."""

    level: LongTermLevel = Field(description='"B-LT" (a DSS), or "B-LTA" (and an archive timestamp).')
    size: int = Field(ge=0)
    file: FileLink = Field(description="A presigned link to the copy; its sha256 is the link's.")


class VerificationView(_View):
    """The verification of one signed version of a document, made before it was archived (docs/evidence.md)."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [_VERIFICATION_EXAMPLE]})

    indication: Indication | None = Field(description="The worst of its signatures; null for a file with none.")
    sub_indication: SubIndication | None = None
    passed: bool = Field(description="The provider's policy let the file be archived.")
    accepted_by_operator: bool = Field(
        default=False, description="It did not pass, and an operator accepted this very file (by its sha256)."
    )
    reasons: list[str] = Field(default_factory=list, description="Why it did not pass (no personal data).")
    validated_at: datetime
    sha256: str | None = Field(default=None, description="SHA-256 of the file verified.")
    report: FileLink = Field(description="The full validation report (JSON), a presigned link.")
    signatures: list[SignatureVerificationView]
    long_term: LongTermView | None = Field(
        default=None,
        description="Of a version that passed: its long-term copy (PAdES B-LT or B-LTA), the provider's file "
        "followed by the validation material; the provider's file stays as served.",
    )


class DocumentView(_View):
    index: int
    name: str
    status: DocumentStatus
    status_since: datetime
    size: int | None = Field(default=None, description="Size of the original in bytes, once received.")
    sha256: str | None = Field(default=None, description="SHA-256 of the original, once received.")
    rejection_reason: str | None = None
    files: dict[str, FileLink] = Field(
        default_factory=dict,
        description='The stored versions: "original", "zapsign" (ZapSign-signed), "oneshot-{signer}" (after that '
        'signer\'s qualified signature) and "final" (the last signed version), as far as they exist.',
    )
    verifications: dict[str, VerificationView] = Field(
        default_factory=dict,
        description='The verification of each signed version by stage ("zapsign", "oneshot-{signer}"), also of one '
        "that did not pass (the request then waits in `verification_failed`).",
    )


class SignerView(_View):
    index: int
    name: str
    email: str | None = None
    language: Language | None = None
    status: SignerStatus
    status_since: datetime
    sign_url: str | None = Field(
        default=None, description="ZapSign workflows: the signing link to hand to this signer (whoever has it signs)."
    )
    otp_sent_at: datetime | None = Field(default=None, description="One-Shot: when the last SMS code was sent.")
    otp_failures: int = Field(
        default=0,
        ge=0,
        description="One-Shot: wrong SMS codes since the last unlock; at the limit the signer is locked.",
    )
    contract: FileLink | None = Field(
        default=None, description="One-Shot: the service contract the signer must be shown before signing."
    )
    signing_page_url: str | None = Field(
        default=None,
        description="One-Shot: the signer's own link to SignBridge's signing page (docs/signer-page.md): whoever has "
        "it can sign as this signer; it expires with the request's deadline or the configured lifetime.",
    )
    failure_reason: str | None = None
    refusal_reason: str | None = Field(
        default=None, description="The signer who refused: the reason ZapSign gives (free text the signer typed)."
    )


class TimelineEntryView(_View):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    at: datetime
    subject: TimelineSubject
    index: int | None = Field(default=None, description="The document's or signer's index; null for the request.")
    from_status: str | None = Field(default=None, alias="from", description="null for the creation entry.")
    to: str
    cause: Cause
    detail: str | None = None
    correlation_id: str


class RequestSummary(_View):
    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

    id: str
    workflow: Workflow
    status: RequestStatus
    status_since: datetime
    version: int
    external_id: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    language: Language
    deadline: datetime | None = None
    created_at: datetime
    updated_at: datetime
    failure_reason: str | None = None
    document_count: int
    signer_count: int


class RequestView(RequestSummary):
    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [_REQUEST_EXAMPLE]})

    verification_problem: str | None = Field(
        default=None,
        description="`verification_failed`: which signed file did not pass verification and why; an operator "
        "retries or accepts it.",
    )
    current_signer: int | None = Field(default=None, description="One-Shot: whose turn it is to sign.")
    signature_appearance: dict[str, Any] | None = None
    refused_by: int | None = Field(
        default=None, description="A refused request: the index of the signer who refused, when ZapSign tells."
    )
    refusal_reason: str | None = Field(
        default=None, description="A refused request: the reason ZapSign gives (free text the signer typed)."
    )
    signers: list[SignerView]
    documents: list[DocumentView]
    timeline: list[TimelineEntryView] = Field(description="Every status change, oldest first.")


class UploadView(_View):
    document: int = Field(description="Index of the declared document this upload is for.")
    url: str = Field(description="POST a multipart/form-data form here: every `fields` entry, then `file` last.")
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int = Field(description="The largest file S3 accepts (or the exact size, when one was declared).")


class CreatedRequestView(RequestView):
    model_config = ConfigDict(
        frozen=True, json_schema_extra={"examples": [{**_REQUEST_EXAMPLE, "uploads": [_UPLOAD_EXAMPLE]}]}
    )

    uploads: list[UploadView] = Field(
        default_factory=list, description="One presigned POST per document declared for upload."
    )


class RequestList(_View):
    model_config = ConfigDict(
        frozen=True, json_schema_extra={"examples": [{"items": [_SUMMARY_EXAMPLE], "next_cursor": None}]}
    )

    items: list[RequestSummary]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null at the end.")


class Accepted(_View):
    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [{"status": "accepted"}]})

    status: Literal["accepted"] = "accepted"


class EvidencePackageView(_View):
    """`GET /v1/requests/{id}/evidence`: the request's sealed evidence package (docs/evidence.md)."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "request_id": "3f2a0c9e5b7d4e1f8a6b2c4d9e0f1a2b",
                    "url": "https://signbridge-files.s3.amazonaws.com/packages/3f2a…/evidence.zip?X-Amz-…",
                    "expires_at": "2026-03-02T10:10:00Z",
                    "sha256": "9b1c…",
                    "size": 184233,
                    "built_at": "2026-03-02T10:00:04Z",
                }
            ]
        },
    )

    request_id: str
    url: str = Field(description="A presigned GET link to the ZIP; it expires at `expires_at`.")
    expires_at: datetime
    sha256: str = Field(description="SHA-256 of the ZIP as stored.")
    size: int = Field(description="Size of the ZIP in bytes.")
    built_at: datetime


# ------------------------------------------------------------------------------------------------ builders


class ProblemFieldError(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    field: str = Field(description='Where the problem is: "signers.0.phone" in the body, or a parameter name.')
    message: str
    location: Literal["body", "query", "path", "header"] = Field(default="body", alias="in")
    type: str = Field(description="A stable error code, e.g. missing, phone_e164, workflow_requirement.")


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`): the document `signbridge.handlers.problems` answers
    (`ProblemAnswer.body`), as the OpenAPI document describes it."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "https://signbridge.dev/problems/validation-error",
                    "title": "The request is not valid",
                    "status": 422,
                    "detail": "1 field is not valid",
                    "instance": "/v1/requests",
                    "correlation_id": "Kp3xYhXbIAMEb2w=",
                    "errors": [
                        {
                            "field": "signers.0.phone",
                            "message": "a mobile number with its international prefix, e.g. +34600111222",
                            "in": "body",
                            "type": "phone_e164",
                        }
                    ],
                }
            ]
        },
    )

    type: str = Field(description="A stable URI naming the kind of problem; branch on it.")
    title: str
    status: int
    detail: str
    instance: str | None = Field(default=None, description="The path of the request that failed.")
    correlation_id: str | None = Field(default=None, description="Quote it when asking for help.")
    errors: list[ProblemFieldError] | None = Field(default=None, description="Validation problems, by field.")


class LinkSigner:
    """Presigns download links for one answer, all with the same lifetime."""

    def __init__(self, files: FileStore, *, now: datetime, ttl_seconds: int) -> None:
        self._files = files
        self._ttl_seconds = ttl_seconds
        self._expires_at = now + timedelta(seconds=ttl_seconds)

    def link(self, key: str, *, sha256: str | None, download_name: str | None) -> FileLink:
        url = self._files.presigned_get(key, expires_in=self._ttl_seconds, download_name=download_name)
        return FileLink(url=url, expires_at=self._expires_at, sha256=sha256)


def request_summary(request: SignatureRequest) -> RequestSummary:
    return RequestSummary(**_summary_fields(request))


def request_view(
    aggregate: RequestAggregate, links: LinkSigner, page_urls: Mapping[int, str] | None = None
) -> RequestView:
    """The request's view; `page_urls` (signer index -> signing-page URL) only where the caller may see them."""
    return RequestView(**_view_fields(aggregate, links, page_urls or {}))


def created_request_view(
    aggregate: RequestAggregate, links: LinkSigner, uploads: list[tuple[int, PresignedPost]]
) -> CreatedRequestView:
    return CreatedRequestView(
        **_view_fields(aggregate, links),
        uploads=[
            UploadView(
                document=index, url=post.url, fields=post.fields, expires_at=post.expires_at, max_bytes=post.max_bytes
            )
            for index, post in uploads
        ],
    )


def _summary_fields(request: SignatureRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "workflow": request.workflow,
        "status": request.status,
        "status_since": request.status_since,
        "version": request.version,
        "external_id": request.external_id,
        "metadata": request.metadata,
        "language": request.language,
        "deadline": request.deadline,
        "created_at": request.created_at,
        "updated_at": request.updated_at,
        "failure_reason": request.failure_reason,
        "document_count": request.document_count,
        "signer_count": request.signer_count,
    }


def _view_fields(
    aggregate: RequestAggregate, links: LinkSigner, page_urls: Mapping[int, str] | None = None
) -> dict[str, Any]:
    page_urls = page_urls or {}
    request = aggregate.request
    return {
        **_summary_fields(request),
        "verification_problem": request.verification_problem,
        "current_signer": request.current_signer,
        "signature_appearance": request.signature_appearance,
        "refused_by": request.refused_by,
        "refusal_reason": request.refusal_reason,
        "signers": [
            _signer_view(
                signer,
                links,
                request.refusal_reason if signer.index == request.refused_by else None,
                page_urls.get(signer.index),
            )
            for signer in aggregate.signers
        ],
        "documents": [_document_view(document, links) for document in aggregate.documents],
        "timeline": [_timeline_view(entry) for entry in aggregate.timeline],
    }


def _signer_view(
    signer: Signer, links: LinkSigner, refusal_reason: str | None = None, page_url: str | None = None
) -> SignerView:
    contract = (
        links.link(signer.contract_key, sha256=None, download_name=f"contract-signer-{signer.index}.pdf")
        if signer.contract_key
        else None
    )
    return SignerView(
        index=signer.index,
        name=signer.name,
        email=signer.email,
        language=signer.language,
        status=signer.status,
        status_since=signer.status_since,
        sign_url=signer.sign_url,
        otp_sent_at=signer.otp_sent_at,
        otp_failures=signer.otp_failures,
        contract=contract,
        signing_page_url=page_url,
        failure_reason=signer.failure_reason,
        refusal_reason=refusal_reason,
    )


def _document_view(document: Document, links: LinkSigner) -> DocumentView:
    files: dict[str, FileLink] = {}
    if document.original_key:
        files[ORIGINAL_FILE] = links.link(document.original_key, sha256=document.sha256, download_name=document.name)
    for stage, key in sorted(document.signed_keys.items()):
        files[stage] = links.link(key, sha256=document.signed_sha256.get(stage), download_name=document.name)
    if document.final_key:
        final_stage = next((stage for stage, key in document.signed_keys.items() if key == document.final_key), None)
        sha256 = document.signed_sha256.get(final_stage) if final_stage else None
        files[FINAL_FILE] = links.link(document.final_key, sha256=sha256, download_name=document.name)
    return DocumentView(
        index=document.index,
        name=document.name,
        status=document.status,
        status_since=document.status_since,
        size=document.size,
        sha256=document.sha256,
        rejection_reason=document.rejection_reason,
        files=files,
        verifications={
            stage: _verification_view(VerificationSummary.model_validate(record), links)
            for stage, record in sorted(document.verifications.items())
        },
    )


def _verification_view(summary: VerificationSummary, links: LinkSigner) -> VerificationView:
    return VerificationView(
        indication=summary.indication,
        sub_indication=summary.sub_indication,
        passed=summary.passed,
        accepted_by_operator=summary.accepted_by_operator,
        reasons=list(summary.reasons),
        validated_at=summary.validated_at,
        sha256=summary.sha256,
        report=links.link(summary.report_key, sha256=None, download_name=f"report-{summary.stage}.json"),
        signatures=[
            SignatureVerificationView(
                field_name=signature.field_name,
                signer=signature.signer,
                indication=signature.indication,
                sub_indication=signature.sub_indication,
                qualified=signature.qualified,
            )
            for signature in summary.signatures
        ],
        long_term=_long_term_view(summary, links),
    )


def _long_term_view(summary: VerificationSummary, links: LinkSigner) -> LongTermView | None:
    copy = summary.long_term
    if copy is None:
        return None
    return LongTermView(
        level=copy.level,
        size=copy.size,
        file=links.link(copy.key, sha256=copy.sha256, download_name=f"{summary.stage}.ltv.pdf"),
    )


def _timeline_view(entry: TimelineEntry) -> TimelineEntryView:
    return TimelineEntryView(
        at=entry.at,
        subject=entry.subject,
        index=entry.subject_index,
        from_status=entry.from_status,
        to=entry.to_status,
        cause=entry.cause,
        detail=entry.detail,
        correlation_id=entry.correlation_id,
    )


def evidence_view(request: SignatureRequest, links: LinkSigner) -> EvidencePackageView:
    """The package of a request whose package is recorded (`evidence_key` set)."""
    if request.evidence_key is None or request.evidence_sha256 is None or request.evidence_size is None:
        raise ValueError("the request has no evidence package recorded")
    assert request.evidence_built_at is not None
    link = links.link(request.evidence_key, sha256=request.evidence_sha256, download_name=f"evidence-{request.id}.zip")
    return EvidencePackageView(
        request_id=request.id,
        url=link.url,
        expires_at=link.expires_at,
        sha256=request.evidence_sha256,
        size=request.evidence_size,
        built_at=request.evidence_built_at,
    )
