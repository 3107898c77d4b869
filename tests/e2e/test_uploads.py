"""Documents given inline and through presigned POST uploads; what is refused (issue "Workflows end to end")."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from demo.data import demo_pdf
from tests.e2e.conftest import E2E, b64, sha256

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def upload(form: dict[str, Any], content: bytes, filename: str = "upload.pdf") -> requests.Response:
    """POST a file to a presigned S3 POST form, as a browser would: every field, then the file last."""
    return requests.post(
        form["url"], data=form["fields"], files={"file": (filename, content, "application/pdf")}, timeout=30
    )


def declared(body: dict[str, Any], index: int, **extra: Any) -> dict[str, Any]:
    """The body with document `index` declared for upload instead of inline."""
    document = body["documents"][index]
    document.pop("content_base64")
    document.update(extra)
    return body


def test_a_document_uploaded_through_the_presigned_post_is_signed(e2e: E2E) -> None:
    # Given a request whose second document is declared for upload (the first one inline)
    body = e2e.body("zapsign", documents=2)
    pdf = demo_pdf("Uploaded annex", "e2e")
    created = e2e.create(declared(body, 1, sha256=sha256(pdf), size=len(pdf)))
    request_id = created["id"]
    assert created["status"] == "draft"
    (form,) = created["uploads"]
    assert form["document"] == 1

    # When the client uploads it
    uploaded = upload(form, pdf)

    # Then S3 takes it, the intake submits the request, and it goes on to completion with the uploaded bytes
    assert uploaded.status_code in (200, 201, 204), uploaded.text
    pending = e2e.wait_for_signer_links(request_id)
    assert pending["documents"][1]["sha256"] == sha256(pdf)
    e2e.sign_at_zapsign(e2e.tokens(pending)[0])
    done = e2e.wait(request_id, "completed")
    e2e.assert_files_verified(done)
    assert done["documents"][1]["files"]["original"]["sha256"] == sha256(pdf)


def test_a_rejected_upload_can_be_uploaded_again_and_the_request_goes_on(e2e: E2E) -> None:
    # Given a request with one document declared for upload
    created = e2e.create(declared(e2e.body("zapsign"), 0))
    request_id = created["id"]

    # When the client uploads something that is not a PDF
    answer = upload(created["uploads"][0], b"MZ\x90\x00 this is not a PDF at all", "invoice.pdf")

    # Then S3 takes it but the intake rejects the document; the request stays a draft and never reaches ZapSign
    assert answer.status_code in (200, 201, 204), answer.text
    rejected = e2e.wait(request_id, "draft", condition=lambda body: body["documents"][0]["status"] == "rejected")
    assert rejected["documents"][0]["rejection_reason"].endswith("not a PDF")
    assert not e2e.zapsign.find_documents(external_id=rejected.get("external_id"))

    # When the client asks for a new link, twice (a retry), and uploads the right file with it
    path = f"/v1/requests/{request_id}/documents/0/upload"
    first, again = e2e.api.post(path), e2e.api.post(path)
    assert (first.status_code, again.status_code) == (200, 200), first.text
    reopened = again.json()
    assert reopened["status"] == "draft"
    assert reopened["documents"][0]["status"] == "awaiting_upload"
    assert reopened["documents"][0]["rejection_reason"] is None
    (form,) = reopened["uploads"]
    assert form["document"] == 0
    pdf = demo_pdf("Corrected contract", "e2e")
    assert upload(form, pdf).status_code in (200, 201, 204)

    # Then the request goes on to ZapSign with the corrected file, and the timeline recorded the reopening once
    pending = e2e.wait_for_signer_links(request_id)
    assert pending["documents"][0]["sha256"] == sha256(pdf)
    details = [entry.get("detail") or "" for entry in pending["timeline"]]
    assert details.count("document 0 may be uploaded again") == 1
    # and once it has left draft, another link is refused with a 409 problem
    closed = e2e.api.post(path)
    assert closed.status_code == 409, closed.text
    assert closed.headers["Content-Type"].startswith("application/problem+json")
    assert closed.json()["type"].endswith("upload-closed")


def test_an_upload_larger_than_declared_is_refused(e2e: E2E) -> None:
    # Given a document declared with its exact size
    pdf = demo_pdf("Declared size", "e2e")
    created = e2e.create(declared(e2e.body("zapsign"), 0, size=len(pdf)))
    request_id = created["id"]

    # When the client uploads a bigger file
    answer = upload(created["uploads"][0], pdf + b"\n%" + b"x" * 4096)

    # Then S3 refuses it by the POST policy, or the intake rejects it
    if answer.status_code in (200, 201, 204):
        body = e2e.wait(request_id, "draft", condition=lambda body: body["documents"][0]["status"] == "rejected")
        assert body["documents"][0]["rejection_reason"]
    else:
        assert 400 <= answer.status_code < 500, answer.text
        assert e2e.get(request_id)["status"] == "draft"


def test_an_inline_document_that_is_not_a_pdf_is_a_422_naming_the_field(e2e: E2E) -> None:
    body = e2e.body("zapsign")
    body["documents"][0]["content_base64"] = b64(b"GIF89a not a pdf")

    answer = e2e.api.post("/v1/requests", body)

    assert answer.status_code == 422, answer.text
    assert any(error["field"].startswith("documents.0") for error in answer.json()["errors"])


def test_inline_documents_over_the_limit_are_refused_with_413(e2e: E2E) -> None:
    body = e2e.body("zapsign")
    big = demo_pdf("Big", "e2e") + b"%" + b"0" * (7 * 1024 * 1024)
    body["documents"][0]["content_base64"] = b64(big)

    answer = e2e.api.post("/v1/requests", body)

    assert answer.status_code == 413, answer.text[:500]
