"""The signature verifier (pyHanko) on PDFs signed with a test PKI made here: root -> issuing CA -> signers with
qualified statements, and a timestamping authority. Each case reads the report's ETSI EN 319 102-1 indication and
what the policy decides."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import x509 as x509_asn1
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from signbridge.domain.verification import (
    Coverage,
    ExpectedSigner,
    FileReport,
    Indication,
    LongTermLevel,
    Modifications,
    SubIndication,
    VerificationPolicy,
    decide,
)
from signbridge.verification.pdf import PdfSignatureVerifier, load_trust_anchors
from simulators.pdf import make_pdf
from tests.support.pki import Issued, TestPki

ANA = ExpectedSigner(name="Ana García López", id_number="12345678Z")
BRUNO = ExpectedSigner(name="Bruno Díaz", id_number="87654321X")
CONTRACT_TEXT = "Service contract between ACME and Ana"


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


@pytest.fixture(scope="module")
def ana(pki: TestPki) -> Issued:
    return pki.signer("Ana", "García López", "12345678Z")


@pytest.fixture(scope="module")
def verifier(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> PdfSignatureVerifier:
    bundle = tmp_path_factory.mktemp("anchors") / "trust-anchors.pem"
    bundle.write_bytes(pki.trust_anchors_pem)
    return PdfSignatureVerifier.from_pem_bundle(bundle)


@pytest.fixture(scope="module")
def signed_by_ana(pki: TestPki, ana: Issued) -> bytes:
    return pki.sign(make_pdf(CONTRACT_TEXT), ana)


Verify = Callable[..., FileReport]


@pytest.fixture
def verify(verifier: PdfSignatureVerifier) -> Verify:
    def _verify(pdf: bytes, *expected: ExpectedSigner) -> FileReport:
        return verifier.verify(io.BytesIO(pdf), expected_signers=expected)

    return _verify


def test_a_good_file_is_total_passed_with_the_signer_its_timestamp_and_qualified_statements(
    verify: Verify, signed_by_ana: bytes
) -> None:
    # Given a PDF signed by Ana (qualified certificate, RFC 3161 timestamp)
    # When it is verified, Ana expected
    report = verify(signed_by_ana, ANA)
    # Then its one signature is TOTAL-PASSED and covers the whole file
    assert report.indication is Indication.TOTAL_PASSED
    (signature,) = report.signatures
    assert signature.indication is Indication.TOTAL_PASSED
    assert signature.sub_indication is None
    assert (signature.intact, signature.crypto_valid, signature.chain_trusted) == (True, True, True)
    assert signature.coverage is Coverage.ENTIRE_FILE
    assert signature.modifications is Modifications.NONE
    assert signature.trust_anchor is not None
    assert "SignBridge Test Root" in signature.trust_anchor
    # And the timestamp proves the signing time, which the chain was validated at
    assert signature.timestamp is not None
    assert signature.timestamp.valid
    assert signature.signing_time == signature.timestamp.time == signature.validation_time
    # And the certificate names Ana, with the qualified statements
    assert signature.signer is not None
    assert (signature.signer.given_name, signature.signer.surname) == ("Ana", "García López")
    assert signature.signer.serial_number == "IDCES-12345678Z"
    assert signature.qc_statements.qualified_esign
    assert signature.identity is not None
    assert signature.identity.matches
    assert report.unmatched_signers == ()
    # And the strictest policy passes it
    strict = VerificationPolicy(require_timestamp=True, require_qualified=True)
    assert decide(report, strict).passed


def test_the_report_is_json_with_the_indications(verify: Verify, signed_by_ana: bytes) -> None:
    report = verify(signed_by_ana, ANA)
    data = report.model_dump(mode="json")
    assert data["indication"] == "TOTAL-PASSED"
    assert data["signatures"][0]["qc_statements"]["qualified_esign"] is True
    assert data["signatures"][0]["identity"]["matches"] is True
    assert FileReport.model_validate_json(report.model_dump_json()).signatures == report.signatures


def test_a_caller_inside_a_running_event_loop_gets_the_same_report(
    verifier: PdfSignatureVerifier, signed_by_ana: bytes
) -> None:
    # Given a caller that runs inside an asyncio event loop (pyHanko's coroutines cannot nest in it with asyncio.run)
    async def inside_a_loop() -> Indication | None:
        return verifier.verify(io.BytesIO(signed_by_ana)).indication

    # Then verifying from there gives the same verdict as from plain synchronous code
    assert asyncio.run(inside_a_loop()) is Indication.TOTAL_PASSED
    assert verifier.verify(io.BytesIO(signed_by_ana)).indication is Indication.TOTAL_PASSED


def test_a_file_path_is_verified_like_a_stream(
    verifier: PdfSignatureVerifier, signed_by_ana: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_by_ana)
    report = verifier.verify(path, expected_signers=[ANA])
    assert report.indication is Indication.TOTAL_PASSED
    assert report.file_size == len(signed_by_ana)


def test_one_byte_changed_inside_the_signed_range_is_total_failed_hash_failure(
    verify: Verify, signed_by_ana: bytes
) -> None:
    # Given the signed file with one byte of the page text changed (inside the first signed byte range)
    at = signed_by_ana.index(CONTRACT_TEXT.encode()) + len("Service contract between ")
    tampered = signed_by_ana[:at] + b"X" + signed_by_ana[at + 1 :]
    assert len(tampered) == len(signed_by_ana)
    assert tampered != signed_by_ana
    # When it is verified
    report = verify(tampered, ANA)
    # Then the signature is TOTAL-FAILED/HASH_FAILURE, and the policy fails the file
    (signature,) = report.signatures
    assert (signature.indication, signature.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE)
    assert not signature.intact
    assert report.indication is Indication.TOTAL_FAILED
    decision = decide(report, VerificationPolicy(accept_indeterminate=frozenset(SubIndication)))
    assert not decision.passed
    assert "Signature1: TOTAL-FAILED/HASH_FAILURE" in decision.reasons


def test_content_appended_after_the_signature_is_total_failed(verify: Verify, signed_by_ana: bytes) -> None:
    # Given the signed file with an incremental update that replaces the page content
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_by_ana))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 12 Tf 56 786 Td (Service contract: Ana owes 1,000,000) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    # When it is verified
    report = verify(out.getvalue(), ANA)
    # Then the signature is intact over its revision, but the update is not an allowed one
    (signature,) = report.signatures
    assert signature.intact
    assert signature.coverage is Coverage.ENTIRE_REVISION
    assert signature.modifications is Modifications.OTHER
    assert not signature.modifications_allowed
    assert (signature.indication, signature.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE)
    assert not decide(report).passed


def test_a_signature_by_the_wrong_person_is_reported_and_fails_the_policy(pki: TestPki, verify: Verify) -> None:
    # Given a file validly signed by Eve, while Ana was expected
    eve = pki.signer("Eve", "Mallory", "11111111H")
    signed = pki.sign(make_pdf(CONTRACT_TEXT), eve)
    # When it is verified
    report = verify(signed, ANA)
    # Then the signature itself passes, but its certificate does not name Ana
    (signature,) = report.signatures
    assert signature.indication is Indication.TOTAL_PASSED
    assert signature.identity is not None
    assert (signature.identity.name_matches, signature.identity.id_number_matches) == (False, False)
    assert report.unmatched_signers == (ANA,)
    # And the policy fails the file, saying why
    decision = decide(report)
    assert not decision.passed
    assert decision.reasons == (
        "Signature1: the certificate does not name an expected signer",
        "no signature by expected signer #0",
    )


def test_the_right_name_with_another_id_number_is_a_mismatch(pki: TestPki, verify: Verify) -> None:
    namesake = pki.signer("Ana", "García López", "99999999R")
    report = verify(pki.sign(make_pdf(CONTRACT_TEXT), namesake), ANA)
    (signature,) = report.signatures
    assert signature.identity is not None
    assert (signature.identity.name_matches, signature.identity.id_number_matches) == (True, False)
    assert not decide(report).passed


def test_a_certificate_from_an_untrusted_root_is_indeterminate_no_certificate_chain_found(
    pki: TestPki, verify: Verify
) -> None:
    # Given a file signed with a certificate whose root is not a trust anchor
    stranger = pki.signer("Ana", "García López", "12345678Z", untrusted=True)
    report = verify(pki.sign(make_pdf(CONTRACT_TEXT), stranger), ANA)
    # Then the signature is INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND
    (signature,) = report.signatures
    assert (signature.indication, signature.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    )
    assert signature.intact
    assert not signature.chain_trusted
    # And the default policy fails it; only a policy that accepts that sub-indication would not
    assert not decide(report).passed
    lenient = VerificationPolicy(accept_indeterminate=frozenset({SubIndication.NO_CERTIFICATE_CHAIN_FOUND}))
    assert decide(report, lenient).passed


def test_a_certificate_expired_at_signing_time_is_indeterminate_out_of_bounds_no_poe(
    pki: TestPki, verify: Verify
) -> None:
    # Given a file signed (and timestamped now) with a certificate that expired yesterday
    now = datetime.now(UTC)
    expired = pki.signer(
        "Ana", "García López", "12345678Z", not_before=now - timedelta(days=400), not_after=now - timedelta(days=1)
    )
    report = verify(pki.sign(make_pdf(CONTRACT_TEXT), expired), ANA)
    # Then the timestamp proves it was signed after the certificate expired:
    # INDETERMINATE/OUT_OF_BOUNDS_NO_POE (ETSI EN 319 102-1 §5.5.4), and the policy fails the file
    (signature,) = report.signatures
    assert signature.timestamp is not None
    assert signature.timestamp.valid
    assert signature.signer is not None
    assert signature.signer.not_after < signature.timestamp.time
    assert (signature.indication, signature.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.OUT_OF_BOUNDS_NO_POE,
    )
    assert not decide(report).passed


def test_a_certificate_not_yet_valid_at_signing_time_is_total_failed_not_yet_valid(
    pki: TestPki, verify: Verify
) -> None:
    now = datetime.now(UTC)
    future = pki.signer(
        "Ana", "García López", "12345678Z", not_before=now + timedelta(days=1), not_after=now + timedelta(days=30)
    )
    report = verify(pki.sign(make_pdf(CONTRACT_TEXT), future), ANA)
    (signature,) = report.signatures
    assert (signature.indication, signature.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.NOT_YET_VALID)


def test_two_incremental_signatures_are_both_valid(pki: TestPki, ana: Issued, verify: Verify) -> None:
    # Given a file signed by Ana, then by Bruno over Ana's output (an incremental update)
    bruno = pki.signer("Bruno", "Díaz", "87654321X")
    first = pki.sign(make_pdf(CONTRACT_TEXT), ana, field_name="Signature1")
    both = pki.sign(first, bruno, field_name="Signature2")
    # When it is verified, both expected
    report = verify(both, ANA, BRUNO)
    # Then both signatures pass: Ana's covers its revision, and what came after is an allowed update
    first_signature, second_signature = report.signatures
    assert [s.field_name for s in report.signatures] == ["Signature1", "Signature2"]
    assert first_signature.indication is second_signature.indication is Indication.TOTAL_PASSED
    assert first_signature.coverage is Coverage.ENTIRE_REVISION
    assert first_signature.modifications in {Modifications.FORM_FILLING, Modifications.LTA_UPDATES}
    assert first_signature.modifications_allowed
    assert second_signature.coverage is Coverage.ENTIRE_FILE
    assert first_signature.signed_bytes < second_signature.signed_bytes
    # And each names its signer, so the policy passes the file
    assert first_signature.identity is not None
    assert first_signature.identity.expected == ANA
    assert second_signature.identity is not None
    assert second_signature.identity.expected == BRUNO
    assert report.unmatched_signers == ()
    assert decide(report).passed


def test_a_signature_without_timestamp_is_validated_now_and_fails_a_policy_requiring_one(
    pki: TestPki, ana: Issued, verify: Verify
) -> None:
    report = verify(pki.sign(make_pdf(CONTRACT_TEXT), ana, timestamp=False), ANA)
    (signature,) = report.signatures
    assert signature.indication is Indication.TOTAL_PASSED
    assert signature.timestamp is None
    assert signature.signing_time == signature.claimed_signing_time
    assert decide(report).passed
    assert decide(report, VerificationPolicy(require_timestamp=True)).reasons == (
        "Signature1: no valid signature timestamp",
    )


def test_a_timestamp_from_an_untrusted_tsa_is_reported_invalid_and_the_signature_indeterminate(
    pki: TestPki, ana: Issued, verify: Verify
) -> None:
    # Given a file signed by Ana, timestamped by a TSA that no trust anchor vouches for
    report = verify(pki.sign(make_pdf(CONTRACT_TEXT), ana, untrusted_tsa=True), ANA)
    # Then the timestamp is present but not valid, so nothing proves the signing time: INDETERMINATE/NO_POE
    (signature,) = report.signatures
    assert signature.timestamp is not None
    assert not signature.timestamp.valid
    assert signature.timestamp.tsa is not None
    assert "Untrusted TSA" in signature.timestamp.tsa
    assert signature.signing_time == signature.claimed_signing_time
    assert (signature.indication, signature.sub_indication) == (Indication.INDETERMINATE, SubIndication.NO_POE)
    assert not decide(report).passed


def test_an_unsigned_pdf_has_no_signatures_and_fails_the_policy(verify: Verify) -> None:
    report = verify(make_pdf(CONTRACT_TEXT), ANA)
    assert report.signatures == ()
    assert report.indication is None
    assert report.unmatched_signers == (ANA,)
    decision = decide(report)
    assert not decision.passed
    assert "the file carries no signature" in decision.reasons


def test_a_file_that_is_not_a_pdf_is_reported_unreadable(verify: Verify) -> None:
    report = verify(b"not a pdf at all")
    assert report.error is not None
    assert report.indication is Indication.TOTAL_FAILED
    assert not decide(report).passed


def test_the_trust_anchors_load_from_a_pem_bundle(pki: TestPki) -> None:
    bundle = pki.root.pem + pki.untrusted_root.pem
    anchors = load_trust_anchors(bundle)
    assert [anchor.subject.native["common_name"] for anchor in anchors] == ["SignBridge Test Root", "Untrusted Root"]
    with pytest.raises(ValueError, match="trust anchor"):
        PdfSignatureVerifier([])


@pytest.fixture(scope="module")
def signed_by_both(pki: TestPki, ana: Issued) -> bytes:
    bruno = pki.signer("Bruno", "Díaz", "87654321X")
    return pki.sign(pki.sign(make_pdf(CONTRACT_TEXT), ana), bruno, field_name="Signature2")


def _dss_certificates(pdf: bytes) -> set[bytes]:
    reader = PdfFileReader(io.BytesIO(pdf))
    return {cert.get_object().data for cert in reader.root["/DSS"]["/Certs"]}


def test_the_validation_material_is_embedded_in_a_copy_that_still_verifies(
    pki: TestPki, verifier: PdfSignatureVerifier, signed_by_both: bytes
) -> None:
    # Given a file signed by Ana, then by Bruno
    # When the validation material is embedded (no TSA configured: PAdES B-LT)
    output = io.BytesIO()
    assert verifier.embed_validation_material(io.BytesIO(signed_by_both), output) is LongTermLevel.B_LT
    extended = output.getvalue()
    # Then the file as signed is the copy's prefix, byte for byte: what was added are incremental updates
    assert extended.startswith(signed_by_both)
    assert len(extended) > len(signed_by_both)
    # And the copy has a Document Security Store with the chain (the test PKI publishes no CRL or OCSP: no revocation
    # information to embed)
    dss_certs = _dss_certificates(extended)
    assert pki.issuing.certificate.public_bytes(Encoding.DER) in dss_certs
    assert pki.root.certificate.public_bytes(Encoding.DER) in dss_certs
    assert pki.tsa.certificate.public_bytes(Encoding.DER) in dss_certs  # the signature timestamps' TSA
    # And both signatures are intact and still pass: what came after them is validation material
    report = verifier.verify(io.BytesIO(extended), expected_signers=[ANA, BRUNO])
    assert report.indication is Indication.TOTAL_PASSED
    assert [(s.indication, s.intact, s.crypto_valid) for s in report.signatures] == [
        (Indication.TOTAL_PASSED, True, True)
    ] * 2
    assert report.signatures[1].coverage is Coverage.ENTIRE_REVISION
    assert report.signatures[1].modifications is Modifications.LTA_UPDATES
    assert decide(report, VerificationPolicy(require_qualified=True)).passed


def test_with_a_tsa_the_copy_gets_an_archive_timestamp_and_still_verifies(
    pki: TestPki, verifier: PdfSignatureVerifier, signed_by_both: bytes
) -> None:
    # Given a verifier with a TSA (the test TSA)
    stamping = PdfSignatureVerifier([pki.root.asn1], timestamper=pki.timestamper())
    # When the validation material is embedded
    output = io.BytesIO()
    assert stamping.embed_validation_material(io.BytesIO(signed_by_both), output) is LongTermLevel.B_LTA
    extended = output.getvalue()
    # Then the copy has a document timestamp (PAdES B-LTA) over the signed file and the signatures' DSS, valid
    # and trusted, its own TSA's material in a DSS update after it (for the timestamp that may renew it)
    assert extended.startswith(signed_by_both)
    reader = PdfFileReader(io.BytesIO(extended))
    (archive_timestamp,) = reader.embedded_timestamp_signatures
    assert archive_timestamp.sig_object["/SubFilter"] == "/ETSI.RFC3161"
    covered = archive_timestamp.byte_range[-2] + archive_timestamp.byte_range[-1]
    assert len(signed_by_both) < covered <= len(extended)
    assert pki.issuing.certificate.public_bytes(Encoding.DER) in _dss_certificates(extended[:covered])
    status = asyncio.run(
        async_validate_pdf_timestamp(
            archive_timestamp, validation_context=ValidationContext(trust_roots=[pki.root.asn1], allow_fetching=False)
        )
    )
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    # And every signature still passes
    report = verifier.verify(io.BytesIO(extended), expected_signers=[ANA, BRUNO])
    assert [s.indication for s in report.signatures] == [Indication.TOTAL_PASSED] * 2
    assert report.signatures[1].modifications is Modifications.LTA_UPDATES


def test_the_embedded_material_validates_the_signer_after_the_certificate_expired(
    pki: TestPki, ana: Issued, verifier: PdfSignatureVerifier, signed_by_ana: bytes
) -> None:
    """The long-term point: years later, with the signer's certificate expired, the file alone (its DSS and the
    signature timestamp) and the trust anchors still establish that the certificate was valid when it signed."""
    output = io.BytesIO()
    verifier.embed_validation_material(io.BytesIO(signed_by_ana), output)
    extended = output.getvalue()
    reader = PdfFileReader(io.BytesIO(extended))
    (signature,) = reader.embedded_regular_signatures
    dss = [x509_asn1.Certificate.load(der) for der in _dss_certificates(extended)]
    signer_cert = signature.signer_cert
    # Given a validation a month after the signer's certificate expired
    later = signer_cert.not_valid_after + timedelta(days=30)
    # When the certificate is checked as of that day: it is expired
    with pytest.raises(PathValidationError):
        _validate_certificate(signer_cert, anchors=[pki.root.asn1], known=dss, moment=later)
    # But the signature's timestamp, verified against the anchors, proves it existed at its time (its proof of
    # existence), and as of then the chain from the DSS alone (not the certificates the signature carries) is valid
    ts_status = asyncio.run(
        async_validate_pdf_signature(
            signature,
            signer_validation_context=ValidationContext(trust_roots=[pki.root.asn1], allow_fetching=False),
            ts_validation_context=ValidationContext(trust_roots=[pki.root.asn1], allow_fetching=False),
        )
    ).timestamp_validity
    assert ts_status is not None
    assert (ts_status.intact, ts_status.valid, ts_status.trusted) == (True, True, True)
    proven = ts_status.timestamp
    assert proven < signer_cert.not_valid_after < later
    path = _validate_certificate(signer_cert, anchors=[pki.root.asn1], known=dss, moment=proven)
    assert [cert.sha256 for cert in path] == [pki.root.asn1.sha256, pki.issuing.asn1.sha256, signer_cert.sha256]
    # And without the DSS the same check finds no chain: the embedded material is what carries it
    with pytest.raises(PathBuildingError):
        _validate_certificate(signer_cert, anchors=[pki.root.asn1], known=[], moment=proven)


def _validate_certificate(
    cert: x509_asn1.Certificate,
    *,
    anchors: list[x509_asn1.Certificate],
    known: list[x509_asn1.Certificate],
    moment: datetime,
) -> list[x509_asn1.Certificate]:
    context = ValidationContext(
        trust_roots=anchors, other_certs=known, moment=moment, allow_fetching=False, revocation_mode="soft-fail"
    )
    validator = CertificateValidator(cert, validation_context=context)
    path = asyncio.run(validator.async_validate_usage({"non_repudiation"}))
    return list(path)
