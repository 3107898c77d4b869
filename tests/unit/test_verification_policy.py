"""The validation report and its policy (signbridge.domain.verification): pure data, no PDF and no pyHanko."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signbridge.domain.verification import (
    PROVIDER_POLICIES,
    CertificateIdentity,
    Coverage,
    ExpectedSigner,
    FileReport,
    Indication,
    QcStatements,
    SignatureReport,
    SubIndication,
    TimestampReport,
    VerificationPolicy,
    best_match,
    decide,
    match_identity,
    normalise_id_number,
    normalise_name,
    summarise,
    unmatched,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ANA = ExpectedSigner(name="Ana García López", id_number="12345678Z")
BRUNO = ExpectedSigner(name="Bruno Díaz")
QUALIFIED = QcStatements(qc_compliance=True, qc_sscd=True, qc_type_esign=True)


def identity(
    given: str = "ANA", surname: str = "GARCIA LOPEZ", serial: str | None = "IDCES-12345678Z"
) -> CertificateIdentity:
    return CertificateIdentity(
        common_name=f"{given} {surname}",
        given_name=given,
        surname=surname,
        serial_number=serial,
        issuer="Test CA",
        certificate_sha256="00",
        not_before=NOW,
        not_after=NOW,
    )


def signature(
    indication: Indication = Indication.TOTAL_PASSED,
    sub: SubIndication | None = None,
    *,
    field: str = "Signature1",
    signer: CertificateIdentity | None = None,
    expected: tuple[ExpectedSigner, ...] = (ANA,),
    qc: QcStatements = QUALIFIED,
    timestamp: TimestampReport | None = None,
) -> SignatureReport:
    signer = signer or identity()
    return SignatureReport(
        field_name=field,
        indication=indication,
        sub_indication=sub,
        intact=True,
        crypto_valid=True,
        chain_trusted=indication is Indication.TOTAL_PASSED,
        coverage=Coverage.ENTIRE_FILE,
        modifications_allowed=True,
        signed_bytes=100,
        timestamp=timestamp or TimestampReport(time=NOW, valid=True),
        signer=signer,
        qc_statements=qc,
        identity=best_match(signer, expected),
    )


def file_report(*signatures: SignatureReport, expected: tuple[ExpectedSigner, ...] = (ANA,)) -> FileReport:
    return FileReport(
        file_size=1000,
        validated_at=NOW,
        signatures=signatures,
        expected_signers=expected,
        unmatched_signers=unmatched(signatures, expected),
    )


@pytest.mark.parametrize(
    ("name", "normalised"),
    [("José  Pérez-Núñez", "jose perez nunez"), ("ANA GARCÍA LÓPEZ", "ana garcia lopez"), (" Ñandú ", "nandu")],
)
def test_names_compare_without_case_accents_or_punctuation(name: str, normalised: str) -> None:
    assert normalise_name(name) == normalised


@pytest.mark.parametrize(
    ("value", "normalised"),
    [("IDCES-12345678Z", "12345678Z"), ("12.345.678-z", "12345678Z"), ("PASES-AB 123456", "AB123456")],
)
def test_id_numbers_compare_without_the_etsi_prefix_or_separators(value: str, normalised: str) -> None:
    assert normalise_id_number(value) == normalised


def test_the_certificate_identity_matches_the_expected_signer_by_name_and_id_number() -> None:
    match = match_identity(identity(), ANA)
    assert (match.name_matches, match.id_number_matches, match.matches) == (True, True, True)


def test_another_id_number_or_another_name_is_no_match() -> None:
    assert not match_identity(identity(serial="IDCES-99999999R"), ANA).matches
    assert not match_identity(identity(given="Eve", surname="Mallory"), ANA).matches
    assert not match_identity(identity(serial=None), ANA).matches


def test_without_an_expected_id_number_only_the_name_counts() -> None:
    match = match_identity(identity(given="Bruno", surname="Díaz", serial=None), BRUNO)
    assert (match.id_number_matches, match.matches) == (None, True)


def test_the_best_match_picks_the_expected_signer_the_certificate_names() -> None:
    match = best_match(identity(given="Bruno", surname="Diaz"), [ANA, BRUNO])
    assert match is not None
    assert match.expected == BRUNO
    assert best_match(identity(), []) is None


def test_a_file_is_as_good_as_its_worst_signature() -> None:
    passed = signature()
    indeterminate = signature(Indication.INDETERMINATE, SubIndication.TRY_LATER, field="Signature2")
    failed = signature(Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE, field="Signature3")
    assert file_report(passed).indication is Indication.TOTAL_PASSED
    assert file_report(passed, indeterminate).indication is Indication.INDETERMINATE
    assert file_report(passed, indeterminate, failed).indication is Indication.TOTAL_FAILED
    assert file_report().indication is None


def test_a_good_file_passes() -> None:
    decision = decide(file_report(signature()))
    assert decision.passed
    assert decision.reasons == ()


def test_total_failed_never_passes_whatever_the_policy() -> None:
    report = file_report(signature(Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE))
    anything = VerificationPolicy(accept_indeterminate=frozenset(SubIndication), allow_unexpected_signatures=True)
    decision = decide(report, anything)
    assert not decision.passed
    assert decision.reasons == ("Signature1: TOTAL-FAILED/HASH_FAILURE",)


def test_indeterminate_fails_by_default_and_passes_only_with_an_accepted_sub_indication() -> None:
    report = file_report(signature(Indication.INDETERMINATE, SubIndication.TRY_LATER))
    assert decide(report).reasons == ("Signature1: INDETERMINATE/TRY_LATER",)
    assert decide(report, VerificationPolicy(accept_indeterminate=frozenset({SubIndication.TRY_LATER}))).passed
    other = VerificationPolicy(accept_indeterminate=frozenset({SubIndication.NO_CERTIFICATE_CHAIN_FOUND}))
    assert not decide(report, other).passed


def test_no_signature_fails() -> None:
    decision = decide(file_report(expected=()))
    assert decision.reasons == ("the file carries no signature",)


def test_an_unreadable_file_fails() -> None:
    report = FileReport(file_size=3, validated_at=NOW, signatures=(), error="not a PDF")
    assert report.indication is Indication.TOTAL_FAILED
    assert decide(report).reasons == ("unreadable: not a PDF",)


def test_a_signature_by_someone_else_fails_and_the_missing_signer_is_named_by_position() -> None:
    eve = signature(signer=identity(given="Eve", surname="Mallory", serial="IDCES-11111111H"))
    decision = decide(file_report(eve))
    assert decision.reasons == (
        "Signature1: the certificate does not name an expected signer",
        "no signature by expected signer #0",
    )


def test_an_unexpected_extra_signature_is_allowed_only_when_the_policy_says_so() -> None:
    ana = signature()
    platform = signature(field="Platform", signer=identity(given="ZapSign", surname="Platform", serial=None))
    report = file_report(ana, platform)
    assert decide(report).reasons == ("Platform: the certificate does not name an expected signer",)
    assert decide(report, VerificationPolicy(allow_unexpected_signatures=True)).passed


def test_with_no_expected_signer_the_identity_is_not_judged() -> None:
    report = file_report(signature(expected=()), expected=())
    assert report.signatures[0].identity is None
    assert decide(report).passed


def test_a_policy_can_require_a_valid_timestamp_and_a_qualified_certificate() -> None:
    bare = signature(qc=QcStatements(qc_compliance=True), timestamp=TimestampReport(time=NOW, valid=False))
    strict = VerificationPolicy(require_timestamp=True, require_qualified=True)
    assert decide(file_report(bare), strict).reasons == (
        "Signature1: no valid signature timestamp",
        "Signature1: the certificate is not a qualified certificate for electronic signatures",
    )
    assert decide(file_report(signature()), strict).passed


def test_the_report_round_trips_through_json_and_keeps_personal_data_out_of_repr() -> None:
    report = file_report(signature())
    data = report.model_dump(mode="json")
    assert data["indication"] == "TOTAL-PASSED"
    assert data["signatures"][0]["qc_statements"]["qualified_esign"] is True
    assert FileReport.model_validate_json(report.model_dump_json()) == report
    assert "12345678Z" not in repr(report)
    assert "GARCIA" not in repr(report)


PLATFORM = identity(given="ZapSign", surname="Platform", serial=None)


def test_a_prior_platform_signature_is_judged_on_its_indication_only() -> None:
    # Given a One-Shot signer's file that carries ZapSign's platform signature first (not qualified, names nobody)
    report = file_report(signature(field="ZapSign", signer=PLATFORM, qc=QcStatements()), signature(field="Signature2"))
    # When One-Shot's policy judges it, with the first signature judged before under ZapSign's
    one_shot = PROVIDER_POLICIES["oneshot"]
    # Then it passes with the prior signature left out of the identity and qualified requirements
    assert decide(report, one_shot.model_copy(update={"prior_signatures": 1})).passed
    # And without it, the platform signature fails both
    assert decide(report, one_shot).reasons == (
        "ZapSign: the certificate is not a qualified certificate for electronic signatures",
        "ZapSign: the certificate does not name an expected signer",
    )


def test_a_prior_signature_that_failed_still_fails_the_file() -> None:
    report = file_report(
        signature(Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE, field="ZapSign", signer=PLATFORM),
        signature(field="Signature2"),
    )
    decision = decide(report, PROVIDER_POLICIES["oneshot"].model_copy(update={"prior_signatures": 1}))
    assert decision.reasons == ("ZapSign: TOTAL-FAILED/HASH_FAILURE",)


def test_zapsign_policy_judges_no_identity_and_one_shot_requires_qualified_certificates() -> None:
    assert PROVIDER_POLICIES["zapsign"] == VerificationPolicy()
    assert PROVIDER_POLICIES["oneshot"].require_qualified


def test_the_summary_names_the_request_signer_by_index_and_the_worst_sub_indication() -> None:
    # Given Bruno's signature intact, Ana's by an untrusted chain; Ana is signer 3 of the request and Bruno signer 5
    report = file_report(
        signature(field="S1", expected=(ANA, BRUNO)),
        signature(
            Indication.INDETERMINATE,
            SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
            field="S2",
            signer=identity(given="Bruno", surname="Díaz", serial=None),
            expected=(ANA, BRUNO),
        ),
        expected=(ANA, BRUNO),
    )
    decision = decide(report)
    # When it is summarised
    summary = summarise(report, decision, stage="oneshot-1", report_key="reports/r/000/oneshot-1.json",
                        sha256="ab", signer_indexes=[3, 5])  # fmt: skip
    # Then each signature names its signer by index, and the file its worst finding
    assert [(item.field_name, item.signer, item.indication) for item in summary.signatures] == [
        ("S1", 3, Indication.TOTAL_PASSED),
        ("S2", 5, Indication.INDETERMINATE),
    ]
    assert (summary.indication, summary.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    )
    assert not summary.passed
    assert summary.reasons == decision.reasons
    # And no name or ID number is in it
    assert "Ana" not in summary.model_dump_json()
    assert "12345678Z" not in summary.model_dump_json()
