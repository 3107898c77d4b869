"""The validation report of a signed PDF, and the policy that decides what it means (docs/evidence.md).

A report holds, per file and per signature, the indication of ETSI EN 319 102-1 (`TOTAL-PASSED`, `INDETERMINATE`,
`TOTAL-FAILED`) with its standard sub-indication, what the signature covers and what changed after it, the signing
time and the timestamp that proves it, the signer identity read from the certificate, its qualified statements
(ETSI EN 319 412-5) and how that identity compares with the signer the caller expected.

Pure data and pure functions: `signbridge.verification` (pyHanko) fills the report, `decide` judges it. Personal data
(names, ID numbers) is kept out of `repr()`, like the entities of `models.py`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, computed_field


class Indication(StrEnum):
    """The main status of a validation (ETSI EN 319 102-1 §5.1.3, table 4)."""

    TOTAL_PASSED = "TOTAL-PASSED"
    INDETERMINATE = "INDETERMINATE"
    TOTAL_FAILED = "TOTAL-FAILED"


class SubIndication(StrEnum):
    """The reason behind an indication other than TOTAL-PASSED (ETSI EN 319 102-1 §5.1.3, table 5), by their
    standard names. GENERIC stands for a reason the standard does not name (pyHanko's name for it)."""

    # with TOTAL-FAILED
    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    # with INDETERMINATE
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    POLICY_PROCESSING_ERROR = "POLICY_PROCESSING_ERROR"
    SIGNATURE_POLICY_NOT_AVAILABLE = "SIGNATURE_POLICY_NOT_AVAILABLE"
    TIMESTAMP_ORDER_FAILURE = "TIMESTAMP_ORDER_FAILURE"
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    REVOKED_CA_NO_POE = "REVOKED_CA_NO_POE"
    OUT_OF_BOUNDS_NO_POE = "OUT_OF_BOUNDS_NO_POE"
    OUT_OF_BOUNDS_NOT_REVOKED = "OUT_OF_BOUNDS_NOT_REVOKED"
    REVOCATION_OUT_OF_BOUNDS_NO_POE = "REVOCATION_OUT_OF_BOUNDS_NO_POE"
    CRYPTO_CONSTRAINTS_FAILURE_NO_POE = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
    NO_POE = "NO_POE"
    TRY_LATER = "TRY_LATER"
    SIGNED_DATA_NOT_FOUND = "SIGNED_DATA_NOT_FOUND"
    GENERIC = "GENERIC"


TOTAL_FAILED_SUB_INDICATIONS: Final = frozenset(
    {
        SubIndication.FORMAT_FAILURE,
        SubIndication.HASH_FAILURE,
        SubIndication.SIG_CRYPTO_FAILURE,
        SubIndication.REVOKED,
        SubIndication.EXPIRED,
        SubIndication.NOT_YET_VALID,
    }
)
INDETERMINATE_SUB_INDICATIONS: Final = frozenset(SubIndication) - TOTAL_FAILED_SUB_INDICATIONS
"""The sub-indications that come with INDETERMINATE (GENERIC included): the ones a policy may accept."""


class Coverage(StrEnum):
    """What a signature's byte range covers (pyHanko's `SignatureCoverageLevel`)."""

    ENTIRE_FILE = "ENTIRE_FILE"  # nothing was added after the signature
    ENTIRE_REVISION = "ENTIRE_REVISION"  # its revision whole; incremental updates came after (see `modifications`)
    CONTIGUOUS_BLOCK_FROM_START = "CONTIGUOUS_BLOCK_FROM_START"  # not a whole revision: suspicious
    UNCLEAR = "UNCLEAR"  # disconnected or unreadable byte range


class Modifications(StrEnum):
    """What the incremental updates after a signature changed (pyHanko's `ModificationLevel`), least first."""

    NONE = "NONE"
    LTA_UPDATES = "LTA_UPDATES"  # validation material (DSS) and document timestamps
    FORM_FILLING = "FORM_FILLING"  # further signatures and form fields
    ANNOTATIONS = "ANNOTATIONS"
    OTHER = "OTHER"  # anything else: content may have changed


class ExpectedSigner(BaseModel):
    """Who the caller expects to have signed: the signer of the request."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(repr=False)
    id_number: str | None = Field(default=None, repr=False)


class CertificateIdentity(BaseModel):
    """The signer as the signing certificate names it (subject attributes, ETSI EN 319 412-2 for natural persons)."""

    model_config = ConfigDict(frozen=True)

    common_name: str | None = Field(default=None, repr=False)
    given_name: str | None = Field(default=None, repr=False)
    surname: str | None = Field(default=None, repr=False)
    serial_number: str | None = Field(default=None, repr=False)  # e.g. IDCES-12345678Z (type, country, number)
    organization: str | None = None
    country: str | None = None
    issuer: str
    certificate_sha256: str
    not_before: datetime
    not_after: datetime

    @property
    def full_name(self) -> str | None:
        """Given name and surname when the certificate has them, else the common name."""
        if self.given_name and self.surname:
            return f"{self.given_name} {self.surname}"
        return self.common_name


class QcStatements(BaseModel):
    """Which qualified-certificate statements (ETSI EN 319 412-5) the signing certificate carries."""

    model_config = ConfigDict(frozen=True)

    qc_compliance: bool = False  # QcCompliance: an EU qualified certificate
    qc_sscd: bool = False  # QcSSCD: the key is on a qualified signature creation device
    qc_type_esign: bool = False  # QcType esign: a certificate for electronic signatures (not seals or web)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def qualified_esign(self) -> bool:
        return self.qc_compliance and self.qc_sscd and self.qc_type_esign


class IdentityMatch(BaseModel):
    """How a signature's certificate identity compares with one expected signer."""

    model_config = ConfigDict(frozen=True)

    expected: ExpectedSigner
    name_matches: bool
    id_number_matches: bool | None  # None: no ID number expected

    @computed_field  # type: ignore[prop-decorator]
    @property
    def matches(self) -> bool:
        return self.name_matches and self.id_number_matches is not False


class TimestampReport(BaseModel):
    """The signature timestamp (RFC 3161) embedded in a signature: the proof of existence of its signing time."""

    model_config = ConfigDict(frozen=True)

    time: datetime
    valid: bool  # intact, cryptographically valid and its TSA chains to a trust anchor
    tsa: str | None = None


class SignatureReport(BaseModel):
    """One signature of a file, validated."""

    model_config = ConfigDict(frozen=True)

    field_name: str
    indication: Indication
    sub_indication: SubIndication | None = None
    messages: tuple[str, ...] = ()
    intact: bool  # the digest of the signed byte ranges matches the signed one
    crypto_valid: bool  # the signature value verifies with the certificate's key
    chain_trusted: bool  # the certificate chains to a configured trust anchor, valid at the signing time
    trust_anchor: str | None = None
    coverage: Coverage
    modifications: Modifications | None = None  # None: not analysed
    modifications_allowed: bool  # the updates after it are allowed incremental updates (and DocMDP permits them)
    signed_bytes: int  # how much of the file the byte range covers (the signature value excluded)
    signing_time: datetime | None = None  # proven by the timestamp when valid, else as claimed by the signer
    claimed_signing_time: datetime | None = None
    validation_time: datetime | None = None  # the time the certificate chain was validated at
    timestamp: TimestampReport | None = None
    signer: CertificateIdentity | None = None
    qc_statements: QcStatements = QcStatements()
    identity: IdentityMatch | None = None  # the expected signer it matched (or the closest), None if none expected
    digest_algorithm: str | None = None
    signature_mechanism: str | None = None


class FileReport(BaseModel):
    """Every signature of one PDF file, validated, and how they meet the expected signers."""

    model_config = ConfigDict(frozen=True)

    file_size: int
    validated_at: datetime
    signatures: tuple[SignatureReport, ...]
    expected_signers: tuple[ExpectedSigner, ...] = ()
    unmatched_signers: tuple[ExpectedSigner, ...] = ()  # expected, but no signature's certificate names them
    error: str | None = None  # the file could not be read as a PDF at all

    @computed_field  # type: ignore[prop-decorator]
    @property
    def indication(self) -> Indication | None:
        """The worst indication of its signatures; None for a file that carries none (or could not be read)."""
        if self.error is not None:
            return Indication.TOTAL_FAILED
        if not self.signatures:
            return None
        found = {signature.indication for signature in self.signatures}
        for indication in (Indication.TOTAL_FAILED, Indication.INDETERMINATE):
            if indication in found:
                return indication
        return Indication.TOTAL_PASSED


class VerificationPolicy(BaseModel):
    """What a file's report must show to pass. TOTAL-FAILED never passes; INDETERMINATE passes only with one of
    `accept_indeterminate`'s sub-indications (none by default, e.g. TRY_LATER where revocation data may lag)."""

    model_config = ConfigDict(frozen=True)

    accept_indeterminate: frozenset[SubIndication] = frozenset()
    require_timestamp: bool = False
    require_qualified: bool = False  # every signature by a certificate with QcCompliance, QcSSCD and QcType esign
    allow_unexpected_signatures: bool = False  # a signature that matches none of the expected signers
    prior_signatures: int = Field(default=0, ge=0)
    """The first signatures of the file were judged before, under another provider's policy (ZapSign's platform
    signature under a One-Shot signer's): their indication still counts, not `require_*` nor the identity."""


class PolicyDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    passed: bool
    reasons: tuple[str, ...] = ()


def decide(report: FileReport, policy: VerificationPolicy | None = None) -> PolicyDecision:
    """Whether `report` passes `policy`, and every reason it does not."""
    policy = policy or VerificationPolicy()
    reasons: list[str] = []
    if report.error is not None:
        reasons.append(f"unreadable: {report.error}")
    elif not report.signatures:
        reasons.append("the file carries no signature")
    for position, signature in enumerate(report.signatures):
        if position < policy.prior_signatures:
            reasons.extend(_indication_reasons(signature, policy))
            continue
        reasons.extend(_signature_reasons(signature, policy, expecting=bool(report.expected_signers)))
    reasons.extend(f"no signature by expected signer #{index}" for index in _unmatched_indexes(report))
    return PolicyDecision(passed=not reasons, reasons=tuple(reasons))


def _indication_reasons(signature: SignatureReport, policy: VerificationPolicy) -> Iterable[str]:
    sub = f"/{signature.sub_indication}" if signature.sub_indication else ""
    if signature.indication is Indication.TOTAL_FAILED or (
        signature.indication is Indication.INDETERMINATE and signature.sub_indication not in policy.accept_indeterminate
    ):
        yield f"{signature.field_name}: {signature.indication}{sub}"


def _signature_reasons(signature: SignatureReport, policy: VerificationPolicy, *, expecting: bool) -> Iterable[str]:
    field = signature.field_name
    yield from _indication_reasons(signature, policy)
    if policy.require_timestamp and not (signature.timestamp and signature.timestamp.valid):
        yield f"{field}: no valid signature timestamp"
    if policy.require_qualified and not signature.qc_statements.qualified_esign:
        yield f"{field}: the certificate is not a qualified certificate for electronic signatures"
    if expecting and not policy.allow_unexpected_signatures and not (signature.identity and signature.identity.matches):
        yield f"{field}: the certificate does not name an expected signer"


def _unmatched_indexes(report: FileReport) -> list[int]:
    return [index for index, signer in enumerate(report.expected_signers) if signer in report.unmatched_signers]


# --- the policy per provider, and what a request records of a verification ----------------------------------------

PROVIDER_POLICIES: Final[Mapping[str, VerificationPolicy]] = {
    # ZapSign's signed file carries ZapSign's own platform signature, which names ZapSign, not the signers: its
    # integrity, chain and timestamp are judged, not an identity.
    "zapsign": VerificationPolicy(),
    # One-Shot: a qualified certificate per signer (QcCompliance, QcSSCD, QcType esign) naming that signer.
    "oneshot": VerificationPolicy(require_qualified=True),
}
"""The base policy per provider; the stage config adds the INDETERMINATE sub-indications it accepts."""


class SignatureSummary(BaseModel):
    """One signature of a verified file, as `GET /v1/requests/{id}` shows it: no name, no ID number."""

    model_config = ConfigDict(frozen=True)

    field_name: str
    indication: Indication
    sub_indication: SubIndication | None = None
    signer: int | None = None  # the request's signer the certificate names; None: none (or none expected)
    qualified: bool = False


class LongTermLevel(StrEnum):
    """The PAdES baseline level of the long-term copy of a signed file (ETSI EN 319 142-1)."""

    B_LT = "B-LT"  # the validation material of every signature in a Document Security Store
    B_LTA = "B-LTA"  # and a document timestamp over the whole file (an archive timestamp), from a configured TSA


class LongTermCopy(BaseModel):
    """The signed file with its validation material embedded, stored beside the file as the provider served it
    (`keys.long_term_key`): the provider's bytes followed by incremental updates, so every signature stays intact."""

    model_config = ConfigDict(frozen=True)

    key: str
    sha256: str
    size: int = Field(ge=0)
    level: LongTermLevel


class VerificationSummary(BaseModel):
    """What the request records of one signed file's verification; the whole report is the S3 object `report_key`."""

    model_config = ConfigDict(frozen=True)

    stage: str
    report_key: str
    sha256: str | None = None  # of the file verified (an operator accepts a failed file by it)
    validated_at: datetime
    indication: Indication | None
    sub_indication: SubIndication | None = None
    passed: bool
    accepted_by_operator: bool = False  # did not pass, and an operator accepted this very file (its sha256)
    reasons: tuple[str, ...] = ()
    signatures: tuple[SignatureSummary, ...] = ()
    long_term: LongTermCopy | None = None  # of a file that passed: its copy with the validation material embedded


def summarise(
    report: FileReport,
    decision: PolicyDecision,
    *,
    stage: str,
    report_key: str,
    sha256: str | None = None,
    signer_indexes: Sequence[int] = (),
    accepted_by_operator: bool = False,
) -> VerificationSummary:
    """The summary of `report`; `signer_indexes[i]` is the request's index of `report.expected_signers[i]`."""
    by_signer = dict(zip(report.expected_signers, signer_indexes, strict=False))
    signatures = tuple(
        SignatureSummary(
            field_name=signature.field_name,
            indication=signature.indication,
            sub_indication=signature.sub_indication,
            signer=by_signer.get(signature.identity.expected)
            if signature.identity is not None and signature.identity.matches
            else None,
            qualified=signature.qc_statements.qualified_esign,
        )
        for signature in report.signatures
    )
    worst = next((signature for signature in report.signatures if signature.indication is report.indication), None)
    return VerificationSummary(
        stage=stage,
        report_key=report_key,
        sha256=sha256,
        validated_at=report.validated_at,
        indication=report.indication,
        sub_indication=worst.sub_indication if worst is not None else None,
        passed=decision.passed,
        accepted_by_operator=accepted_by_operator,
        reasons=decision.reasons,
        signatures=signatures,
    )


# --- identity matching -------------------------------------------------------------------------------------------

_SEMANTICS_PREFIX = re.compile(r"^[A-Z]{3}[A-Z]{2}-")  # ETSI EN 319 412-1 §5.1.3: type, country, hyphen


def normalise_name(name: str) -> str:
    """Case, accents, punctuation and spacing removed: "José  Pérez-Núñez" -> "jose perez nunez"."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^\w]+", " ", letters.casefold()).split())


def normalise_id_number(value: str) -> str:
    """An ID number without its ETSI semantics prefix (IDCES-, PASES-, TINES-...), spaces, dots or hyphens."""
    upper = value.strip().upper()
    return re.sub(r"[\s.\-]", "", _SEMANTICS_PREFIX.sub("", upper))


def match_identity(identity: CertificateIdentity, expected: ExpectedSigner) -> IdentityMatch:
    """Compare a certificate's subject with an expected signer: the name with the given name + surname (or the
    common name), word for word after `normalise_name`; the ID number with the subject's serialNumber."""
    wanted = normalise_name(expected.name)
    names = {normalise_name(name) for name in (identity.full_name, identity.common_name) if name}
    id_matches: bool | None = None
    if expected.id_number:
        id_matches = identity.serial_number is not None and normalise_id_number(
            identity.serial_number
        ) == normalise_id_number(expected.id_number)
    return IdentityMatch(expected=expected, name_matches=wanted in names, id_number_matches=id_matches)


def best_match(identity: CertificateIdentity | None, expected: Sequence[ExpectedSigner]) -> IdentityMatch | None:
    """The expected signer `identity` matches, else the closest comparison (for the report); None if none expected."""
    if identity is None or not expected:
        return None
    matches = [match_identity(identity, signer) for signer in expected]
    return max(matches, key=lambda match: (match.matches, match.name_matches, match.id_number_matches is True))


def unmatched(signatures: Iterable[SignatureReport], expected: Sequence[ExpectedSigner]) -> tuple[ExpectedSigner, ...]:
    """The expected signers no signature's certificate names."""
    found = [
        signature.identity.expected for signature in signatures if signature.identity and signature.identity.matches
    ]
    return tuple(signer for signer in expected if signer not in found)
