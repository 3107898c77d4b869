"""The evidence package without AWS: what goes in, the manifest, the seal, and the offline check of a package
(`signbridge.verification.package`) on packages built by the worker step over in-memory stores, sealed with a P-256
key held by the test (it signs as KMS does)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from signbridge.domain import keys
from signbridge.domain.evidence import (
    MANIFEST_PATH,
    SEAL_PATH,
    SIGNATURE_PATH,
    EntryKind,
    manifest_bytes,
    package_entries,
    read_manifest,
)
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import RequestAggregate, RequestStatus, Workflow
from signbridge.domain.operations import Op
from signbridge.verification.package import PackageCheck, check_package
from signbridge.verification.pdf import PdfSignatureVerifier
from signbridge.workflow.evidence_package import build_evidence_package
from tests.support.evidence import CompletedFiles, LocalSealer, completed_oneshot_files
from tests.support.memory import NOW, MemoryFiles, MemoryRecords, memory_services, with_parts
from tests.support.pki import TestPki
from tests.support.samples import new_request

R = RequestStatus
TAMPERED_BYTE = 100  # in the page content: inside the signed byte range, before the signature value


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


@pytest.fixture(scope="module")
def verifier(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> PdfSignatureVerifier:
    bundle = tmp_path_factory.mktemp("anchors") / "trust-anchors.pem"
    bundle.write_bytes(pki.trust_anchors_pem)
    return PdfSignatureVerifier.from_pem_bundle(bundle)


def completed(
    pki: TestPki, verifier: PdfSignatureVerifier, *, include_id_images: bool = False
) -> tuple[RequestAggregate, CompletedFiles]:
    request, documents, signers = new_request(Workflow.ONESHOT, request_id="req-1", now=NOW)
    files = completed_oneshot_files(
        "req-1", pki, pki.signer("Ana", "García López", "12345678Z"), verifier, include_id_images=include_id_images
    )
    aggregate = RequestAggregate(request=request, documents=tuple(documents), signers=tuple(signers), timeline=())
    aggregate = with_parts(
        aggregate,
        request={"status": R.COMPLETED, **files.request},
        document0=files.document(None),
        signer0=files.signer(None),
    )
    return aggregate, files


def build(
    pki: TestPki, verifier: PdfSignatureVerifier, *, include_id_images: bool = False
) -> tuple[bytes, LocalSealer, MemoryRecords]:
    aggregate, placed = completed(pki, verifier, include_id_images=include_id_images)
    records = MemoryRecords(aggregate)
    files = MemoryFiles(placed.objects)
    sealer = LocalSealer()
    services = memory_services(records, files=files)
    services.sealer = sealer
    build_evidence_package(
        services, OperationMessage(op=Op.BUILD_EVIDENCE_PACKAGE.value, request_id="req-1", correlation_id="corr")
    )
    return files.objects[keys.package_key("req-1")], sealer, records


def check(package: bytes, sealer: LocalSealer, verifier: PdfSignatureVerifier | None) -> PackageCheck:
    return check_package(io.BytesIO(package), public_key_pem=sealer.public_key_pem().encode(), pdf_verifier=verifier)


def rewrite(package: bytes, change: dict[str, bytes]) -> bytes:
    """A copy of `package` with the members in `change` replaced (same names, same order)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, change.get(info.filename, source.read(info)))
    return out.getvalue()


def test_the_package_holds_every_file_of_the_request_with_a_manifest_and_a_seal(
    pki: TestPki, verifier: PdfSignatureVerifier
) -> None:
    # Given a completed One-Shot request with its files stored
    # When its package is built
    package, sealer, records = build(pki, verifier)
    # Then the ZIP holds the originals, the signed PDF, its report, the contract, the webhook, the timeline and the seal
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = set(archive.namelist())
        manifest = read_manifest(archive.read(MANIFEST_PATH))
        seal = json.loads(archive.read(SEAL_PATH))
    assert names == {
        "documents/000/original.pdf",
        "documents/000/signed/oneshot-0.pdf",
        "reports/000/oneshot-0.json",
        "contracts/000.pdf",
        "webhooks/oneshot/2026-03-02/" + "a" * 64 + ".json",
        "timeline.json",
        "manifest.json",
        "manifest.sig",
        "seal.json",
        "README.txt",
    }
    kinds = {item.path: item.kind for item in manifest.files}
    assert kinds["documents/000/signed/oneshot-0.pdf"] is EntryKind.SIGNED_PDF
    assert manifest.file("documents/000/signed/oneshot-0.pdf").report == "reports/000/oneshot-0.json"  # type: ignore[union-attr]
    # And the manifest says what it left out: no ID images (not asked for)
    assert [item.kind for item in manifest.omitted] == [EntryKind.ID_IMAGE]
    # And the seal names the key, the algorithm and its public key
    assert (seal["algorithm"], seal["key_id"], seal["public_key_pem"]) == (
        "ECDSA_SHA_256",
        sealer.key_id,
        sealer.public_key_pem(),
    )
    # And the request records the package with a timeline entry, once
    request = records.stored["req-1"].request
    assert request.evidence_key == keys.package_key("req-1")
    assert request.evidence_size == len(package)
    assert not request.evidence_pending
    assert records.stored["req-1"].timeline[-1].detail.startswith("evidence package built: 6 files")  # type: ignore[union-attr]
    assert records.stored["req-1"].request.status_since == NOW  # recorded, not moved


def test_id_images_are_in_the_package_only_when_the_request_asked(pki: TestPki, verifier: PdfSignatureVerifier) -> None:
    package, _, _ = build(pki, verifier, include_id_images=True)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        manifest = read_manifest(archive.read(MANIFEST_PATH))
    images = sorted(item.path for item in manifest.files if item.kind is EntryKind.ID_IMAGE)
    assert images == [
        "id-images/000/document_front.jpg",
        "id-images/000/document_owner.jpg",
        "id-images/000/document_rear.jpg",
    ]
    assert manifest.omitted == ()


def test_a_package_as_built_verifies(pki: TestPki, verifier: PdfSignatureVerifier) -> None:
    package, sealer, _ = build(pki, verifier)
    result = check(package, sealer, verifier)
    assert result.ok, result.as_dict()
    assert (result.seal_valid, result.files_checked, result.pdfs_checked, result.signatures_checked) == (True, 6, 1, 1)
    assert result.public_key == "given"


def test_one_byte_changed_in_a_pdf_fails(pki: TestPki, verifier: PdfSignatureVerifier) -> None:
    package, sealer, _ = build(pki, verifier)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        pdf = bytearray(archive.read("documents/000/signed/oneshot-0.pdf"))
    pdf[TAMPERED_BYTE] ^= 0x01
    result = check(rewrite(package, {"documents/000/signed/oneshot-0.pdf": bytes(pdf)}), sealer, verifier)
    assert not result.ok
    messages = [str(problem) for problem in result.problems]
    assert "documents/000/signed/oneshot-0.pdf: its sha256 differs from the manifest's" in messages
    assert result.seal_valid  # the manifest itself is intact


def test_one_byte_changed_in_the_manifest_fails_the_seal(pki: TestPki, verifier: PdfSignatureVerifier) -> None:
    package, sealer, _ = build(pki, verifier)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        manifest = bytearray(archive.read(MANIFEST_PATH))
    manifest[manifest.index(b'"size": ') + 8] ^= 0x01  # one digit of a size
    result = check(rewrite(package, {MANIFEST_PATH: bytes(manifest)}), sealer, verifier)
    assert not result.ok
    assert not result.seal_valid
    assert any(problem.path == SIGNATURE_PATH for problem in result.problems)


def test_a_swapped_signature_fails_the_seal(pki: TestPki, verifier: PdfSignatureVerifier) -> None:
    # Given two packages sealed with the same key
    first, sealer, _ = build(pki, verifier)
    second, _, _ = build(pki, verifier)
    with zipfile.ZipFile(io.BytesIO(second)) as archive:
        other_signature = archive.read(SIGNATURE_PATH)
    # When the first carries the second's signature
    result = check(rewrite(first, {SIGNATURE_PATH: other_signature}), sealer, None)
    # Then its seal does not verify (with the second's own key)
    assert not result.seal_valid
    assert not result.ok


def test_a_package_checked_with_another_key_than_the_pinned_one_fails(
    pki: TestPki, verifier: PdfSignatureVerifier
) -> None:
    # Given a package re-sealed by someone else with their own key, seal.json naming that key
    package, _, _ = build(pki, verifier)
    impostor = LocalSealer()
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        manifest = archive.read(MANIFEST_PATH)
        seal = json.loads(archive.read(SEAL_PATH))
    _, forged = impostor.sign_digest(hashlib.sha256(manifest).digest())
    seal["public_key_pem"] = impostor.public_key_pem()
    forged_package = rewrite(package, {SIGNATURE_PATH: forged, SEAL_PATH: json.dumps(seal).encode()})
    # Then with the pinned key it fails; with the package's own key it "verifies" and says it proves nothing
    pinned = LocalSealer()
    assert not check(forged_package, pinned, None).ok
    own = check_package(io.BytesIO(forged_package))
    assert own.ok
    assert own.public_key == "package"
    assert any("proves the package is intact, not who sealed it" in str(warning) for warning in own.warnings)


def test_a_missing_or_an_extra_file_fails(pki: TestPki, verifier: PdfSignatureVerifier) -> None:
    package, sealer, _ = build(pki, verifier)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename != "contracts/000.pdf":
                target.writestr(info, source.read(info))
        target.writestr("extra.txt", b"not listed")
    result = check(out.getvalue(), sealer, verifier)
    assert sorted(str(problem) for problem in result.problems) == [
        "contracts/000.pdf: in the manifest but missing from the ZIP",
        "extra.txt: in the ZIP but not in the manifest",
    ]


def test_a_report_that_says_total_passed_for_a_signature_that_no_longer_verifies_fails(
    pki: TestPki, verifier: PdfSignatureVerifier, tmp_path: Path
) -> None:
    # Given a package whose signed PDF was replaced by a tampered one and the manifest re-sealed to match (an insider
    # with the key: the seal alone cannot catch it)
    package, sealer, _ = build(pki, verifier)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        pdf = bytearray(archive.read("documents/000/signed/oneshot-0.pdf"))
        manifest = read_manifest(archive.read(MANIFEST_PATH))
    pdf[TAMPERED_BYTE] ^= 0x01
    files = tuple(
        item.model_copy(update={"sha256": hashlib.sha256(bytes(pdf)).hexdigest()})
        if item.path == "documents/000/signed/oneshot-0.pdf"
        else item
        for item in manifest.files
    )
    resealed = manifest_bytes(manifest.model_copy(update={"files": files}))
    _, signature = sealer.sign_digest(hashlib.sha256(resealed).digest())
    tampered = rewrite(
        package,
        {"documents/000/signed/oneshot-0.pdf": bytes(pdf), MANIFEST_PATH: resealed, SIGNATURE_PATH: signature},
    )
    # Then the seal and the hashes pass, but the PDF's signature against its TOTAL-PASSED report does not
    result = check(tampered, sealer, verifier)
    assert result.seal_valid
    assert not result.ok
    assert any("TOTAL-PASSED; it is now TOTAL-FAILED" in str(problem) for problem in result.problems)


def test_a_request_that_is_not_completed_gets_no_package() -> None:
    request, documents, signers = new_request(Workflow.ZAPSIGN, request_id="req-2", now=NOW)
    aggregate = RequestAggregate(request=request, documents=tuple(documents), signers=tuple(signers), timeline=())
    records = MemoryRecords(aggregate)
    files = MemoryFiles()
    services = memory_services(records, files=files)
    services.sealer = LocalSealer()
    build_evidence_package(
        services, OperationMessage(op=Op.BUILD_EVIDENCE_PACKAGE.value, request_id="req-2", correlation_id="corr")
    )
    assert files.objects == {}
    assert records.writes == []


def test_package_entries_name_every_stage_in_signing_order() -> None:
    request, documents, signers = new_request(
        Workflow.ZAPSIGN_ONESHOT, request_id="req-3", documents=2, signers=2, now=NOW
    )
    aggregate = RequestAggregate(request=request, documents=tuple(documents), signers=tuple(signers), timeline=())
    aggregate = with_parts(
        aggregate,
        document1={"signed_keys": {"oneshot-1": "s/1/1", "zapsign": "s/1/z", "oneshot-0": "s/1/0"}},
    )
    entries = package_entries(aggregate, report_keys=["reports/req-3/001/zapsign.json"], zapsign_log=True)
    paths = [entry.path for entry in entries]
    assert paths == [
        "documents/000/original.pdf",
        "documents/001/original.pdf",
        "documents/001/signed/zapsign.pdf",
        "documents/001/signed/oneshot-0.pdf",
        "documents/001/signed/oneshot-1.pdf",
        "reports/001/zapsign.json",
        "zapsign-log.json",
        "timeline.json",
    ]
