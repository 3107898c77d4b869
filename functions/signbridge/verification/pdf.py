"""`PdfSignatureVerifier`: every signature of a PDF validated with pyHanko against configured trust anchors.

Per signature (docs/evidence.md, "What is verified"):

- integrity: the digest of the `/ByteRange` against the signed one (HASH_FAILURE), the signature value against the
  certificate's key (SIG_CRYPTO_FAILURE);
- coverage and modifications: what the byte range covers (`SignatureCoverageLevel`) and pyHanko's difference analysis
  of the incremental updates after it (`DiffResult`, `ModificationLevel`): only allowed updates (further signatures,
  form filling, validation material) pass; anything else is TOTAL-FAILED/FORMAT_FAILURE;
- the certificate chain to the trust anchors, validated at the signing time: the time of the signature timestamp
  (RFC 3161) when there is one (its proof of existence, ETSI EN 319 102-1 §5.5), else now. pyHanko maps
  pyhanko-certvalidator's outcome to the standard sub-indications (NO_CERTIFICATE_CHAIN_FOUND, OUT_OF_BOUNDS_NO_POE,
  REVOKED_NO_POE, ...); a timestamp before the certificate's validity is TOTAL-FAILED/NOT_YET_VALID (§5.5.4);
- the timestamp itself (its TSA chained to the same trust anchors);
- the signer identity and the qualified statements of the certificate, and the match with the expected signers.

The PDF is read from a seekable binary stream or a file path, never copied whole into memory: pyHanko reads the
cross-reference tables and hashes the byte ranges in chunks. A file from S3 goes through a temporary file first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Coroutine, Iterable, Sequence
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import IO, Any, TypeVar

from asn1crypto import cms, pem, x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.qualified_asn1 import get_qc_statements
from pyhanko.sign.ades.report import AdESFailure, AdESStatus, AdESSubIndic
from pyhanko.sign.diff_analysis import DiffResult
from pyhanko.sign.general import CMSExtractionError
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import EmbeddedPdfSignature
from pyhanko.sign.validation.dss import async_add_validation_info
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from signbridge.domain.verification import (
    CertificateIdentity,
    Coverage,
    ExpectedSigner,
    FileReport,
    Indication,
    LongTermLevel,
    Modifications,
    QcStatements,
    SignatureReport,
    SubIndication,
    TimestampReport,
    best_match,
    unmatched,
)

PdfSource = str | os.PathLike[str] | IO[bytes]
"""A file path, or a seekable binary stream (a temporary file, an open file)."""

_ALLOWED_AFTER_SIGNING = frozenset({Modifications.NONE, Modifications.LTA_UPDATES, Modifications.FORM_FILLING})
"""Further signatures, form filling and validation material (DSS, document timestamps); not annotations: a signed
contract has no need of them, and they can overlay the signed content."""
_COVERAGE = {
    SignatureCoverageLevel.ENTIRE_FILE: Coverage.ENTIRE_FILE,
    SignatureCoverageLevel.ENTIRE_REVISION: Coverage.ENTIRE_REVISION,
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: Coverage.CONTIGUOUS_BLOCK_FROM_START,
    SignatureCoverageLevel.UNCLEAR: Coverage.UNCLEAR,
}


def load_trust_anchors(pem_bundle: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM bundle (several `-----BEGIN CERTIFICATE-----` blocks, or one DER certificate)."""
    if not pem.detect(pem_bundle):
        return [x509.Certificate.load(pem_bundle)]
    return [
        x509.Certificate.load(der) for kind, _, der in pem.unarmor(pem_bundle, multiple=True) if kind == "CERTIFICATE"
    ]


class PdfSignatureVerifier:
    """Validates the signatures of PDFs against `trust_anchors` (the roots that issue signer and TSA certificates).

    `allow_fetching` lets pyhanko-certvalidator fetch CRLs / OCSP responses and missing intermediates over the
    network (on AWS, where the signers' CAs publish them); `revocation_mode` is pyhanko-certvalidator's
    ("soft-fail": revocation checked where information is available; "hard-fail": required). `timestamper` (a TSA)
    lets `embed_validation_material` add an archive timestamp (PAdES B-LTA); without one it stops at B-LT."""

    def __init__(
        self,
        trust_anchors: Sequence[x509.Certificate],
        *,
        allow_fetching: bool = False,
        revocation_mode: str = "soft-fail",
        timestamper: TimeStamper | None = None,
    ) -> None:
        if not trust_anchors:
            raise ValueError("at least one trust anchor is needed")
        self._trust_anchors = list(trust_anchors)
        self._allow_fetching = allow_fetching
        self._revocation_mode = revocation_mode
        self._timestamper = timestamper

    @classmethod
    def from_pem_bundle(cls, path: str | os.PathLike[str], **options: Any) -> PdfSignatureVerifier:
        return cls(load_trust_anchors(Path(path).read_bytes()), **options)

    def verify(self, pdf: PdfSource, *, expected_signers: Sequence[ExpectedSigner] = ()) -> FileReport:
        """The report of every signature of `pdf`, each matched against `expected_signers`."""
        if isinstance(pdf, str | os.PathLike):
            with open(pdf, "rb") as stream:
                return self._verify_stream(stream, tuple(expected_signers))
        return self._verify_stream(pdf, tuple(expected_signers))

    def embed_validation_material(self, pdf: PdfSource, output: IO[bytes]) -> LongTermLevel:
        """Write to `output` a copy of `pdf` with the validation material of each signature embedded (PAdES B-LT):
        a Document Security Store with the certificate chains up to the trust anchors and the revocation information
        pyhanko-certvalidator had or fetched, as of each signature's timestamp. One incremental update per signature,
        so `pdf`'s bytes stay the copy's prefix and every signature stays intact. With a `timestamper`, then a
        document timestamp over the whole file, its TSA's material in the DSS too (B-LTA). Intermediate copies go
        through temporary files, not memory."""
        if isinstance(pdf, str | os.PathLike):
            with open(pdf, "rb") as stream:
                return self._embed(stream, output)
        return self._embed(pdf, output)

    def _embed(self, source: IO[bytes], output: IO[bytes]) -> LongTermLevel:
        current: IO[bytes] = source
        current.seek(0)
        count = len(PdfFileReader(current, strict=False).embedded_regular_signatures)
        level = LongTermLevel.B_LT
        with contextlib.ExitStack() as stack:
            for index in range(count):
                current.seek(0)
                embedded = PdfFileReader(current, strict=False).embedded_regular_signatures[index]
                moment = _claimed_timestamp_time(embedded.signer_info) or datetime.now(UTC)
                updated = stack.enter_context(tempfile.TemporaryFile())
                _run(async_add_validation_info(embedded, self._context(moment), output=updated, force_write=True))
                current = updated
            if self._timestamper is not None:
                current.seek(0)
                stamped = stack.enter_context(tempfile.TemporaryFile())
                _run(
                    PdfTimeStamper(self._timestamper).async_timestamp_pdf(
                        IncrementalPdfFileWriter(current, strict=False),
                        "sha256",
                        validation_context=self._context(datetime.now(UTC)),
                        output=stamped,
                    )
                )
                current, level = stamped, LongTermLevel.B_LTA
            current.seek(0)
            shutil.copyfileobj(current, output)
        return level

    def _verify_stream(self, stream: IO[bytes], expected: tuple[ExpectedSigner, ...]) -> FileReport:
        validated_at = datetime.now(UTC)
        size = stream.seek(0, os.SEEK_END)
        stream.seek(0)
        try:
            reader = PdfFileReader(stream, strict=False)
            embedded = list(reader.embedded_regular_signatures)
        except (PdfError, CMSExtractionError, ValueError, KeyError) as exc:
            return FileReport(
                file_size=size, validated_at=validated_at, signatures=(), expected_signers=expected, error=str(exc)
            )
        signatures = tuple(self._signature(signature, expected, validated_at) for signature in embedded)
        return FileReport(
            file_size=size,
            validated_at=validated_at,
            signatures=signatures,
            expected_signers=expected,
            unmatched_signers=unmatched(signatures, expected),
        )

    def _context(self, moment: datetime) -> ValidationContext:
        return ValidationContext(
            trust_roots=self._trust_anchors,
            moment=moment,
            best_signature_time=moment,
            allow_fetching=self._allow_fetching,
            revocation_mode=self._revocation_mode,
        )

    def _signature(
        self, embedded: EmbeddedPdfSignature, expected: tuple[ExpectedSigner, ...], now: datetime
    ) -> SignatureReport:
        field_name = str(embedded.field_name)
        claimed_tst = _claimed_timestamp_time(embedded.signer_info)
        moment = claimed_tst or now
        try:
            status = _validate(embedded, self._context(moment), self._context(moment))
        except (SignatureValidationError, CMSExtractionError, PdfError, ValueError) as exc:
            sub = exc.ades_subindication if isinstance(exc, SignatureValidationError) else AdESFailure.FORMAT_FAILURE
            indication, sub_indication = _indication(sub)
            signer = _identity(_signer_cert(embedded))
            return SignatureReport(
                field_name=field_name,
                indication=indication,
                sub_indication=sub_indication,
                messages=(str(exc),),
                intact=False,
                crypto_valid=False,
                chain_trusted=False,
                coverage=Coverage.UNCLEAR,
                modifications_allowed=False,
                signed_bytes=_signed_bytes(embedded),
                signer=signer,
                identity=best_match(signer, expected),
            )
        return self._report(embedded, status, expected, moment if claimed_tst else None)

    def _report(
        self,
        embedded: EmbeddedPdfSignature,
        status: PdfSignatureStatus,
        expected: tuple[ExpectedSigner, ...],
        timestamp_time: datetime | None,
    ) -> SignatureReport:
        timestamp = _timestamp(status)
        signing_time = timestamp.time if timestamp and timestamp.valid else status.signer_reported_dt
        modifications = _modifications(status)
        coverage = _COVERAGE[status.coverage] if status.coverage is not None else Coverage.UNCLEAR
        modifications_allowed = coverage is Coverage.ENTIRE_FILE or (
            coverage is Coverage.ENTIRE_REVISION
            and modifications in _ALLOWED_AFTER_SIGNING
            and status.docmdp_ok is not False
        )
        signer = _identity(status.signing_cert)
        indication, sub_indication, messages = _judge(status, modifications_allowed, timestamp, signer)
        return SignatureReport(
            field_name=str(embedded.field_name),
            indication=indication,
            sub_indication=sub_indication,
            messages=messages,
            intact=status.intact,
            crypto_valid=status.valid,
            chain_trusted=status.trusted,
            trust_anchor=status.validation_path[0].subject.human_friendly if status.validation_path else None,
            coverage=coverage,
            modifications=modifications,
            modifications_allowed=modifications_allowed,
            signed_bytes=_signed_bytes(embedded),
            signing_time=signing_time,
            claimed_signing_time=status.signer_reported_dt,
            validation_time=status.validation_time,
            timestamp=timestamp,
            signer=signer,
            qc_statements=_qc_statements(status.signing_cert),
            identity=best_match(signer, expected),
            digest_algorithm=status.md_algorithm,
            signature_mechanism=status.pkcs7_signature_mechanism,
        )


_T = TypeVar("_T")


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run one of pyHanko's coroutines to its end from synchronous code: `asyncio.run` here, or in a thread of its own
    when this thread already runs an event loop (a caller inside an asyncio application; `asyncio.run` cannot nest)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def run_apart() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run_apart, name="pyhanko")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _validate(
    embedded: EmbeddedPdfSignature, signer_context: ValidationContext, ts_context: ValidationContext
) -> PdfSignatureStatus:
    """pyHanko's `validate_pdf_signature`, run here so the validation contexts are the caller's to own."""
    return _run(
        async_validate_pdf_signature(
            embedded, signer_validation_context=signer_context, ts_validation_context=ts_context
        )
    )


Finding = tuple[Indication, SubIndication | None, tuple[str, ...]]


def _judge(
    status: PdfSignatureStatus,
    modifications_allowed: bool,
    timestamp: TimestampReport | None,
    signer: CertificateIdentity | None,
) -> Finding:
    """The indication of ETSI EN 319 102-1 for a validated signature, the most serious finding first."""
    integrity = _integrity_finding(status, modifications_allowed)
    if integrity is not None:
        return integrity
    if status.trust_problem_indic is not None:
        indication, sub = _indication(status.trust_problem_indic)
        proven = timestamp.time if timestamp is not None and timestamp.valid else None
        if signer is not None and proven is not None and proven < signer.not_before:
            # §5.5.4: a proof of existence before the certificate's issuance
            return Indication.TOTAL_FAILED, SubIndication.NOT_YET_VALID, ("signed before the certificate was valid",)
        return indication, sub, (f"the certificate chain: {sub}",)
    if timestamp is not None and not timestamp.valid:
        return Indication.INDETERMINATE, SubIndication.NO_POE, ("the signature timestamp is not valid",)
    return Indication.TOTAL_PASSED, None, ()


def _integrity_finding(status: PdfSignatureStatus, modifications_allowed: bool) -> Finding | None:
    if not status.intact:
        return Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE, ("the signed bytes were changed",)
    if not status.valid:
        return Indication.TOTAL_FAILED, SubIndication.SIG_CRYPTO_FAILURE, ("the signature value does not verify",)
    if not modifications_allowed:
        message = "the file was changed after the signature beyond allowed incremental updates"
        return Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE, (message,)
    return None


def _indication(sub: AdESSubIndic) -> tuple[Indication, SubIndication | None]:
    if sub.status is AdESStatus.PASSED:
        return Indication.TOTAL_PASSED, None
    indication = Indication.TOTAL_FAILED if isinstance(sub, AdESFailure) else Indication.INDETERMINATE
    name = sub.name if isinstance(sub, Enum) else SubIndication.GENERIC.value
    try:
        return indication, SubIndication(name)
    except ValueError:
        return indication, SubIndication.GENERIC


def _claimed_timestamp_time(signer_info: cms.SignerInfo) -> datetime | None:
    """The time in the signature's first RFC 3161 timestamp token, as claimed (pyHanko validates the token)."""
    try:
        unsigned = signer_info["unsigned_attrs"]
        if unsigned.native is None:
            return None
        for attribute in unsigned:
            if attribute["type"].native == "signature_time_stamp_token":
                for token in attribute["values"]:
                    tst_info = token["content"]["encap_content_info"]["content"].parsed
                    gen_time: datetime = tst_info["gen_time"].native
                    return gen_time
    except (ValueError, KeyError, TypeError, AttributeError):  # a malformed token: pyHanko reports it as invalid
        return None
    return None


def _timestamp(status: PdfSignatureStatus) -> TimestampReport | None:
    ts = status.timestamp_validity
    if ts is None:
        return None
    return TimestampReport(
        time=ts.timestamp,
        valid=bool(ts.intact and ts.valid and ts.trusted),
        tsa=ts.signing_cert.subject.human_friendly,
    )


def _modifications(status: PdfSignatureStatus) -> Modifications | None:
    if status.coverage is SignatureCoverageLevel.ENTIRE_FILE:
        return Modifications.NONE
    if status.diff_result is None:
        return None
    if not isinstance(status.diff_result, DiffResult):  # SuspiciousModification: pyHanko refused an update
        return Modifications.OTHER
    return Modifications(status.diff_result.modification_level.name)


def _signer_cert(embedded: EmbeddedPdfSignature) -> x509.Certificate | None:
    try:
        return embedded.signer_cert
    except (CMSExtractionError, ValueError, KeyError):
        return None


def _signed_bytes(embedded: EmbeddedPdfSignature) -> int:
    byte_range = [int(value) for value in embedded.byte_range]
    return sum(byte_range[1::2])


def _identity(cert: x509.Certificate | None) -> CertificateIdentity | None:
    if cert is None:
        return None
    subject: dict[str, Any] = cert.subject.native

    def text(key: str) -> str | None:
        value = subject.get(key)
        if isinstance(value, list):  # a multi-valued attribute: the first
            value = value[0] if value else None
        return str(value) if value is not None else None

    return CertificateIdentity(
        common_name=text("common_name"),
        given_name=text("given_name"),
        surname=text("surname"),
        serial_number=text("serial_number"),
        organization=text("organization_name"),
        country=text("country_name"),
        issuer=cert.issuer.human_friendly,
        certificate_sha256=cert.sha256.hex(),
        not_before=cert.not_valid_before,
        not_after=cert.not_valid_after,
    )


def _qc_statements(cert: x509.Certificate) -> QcStatements:
    found = {statement["statement_id"].native: statement for statement in get_qc_statements(cert)}
    qc_types: Iterable[str] = ()
    if "qc_type" in found:
        qc_types = found["qc_type"]["statement_info"].native or ()
    return QcStatements(
        qc_compliance="qc_compliance" in found,
        qc_sscd="qc_sscd" in found,
        qc_type_esign="qct_esign" in qc_types,
    )


__all__ = ["PdfSignatureVerifier", "PdfSource", "load_trust_anchors"]
