"""What the signing page's JSON endpoints answer: the state the page renders, for the one signer of the link.

It shows the signer what they need and nothing of the others: their own name, the company asking (branding from
the stage's configuration), the documents and the service contract as short-lived presigned S3 links (the same
`FileStore.presigned_get` the API's views use), where they stand (`phase`), the SMS-code counters and, once signed,
their signed PDFs. No phone number, ID number, ID image, provider identifier or other signer.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from signbridge.domain import signer_page as links
from signbridge.domain.models import Document, RequestStatus, SignerStatus, oneshot_stage
from signbridge.workflow.services import Services
from signbridge.workflow.signer_page import PageAccess, resend_wait_seconds


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Brand(_View):
    name: str
    color: str = Field(description="#rrggbb")
    logo: str | None = Field(default=None, description="A data: URI (image/png or image/svg+xml), or null.")


class PageDocument(_View):
    index: int
    name: str
    url: str | None = Field(default=None, description="The document to read (the version this signer signs).")
    signed_url: str | None = Field(default=None, description="This signer's signed PDF, once stored.")


class PageSigner(_View):
    name: str
    status: SignerStatus
    contract_accepted_at: datetime | None = None
    otp_sent_at: datetime | None = None
    resend_wait_seconds: int = Field(description="Seconds before another SMS code may be asked for (0: now).")
    tries_remaining: int = Field(description="Wrong SMS codes the signer may still type before being locked.")
    max_tries: int


class PageState(_View):
    language: str = Field(description="The page's first language: es, pt or en.")
    languages: tuple[str, ...] = links.PAGE_LANGUAGES
    brand: Brand
    phase: str = Field(description="waiting, contract, code, locked, signing or signed.")
    request_status: RequestStatus
    link_expires_at: datetime
    signer: PageSigner
    contract_url: str | None = None
    documents: list[PageDocument]
    signed_ready: bool = Field(description="Every signed PDF of this signer is stored (the downloads are there).")


def page_state(services: Services, access: PageAccess) -> PageState:
    settings = services.settings
    aggregate, signer = access.aggregate, access.signer
    ttl = settings.presign_ttl_seconds

    def link(key: str | None, download_name: str) -> str | None:
        return services.files.presigned_get(key, expires_in=ttl, download_name=download_name) if key else None

    stage = oneshot_stage(signer.index)
    documents = [
        PageDocument(
            index=document.index,
            name=document.name,
            url=link(_input_key(document, signer.index), document.name),
            signed_url=link(document.signed_keys.get(stage), document.name),
        )
        for document in aggregate.documents
    ]
    return PageState(
        language=links.page_language(aggregate, signer),
        brand=Brand(
            name=settings.page_brand_name, color=settings.page_brand_color, logo=settings.page_brand_logo or None
        ),
        phase=access.phase,
        request_status=aggregate.request.status,
        link_expires_at=access.expires_at,
        signer=PageSigner(
            name=signer.name,
            status=signer.status,
            contract_accepted_at=signer.contract_accepted_at,
            otp_sent_at=signer.otp_sent_at,
            resend_wait_seconds=resend_wait_seconds(services, signer),
            tries_remaining=max(0, access.max_failures - signer.otp_failures),
            max_tries=access.max_failures,
        ),
        contract_url=link(signer.contract_key, "service-contract.pdf"),
        documents=documents,
        signed_ready=bool(documents) and all(document.signed_url for document in documents),
    )


def _input_key(document: Document, signer_index: int) -> str | None:
    """The version of `document` this signer signs: the previous signer's output, else ZapSign's, else the
    original."""
    for previous in range(signer_index - 1, -1, -1):
        key = document.signed_keys.get(oneshot_stage(previous))
        if key:
            return key
    return document.signed_keys.get("zapsign") or document.original_key
