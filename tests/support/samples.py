"""Sample data: valid API bodies per workflow, tiny files with the right magic bytes, and stored aggregates.

All personal data here is invented (names, the +34 600 test range, example.com addresses).
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from signbridge.domain.lifecycle import initial_document_status, initial_request_status
from signbridge.domain.models import (
    Document,
    IdDocumentType,
    Language,
    RequestStatus,
    SignatureRequest,
    Signer,
    SignerStatus,
    Workflow,
    utc_now,
)

PDF_BYTES = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
GIF_BYTES = b"GIF89a" + b"\x00" * 32


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def signer_body(workflow: Workflow, **overrides: Any) -> dict[str, Any]:
    """A signer with exactly the fields `workflow` needs."""
    body: dict[str, Any] = {"name": "Ana Souza", "email": "ana@example.com", "phone": "+34600111222"}
    if workflow.uses_oneshot:
        body |= {
            "given_name": "Ana",
            "first_surname": "Souza",
            "second_surname": "Lima",
            "id_number": "12345678Z",
            "id_document_type": "IDC",
            "id_document_country": "ES",
        }
    if workflow.client_sends_id_images:
        body |= {"document_front": b64(JPEG_BYTES), "document_rear": b64(JPEG_BYTES), "document_owner": b64(PNG_BYTES)}
    return body | overrides


def document_body(*, inline: bool = True, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Contrato de prestação.pdf"}
    if inline:
        body["content_base64"] = b64(PDF_BYTES)
    return body | overrides


def create_body(workflow: Workflow, **overrides: Any) -> dict[str, Any]:
    """A valid `POST /v1/requests` body for `workflow`."""
    body: dict[str, Any] = {
        "workflow": workflow.value,
        "signers": [signer_body(workflow)],
        "documents": [document_body()],
        "language": "es",
        "external_id": "order-42",
        "metadata": {"department": "sales"},
    }
    return body | overrides


def new_request(
    workflow: Workflow = Workflow.ZAPSIGN,
    *,
    request_id: str | None = None,
    documents: int = 1,
    signers: int = 1,
    status: RequestStatus | None = None,
    external_id: str | None = None,
    now: datetime | None = None,
) -> tuple[SignatureRequest, list[Document], list[Signer]]:
    """A new request as the API would store it: version 1, every document received (inline), signers pending."""
    now = now or utc_now()
    request = SignatureRequest(
        id=request_id or uuid.uuid4().hex,
        workflow=workflow,
        status=status or initial_request_status(every_document_inline=True),
        version=1,
        external_id=external_id,
        metadata={"department": "sales"},
        language=Language.ES,
        created_at=now,
        updated_at=now,
        status_since=now,
        document_count=documents,
        signer_count=signers,
    )
    document_items = [
        Document(
            index=index,
            name=f"document-{index}.pdf",
            status=initial_document_status(inline=True),
            status_since=now,
            size=len(PDF_BYTES),
            sha256="0" * 64,
            original_key=f"originals/{request.id}/{index:03d}.pdf",
        )
        for index in range(documents)
    ]
    signer_items = [
        Signer(
            index=index,
            name=f"Signer {index}",
            email=f"signer{index}@example.com",
            phone="+34600111222",
            given_name="Ana",
            first_surname="Souza",
            id_number="12345678Z",
            id_document_type=IdDocumentType.IDC,
            id_document_country="ES",
            status=SignerStatus.PENDING,
            status_since=now,
        )
        for index in range(signers)
    ]
    return request, document_items, signer_items
