"""Each workflow to `completed` through the whole local stack, with every stored file checked against what the
providers served (issue "Workflows end to end")."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from demo.files import key_from_link
from demo.runner import run_demo
from signbridge.domain.verification import Indication
from signbridge.verification.pdf import PdfSignatureVerifier, load_trust_anchors
from tests.e2e.conftest import E2E, sha256

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_zapsign_request_completes_with_zapsign_signed_pdf_in_s3(e2e: E2E) -> None:
    # Given a zapsign request with one signer and one inline PDF
    created = e2e.create(e2e.body("zapsign"))
    request_id = created["id"]
    assert created["status"] == "submitted"

    # When the signer signs at ZapSign
    pending = e2e.wait_for_signer_links(request_id)
    e2e.sign_at_zapsign(e2e.tokens(pending)[0])

    # Then the request completes and its final file is ZapSign's signed PDF, byte for byte
    done = e2e.wait(request_id, "completed")
    e2e.assert_files_verified(done)
    e2e.assert_signatures_verified(done)
    document = e2e.zapsign.documents[e2e.doc_token(pending)]
    assert document.signed_file is not None
    served = e2e.zapsign.files[document.signed_file].data
    final = done["documents"][0]["files"]["final"]
    assert final["sha256"] == sha256(served)
    assert done["signers"][0]["status"] == "signed"
    # And its long-term copy (PAdES B-LT: no TSA is configured locally) is the file as served followed by the
    # validation material, and its signature still passes in it
    long_term = done["documents"][0]["verifications"]["zapsign"]["long_term"]
    assert long_term["level"] == "B-LT"
    copy = e2e.object_bytes(key_from_link(long_term["file"]["url"], e2e.bucket))
    assert (sha256(copy), len(copy)) == (long_term["file"]["sha256"], long_term["size"])
    assert copy.startswith(served)
    assert "/DSS" in PdfFileReader(io.BytesIO(copy)).root
    verifier = PdfSignatureVerifier(load_trust_anchors(e2e.zapsign.signatures.pki.trust_anchors_pem().encode()))
    assert verifier.verify(io.BytesIO(copy)).indication is Indication.TOTAL_PASSED


def test_oneshot_request_completes_with_qualified_signature_in_s3(e2e: E2E) -> None:
    # Given a oneshot request (identity data and ID images inline)
    body = e2e.body("oneshot")
    created = e2e.create(body)
    request_id = created["id"]

    # When the signer's SMS code is submitted
    e2e.wait_for_turn(request_id, 0)
    answer = e2e.submit_otp(request_id, 0, body["signers"][0]["phone"])
    assert answer.json()["status"] in ("signing", "archiving", "completed")

    # Then it completes; the final PDF is the Optimizer's signed output and the Optimizer holds nothing any more
    done = e2e.wait(request_id, "completed")
    e2e.assert_files_verified(done)
    e2e.assert_signatures_verified(done)
    files = done["documents"][0]["files"]
    assert files["final"]["sha256"] == files["oneshot-0"]["sha256"]
    (signature,) = done["documents"][0]["verifications"]["oneshot-0"]["signatures"]
    assert (signature["signer"], signature["qualified"]) == (0, True)
    assert done["signers"][0]["contract"] is not None
    requests_of_signer = [r for r in e2e.oneshot.requests.values() if r.phone == body["signers"][0]["phone"]]
    assert len(requests_of_signer) == 1  # one One-Shot request, one certificate
    assert requests_of_signer[0].status == "ISSUED"
    e2e.wait(request_id, "completed", condition=lambda _: not requests_of_signer[0].documents)


def test_zapsign_oneshot_request_completes_with_both_signatures_and_evidence(e2e: E2E) -> None:
    # Given a zapsign_oneshot request
    body = e2e.body("zapsign_oneshot")
    created = e2e.create(body)
    request_id = created["id"]

    # When the signer signs at ZapSign (taking the ID photos and the selfie), then submits the SMS code
    pending = e2e.wait_for_signer_links(request_id)
    e2e.sign_at_zapsign(e2e.tokens(pending)[0], photos=True)
    e2e.wait_for_turn(request_id, 0)
    e2e.submit_otp(request_id, 0, body["signers"][0]["phone"])

    # Then both signed versions are stored, the final one is the One-Shot output, and the evidence was archived
    done = e2e.wait(request_id, "completed")
    e2e.assert_files_verified(done)
    e2e.assert_signatures_verified(done)
    files = done["documents"][0]["files"]
    assert {"original", "zapsign", "oneshot-0", "final"} <= set(files)
    assert files["final"]["sha256"] == files["oneshot-0"]["sha256"] != files["zapsign"]["sha256"]
    evidence = e2e.keys(f"evidence/{request_id}/")
    assert len(evidence) >= 3, evidence
    photos = {sha256(stored.data) for stored in e2e.zapsign.files.values() if stored.content_type == "image/png"}
    assert all(sha256(e2e.object_bytes(key)) in photos for key in evidence)


def test_two_zapsign_signers_stay_pending_until_the_second_signs(e2e: E2E) -> None:
    # Given a zapsign request with two signers
    created = e2e.create(e2e.body("zapsign", signers=2))
    request_id = created["id"]
    first, second = e2e.tokens(e2e.wait_for_signer_links(request_id))

    # When only the first signs
    e2e.sign_at_zapsign(first)
    e2e.zapsign.wait_for_webhooks()
    e2e.stack.wait_until_idle(timeout=20)

    # Then the request is still pending, with the first signer marked as signed at ZapSign
    midway = e2e.get(request_id)
    assert midway["status"] == "zapsign_pending"
    statuses = [signer["status"] for signer in midway["signers"]]
    assert statuses[0] in ("signed", "zapsign_signed"), statuses
    assert statuses[1] in ("pending", "link_opened"), statuses

    # When the second signs, Then it completes
    e2e.sign_at_zapsign(second)
    done = e2e.wait(request_id, "completed")
    e2e.assert_files_verified(done)


def test_two_oneshot_signers_sign_in_turn_each_on_the_previous_output(e2e: E2E) -> None:
    # Given a oneshot request with two signers
    body = e2e.body("oneshot", signers=2)
    request_id = e2e.create(body)["id"]

    # When each submits their code in turn
    e2e.wait_for_turn(request_id, 0)
    e2e.submit_otp(request_id, 0, body["signers"][0]["phone"])
    e2e.wait_for_turn(request_id, 1)
    e2e.submit_otp(request_id, 1, body["signers"][1]["phone"])

    # Then both signatures are stored and the second signed what the first produced
    done = e2e.wait(request_id, "completed")
    e2e.assert_files_verified(done)
    e2e.assert_signatures_verified(done)
    files = done["documents"][0]["files"]
    assert files["final"]["sha256"] == files["oneshot-1"]["sha256"] != files["oneshot-0"]["sha256"]
    # And the second signer's file carries both signatures, each naming its signer
    signatures = done["documents"][0]["verifications"]["oneshot-1"]["signatures"]
    assert [signature["signer"] for signature in signatures] == [0, 1]
    pks = sorted(r.pk for r in e2e.oneshot.requests.values() if r.phone in {s["phone"] for s in body["signers"]})
    assert len(pks) == 2
    second = e2e.oneshot.requests[pks[1]]
    first_output = e2e.object_bytes(key_from_link(files["oneshot-0"]["url"], e2e.bucket))
    assert second.status == "ISSUED"
    assert all(sha256(document.original) == sha256(first_output) for document in second.documents.values()) or (
        not second.documents  # already deleted from the Optimizer
    )


def test_envelope_with_extra_documents_completes_with_every_document_signed(e2e: E2E) -> None:
    # Given a zapsign request with three documents (a main one and two extra ones at ZapSign)
    created = e2e.create(e2e.body("zapsign", documents=3))
    request_id = created["id"]
    pending = e2e.wait_for_signer_links(request_id)
    document = e2e.zapsign.documents[e2e.doc_token(pending)]
    assert len(document.extra_docs) == 2

    # When the signer signs
    e2e.sign_at_zapsign(e2e.tokens(pending)[0])

    # Then all three signed PDFs are stored, each one what ZapSign served for it
    done = e2e.wait(request_id, "completed")
    e2e.assert_files_verified(done)
    served = {document.signed_file, *(extra.signed_file for extra in document.extra_docs)}
    served_digests = {sha256(e2e.zapsign.files[name].data) for name in served if name}
    finals = {doc["files"]["final"]["sha256"] for doc in done["documents"]}
    assert finals == served_digests
    assert len(finals) == 3


def test_the_demo_completes(e2e: E2E) -> None:
    lines: list[str] = []
    result = run_demo(
        e2e.stack.api_url,
        e2e.zapsign,
        e2e.oneshot,
        out=lines.append,
        timeout=90,
        s3_client=e2e.s3,
        bucket=e2e.bucket,
        provider_digests=e2e.served_digests,
    )
    assert result.ok, "\n".join(lines)
    assert result.status == "completed"
    assert any(line.strip().startswith("document 0") for line in lines)


@pytest.mark.parametrize("workflow", ["zapsign", "oneshot"])
def test_the_demo_runs_the_other_workflows(e2e: E2E, workflow: str) -> None:
    lines: list[str] = []
    result = run_demo(e2e.stack.api_url, e2e.zapsign, e2e.oneshot, workflow=workflow, out=lines.append, timeout=90)
    assert result.ok, "\n".join(lines)


def test_provider_rate_limiting_is_absorbed_by_retries(e2e: E2E) -> None:
    # Given ZapSign answers the next two Detail calls with 429 (no Retry-After, as documented)
    created = e2e.create(e2e.body("zapsign"))
    pending = e2e.wait_for_signer_links(created["id"])
    e2e.set_faults(e2e.zapsign, {"endpoints": {"get_document": {"rate_limit_burst": 2}}})

    # When the signer signs
    e2e.sign_at_zapsign(e2e.tokens(pending)[0])

    # Then the request still completes, with the file ZapSign served
    done = e2e.wait(created["id"], "completed", timeout=60)
    e2e.assert_files_verified(done)
