"""Checks a sealed evidence package offline (`signbridge evidence verify`): `check_package(zip, ...)`.

What it checks (docs/evidence.md, "Verifying a package"):

1. the seal: `manifest.sig` is a valid ECDSA P-256 / SHA-256 signature of `manifest.json`'s exact bytes under the
   public key — the one given (pinned from the stack's evidence key, what a third party should do) or, without one,
   the copy in `seal.json`, which proves only that the package is intact, not who sealed it (said in the result);
2. the files: the ZIP holds exactly the files the manifest lists plus the four seal files, each with the manifest's
   sha256 and size (read in chunks, never a whole file in memory);
3. the signed PDFs, with a `PdfSignatureVerifier` (trust anchors needed): every signature intact and its value
   valid, only allowed changes after it; and against its validation report, when the package carries one: a report
   that says TOTAL-PASSED for a signature that now fails (TOTAL-FAILED) or is gone fails the package. A signature that
   is now INDETERMINATE where the report said TOTAL-PASSED (e.g. a certificate expired since, without a timestamp) is
   a warning.

Imports nothing of SignBridge but the domain (and the verifier beside it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from signbridge.domain.evidence import (
    MANIFEST_PATH,
    SEAL_FILES,
    SEAL_PATH,
    SIGNATURE_PATH,
    EntryKind,
    Manifest,
    ManifestFile,
    read_manifest,
)
from signbridge.domain.verification import FileReport, Indication
from signbridge.verification.pdf import PdfSignatureVerifier

CHUNK_BYTES: Final = 1024 * 1024
SEAL_MAX_BYTES: Final = 1024 * 1024  # manifest.json, manifest.sig, seal.json are small; a huge one is not ours


@dataclass(frozen=True)
class Finding:
    """One thing wrong (`problem`) or worth saying (`warning`) about the package, naming the file when there is one."""

    path: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass
class PackageCheck:
    """The outcome of `check_package`. `ok`: the seal verifies and no problem was found."""

    request_id: str | None = None
    key_id: str | None = None
    public_key: str = "package"
    """Where the public key came from: `given` (pinned by the caller) or `package` (seal.json's own copy)."""
    seal_valid: bool = False
    files_checked: int = 0
    pdfs_checked: int = 0
    signatures_checked: int = 0
    problems: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.seal_valid and not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "request_id": self.request_id,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "seal_valid": self.seal_valid,
            "files_checked": self.files_checked,
            "pdfs_checked": self.pdfs_checked,
            "signatures_checked": self.signatures_checked,
            "problems": [str(item) for item in self.problems],
            "warnings": [str(item) for item in self.warnings],
        }


def check_package(
    package: str | os.PathLike[str] | IO[bytes],
    *,
    public_key_pem: bytes | None = None,
    pdf_verifier: PdfSignatureVerifier | None = None,
) -> PackageCheck:
    """Check `package` (a path or a seekable binary file); see the module docstring. Never raises for a bad package:
    every defect is a problem in the answer."""
    result = PackageCheck(public_key="given" if public_key_pem is not None else "package")
    try:
        archive = zipfile.ZipFile(package)
    except (zipfile.BadZipFile, OSError) as error:
        result.problems.append(Finding(None, f"not a readable ZIP ({error})"))
        return result
    with archive:
        names = [info.filename for info in archive.infolist()]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        for name in duplicates:
            result.problems.append(Finding(name, "appears more than once in the ZIP"))
        manifest_data = _small(archive, MANIFEST_PATH, result)
        signature = _small(archive, SIGNATURE_PATH, result)
        seal = _seal(archive, result)
        if manifest_data is None:
            return result
        key_id = seal.get("key_id")
        result.key_id = key_id if isinstance(key_id, str) else None
        key_pem = _public_key(seal, public_key_pem, result)
        if key_pem is not None and signature is not None:
            result.seal_valid = _seal_verifies(key_pem, manifest_data, signature, result)
        try:
            manifest = read_manifest(manifest_data)
        except ValidationError as error:
            result.problems.append(Finding(MANIFEST_PATH, f"not a SignBridge manifest ({error.error_count()} errors)"))
            return result
        result.request_id = manifest.request_id
        _check_files(archive, manifest, set(names), result)
        if pdf_verifier is None:
            result.warnings.append(
                Finding(None, "the PDFs' signatures were not checked: no trust anchors given (--trust-anchors)")
            )
        else:
            _check_pdfs(archive, manifest, pdf_verifier, result)
    return result


# ------------------------------------------------------------------------------------------------ the seal


def _small(archive: zipfile.ZipFile, name: str, result: PackageCheck) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        result.problems.append(Finding(name, "missing"))
        return None
    if info.file_size > SEAL_MAX_BYTES:
        result.problems.append(Finding(name, f"larger than {SEAL_MAX_BYTES} bytes"))
        return None
    return archive.read(info)


def _seal(archive: zipfile.ZipFile, result: PackageCheck) -> dict[str, object]:
    data = _small(archive, SEAL_PATH, result)
    if data is None:
        return {}
    try:
        seal = json.loads(data)
    except ValueError:
        result.problems.append(Finding(SEAL_PATH, "not JSON"))
        return {}
    if not isinstance(seal, dict):
        result.problems.append(Finding(SEAL_PATH, "not a JSON object"))
        return {}
    return seal


def _public_key(seal: dict[str, object], given: bytes | None, result: PackageCheck) -> bytes | None:
    packaged = seal.get("public_key_pem")
    packaged_pem = packaged.encode() if isinstance(packaged, str) else None
    if given is None:
        if packaged_pem is None:
            result.problems.append(Finding(SEAL_PATH, "holds no public key, and none was given"))
            return None
        result.warnings.append(
            Finding(
                None,
                "checked with the public key the package itself carries: this proves the package is intact, not who "
                "sealed it; give the evidence key's public key pinned from the stack (--public-key or --key-id)",
            )
        )
        return packaged_pem
    if packaged_pem is not None and _key_bytes(packaged_pem) != _key_bytes(given):
        result.warnings.append(
            Finding(SEAL_PATH, "names another public key than the one given (the given one is used)")
        )
    return given


def _key_bytes(pem: bytes) -> bytes | None:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        return None
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _seal_verifies(key_pem: bytes, manifest: bytes, signature: bytes, result: PackageCheck) -> bool:
    try:
        key = serialization.load_pem_public_key(key_pem)
    except ValueError:
        result.problems.append(Finding(None, "the public key is not a PEM public key"))
        return False
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        result.problems.append(Finding(None, "the public key is not an ECDSA P-256 key"))
        return False
    try:
        key.verify(signature, manifest, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        result.problems.append(
            Finding(SIGNATURE_PATH, "the seal does not verify: manifest.json or its signature changed")
        )
        return False
    return True


# ------------------------------------------------------------------------------------------------ the files


def _check_files(archive: zipfile.ZipFile, manifest: Manifest, names: set[str], result: PackageCheck) -> None:
    listed = {item.path for item in manifest.files}
    if len(listed) != len(manifest.files):
        result.problems.append(Finding(MANIFEST_PATH, "lists a path more than once"))
    for extra in sorted(names - listed - SEAL_FILES):
        result.problems.append(Finding(extra, "in the ZIP but not in the manifest"))
    for item in manifest.files:
        if item.path not in names:
            result.problems.append(Finding(item.path, "in the manifest but missing from the ZIP"))
            continue
        sha256, size = _digest(archive, item.path)
        result.files_checked += 1
        if size != item.size:
            result.problems.append(Finding(item.path, f"{size} bytes, the manifest says {item.size}"))
        if sha256 != item.sha256:
            result.problems.append(Finding(item.path, "its sha256 differs from the manifest's"))


def _digest(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    try:
        with archive.open(name) as source:
            while chunk := source.read(CHUNK_BYTES):
                hasher.update(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, OSError, EOFError):  # a corrupted member (its CRC or its compressed data)
        return "", -1
    return hasher.hexdigest(), size


# ------------------------------------------------------------------------------------------------ the PDFs


def _check_pdfs(
    archive: zipfile.ZipFile, manifest: Manifest, verifier: PdfSignatureVerifier, result: PackageCheck
) -> None:
    present = set(archive.namelist())
    for item in manifest.files:
        if item.kind is not EntryKind.SIGNED_PDF or item.path not in present:
            continue
        with _extracted(archive, item.path) as pdf:
            fresh = verifier.verify(pdf)
        result.pdfs_checked += 1
        result.signatures_checked += len(fresh.signatures)
        _judge_pdf(item, fresh, _report(archive, item, present, result), result)


@contextmanager
def _extracted(archive: zipfile.ZipFile, name: str) -> Iterator[IO[bytes]]:
    """The member in a temporary file (pyHanko seeks), copied in chunks."""
    with tempfile.TemporaryFile() as target:
        with archive.open(name) as source:
            shutil.copyfileobj(source, target, CHUNK_BYTES)
        target.seek(0)
        yield target


def _report(archive: zipfile.ZipFile, item: ManifestFile, present: set[str], result: PackageCheck) -> FileReport | None:
    if item.report is None:
        result.warnings.append(Finding(item.path, "no validation report in the package: checked on its own"))
        return None
    if item.report not in present:
        return None  # already a problem: listed, missing
    try:
        return FileReport.model_validate_json(archive.read(item.report))
    except ValidationError:
        result.problems.append(Finding(item.report, "not a validation report"))
        return None


def _judge_pdf(item: ManifestFile, fresh: FileReport, report: FileReport | None, result: PackageCheck) -> None:
    if fresh.error is not None or not fresh.signatures:
        result.problems.append(Finding(item.path, "carries no readable signature"))
    for signature in fresh.signatures:
        if not (signature.intact and signature.crypto_valid):
            result.problems.append(Finding(item.path, f"signature {signature.field_name!r} does not verify"))
        elif not signature.modifications_allowed:
            result.problems.append(Finding(item.path, f"changed after signature {signature.field_name!r}"))
    if report is None:
        return
    now_by_field = {signature.field_name: signature for signature in fresh.signatures}
    for claimed in report.signatures:
        if claimed.indication is not Indication.TOTAL_PASSED:
            continue
        now = now_by_field.get(claimed.field_name)
        if now is None:
            result.problems.append(
                Finding(item.path, f"the report's TOTAL-PASSED signature {claimed.field_name!r} is not in the file")
            )
        elif now.indication is Indication.TOTAL_FAILED:
            result.problems.append(
                Finding(
                    item.path,
                    f"the report says signature {claimed.field_name!r} TOTAL-PASSED; it is now TOTAL-FAILED "
                    f"({now.sub_indication.value if now.sub_indication else 'no sub-indication'})",
                )
            )
        elif now.indication is Indication.INDETERMINATE:
            result.warnings.append(
                Finding(
                    item.path,
                    f"signature {claimed.field_name!r}: TOTAL-PASSED in the report, INDETERMINATE now "
                    f"({now.sub_indication.value if now.sub_indication else 'no sub-indication'})",
                )
            )
