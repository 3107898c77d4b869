"""The simulators sign for real: each signed file is validated with pyHanko against the simulator's trust anchors.

One-Shot: a single-use qualified certificate per signer (identity in the subject, QC statements), a PAdES signature
with a timestamp from the test TSA, several signers in turn as incremental updates. ZapSign: one platform signature.
Each signing fault (tampered file, wrong signer, untrusted root, expired certificate) is detected by the validation.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from cryptography import x509
from pyhanko.sign.ades.qualified_asn1 import get_qc_statements
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel

from signbridge.domain.oneshot import FilePart
from signbridge.providers.oneshot import OneShotClient
from signbridge.providers.zapsign import ZapSignClient
from simulators.base import Simulator
from simulators.oneshot.simulator import OneShotSimulator
from simulators.pdf import make_pdf
from simulators.signatures import NaturalPerson, SigningFaults
from simulators.signatures.pki import PLATFORM_NAME, ROOT_NAME, WRONG_PERSON
from simulators.signatures.qualified import QC_STATEMENT_IDS
from simulators.zapsign.simulator import ZapSignSimulator
from tests.simulators.conftest_oneshot import id_evidence, signer_identity
from tests.simulators.conftest_zapsign import new_document
from tests.support.signatures import validate_signatures

SigningFlow = Callable[[], bytes]


def oneshot_sign(client: OneShotClient, simulator: OneShotSimulator, pdf: bytes, **identity: Any) -> bytes:
    """One One-Shot request for one signer and one document: create, upload `pdf`, OTP, sign; the signed file."""
    pk = client.create_request(signer_identity(**identity), id_evidence()).pk
    [uploaded] = client.upload_documents(pk, [FilePart(pdf, "contract.pdf")])
    client.send_otp(pk)
    client.sign(pk, simulator.last_otp(pk=pk) or "")
    with client.open_document(pk, uploaded.uid, "signed") as stream:
        return b"".join(stream.chunks)


def zapsign_sign(client: ZapSignClient, simulator: ZapSignSimulator) -> bytes:
    created = client.create_document(new_document("Ana Souza", "Bruno Lima"))
    for signer in created.signers:
        simulator.sign(signer.token)
    signed_file = simulator.documents[created.token].signed_file
    assert signed_file is not None
    return simulator.files[signed_file].data


def validate(simulator: Simulator, pdf: bytes) -> list[PdfSignatureStatus]:
    return validate_signatures(pdf, simulator.signatures.pki.trust_anchors())


def subject(status: PdfSignatureStatus) -> dict[str, Any]:
    return dict(status.signing_cert.subject.native)


# -- trust anchors ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["oneshot", "zapsign"])
def test_the_control_api_serves_the_test_root_as_the_trust_anchor(
    name: str, oneshot_simulator: OneShotSimulator, zapsign_simulator: ZapSignSimulator
) -> None:
    simulator: Simulator = oneshot_simulator if name == "oneshot" else zapsign_simulator
    answer = requests.get(f"{simulator.base_url}/_sim/trust-anchors", timeout=5)
    assert answer.status_code == 200
    roots = x509.load_pem_x509_certificates(answer.content)
    assert roots == [simulator.signatures.pki.root.certificate]
    assert roots[0].subject.rfc4514_string().startswith(f"CN={ROOT_NAME}")
    assert simulator.signatures.pki.untrusted_root.certificate not in roots


# -- One-Shot ---------------------------------------------------------------------------------------------------------


def test_a_oneshot_signature_is_qualified_timestamped_and_chains_to_the_test_root(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    original = make_pdf("Contrato")
    signed = oneshot_sign(oneshot_client, oneshot_simulator, original)
    assert signed.startswith(original)  # an incremental update
    [status] = validate(oneshot_simulator, signed)
    # intact, valid, trusted, covering the whole file
    assert (status.intact, status.valid, status.trusted, status.bottom_line) == (True, True, True, True)
    assert status.coverage is SignatureCoverageLevel.ENTIRE_FILE
    assert status.validation_path is not None
    assert status.validation_path.trust_anchor.authority.name.native["common_name"] == ROOT_NAME
    # the holder as a qualified natural-person certificate names them (ETSI EN 319 412-1/-2)
    assert subject(status) == {
        "country_name": "ES",
        "given_name": "Ana",
        "surname": "García López",
        "serial_number": "IDCES-12345678Z",
        "common_name": "Ana García López",
    }
    # QcCompliance, QcSSCD, QcType esign (EN 319 412-5)
    statements = get_qc_statements(status.signing_cert)
    assert [statement["statement_id"].native for statement in statements] == list(QC_STATEMENT_IDS)
    assert statements[2]["statement_info"].native == ["qct_esign"]
    # an RFC 3161 signature timestamp from the test TSA, itself valid and trusted
    timestamp = status.timestamp_validity
    assert timestamp is not None
    assert (timestamp.intact, timestamp.valid, timestamp.trusted) == (True, True, True)
    assert abs(timestamp.timestamp.timestamp() - time.time()) < 600
    # the callback and the control API report the certificate that signed
    assert oneshot_simulator.requests[max(oneshot_simulator.requests)].certificate_serial == (
        f"{status.signing_cert.serial_number:X}"
    )


def test_two_signers_sign_in_turn_and_the_first_signature_stays_valid(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    first = oneshot_sign(oneshot_client, oneshot_simulator, make_pdf("Contrato"))
    second = oneshot_sign(
        oneshot_client,
        oneshot_simulator,
        first,  # the simulator signs what it is given: the previous signer's output
        given_name="Bruno",
        surname_1="Lima",
        surname_2=None,
        serial_number="87654321X",
        id_document_type="PAS",
        id_document_country="PT",
        mobile_phone_number="+34600000002",
    )
    assert second.startswith(first)
    statuses = validate(oneshot_simulator, second)
    assert [status.bottom_line for status in statuses] == [True, True]
    assert [subject(status)["serial_number"] for status in statuses] == ["IDCES-12345678Z", "PASPT-87654321X"]
    earlier, later = statuses
    assert earlier.coverage is SignatureCoverageLevel.ENTIRE_REVISION
    assert earlier.modification_level is ModificationLevel.FORM_FILLING  # the second signature, nothing else
    assert earlier.docmdp_ok
    assert later.coverage is SignatureCoverageLevel.ENTIRE_FILE
    assert all(status.timestamp_validity is not None and status.timestamp_validity.trusted for status in statuses)


def test_signing_cost_per_signature(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A measure, not a check: the time of one One-Shot sign (certificate issued, PAdES signature, timestamp)."""
    pdf = make_pdf("Contrato")
    durations = []
    for _ in range(5):
        started = time.perf_counter()
        oneshot_sign(oneshot_client, oneshot_simulator, pdf)
        durations.append(time.perf_counter() - started)
    started = time.perf_counter()
    person = NaturalPerson(given_name="Ana", surnames="García López", id_type="IDC", country="ES", id_number="1Z")
    oneshot_simulator.signatures.sign_as_person(person, [pdf] * 5, label="measure")
    per_signature = (time.perf_counter() - started) / 5
    with capsys.disabled():
        print(
            f"\n[signing cost] One-Shot request end to end (HTTP, 1 document): median "
            f"{sorted(durations)[2] * 1000:.0f} ms; one PAdES signature with timestamp: {per_signature * 1000:.0f} ms"
        )


# -- ZapSign ----------------------------------------------------------------------------------------------------------


def test_a_zapsign_signed_file_carries_one_valid_platform_signature(
    zapsign_client: ZapSignClient, zapsign_simulator: ZapSignSimulator
) -> None:
    signed = zapsign_sign(zapsign_client, zapsign_simulator)
    [status] = validate(zapsign_simulator, signed)
    assert (status.intact, status.valid, status.trusted, status.bottom_line) == (True, True, True, True)
    assert status.coverage is SignatureCoverageLevel.ENTIRE_FILE
    assert subject(status)["common_name"] == PLATFORM_NAME
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.trusted


# -- faults -----------------------------------------------------------------------------------------------------------


def set_faults(simulator: Simulator, **faults: bool) -> None:
    answer = requests.post(f"{simulator.base_url}/_sim/signing-faults", json=faults, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == SigningFaults(**faults).to_json()


def check_fault(fault: str, status: PdfSignatureStatus, *, expected_name: str) -> None:
    if fault == "tamper":
        assert not status.intact
        assert not status.bottom_line
    elif fault == "wrong_signer":
        # a perfectly valid signature: by somebody else
        assert status.bottom_line
        assert subject(status)["common_name"] != expected_name
    elif fault == "untrusted_root":
        assert status.intact
        assert status.valid
        assert not status.trusted
        assert not status.bottom_line
    else:  # expired_certificate: expired at the signing time the timestamp proves
        assert status.intact
        assert not status.trusted
        assert not status.bottom_line
        assert status.signing_cert.not_valid_after < status.timestamp_validity.timestamp  # type: ignore[union-attr]


FAULTS = ["tamper", "wrong_signer", "untrusted_root", "expired_certificate"]


@pytest.mark.parametrize("fault", FAULTS)
def test_each_oneshot_signing_fault_is_detected(
    fault: str, oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    set_faults(oneshot_simulator, **{fault: True})
    [status] = validate(oneshot_simulator, oneshot_sign(oneshot_client, oneshot_simulator, make_pdf("Contrato")))
    check_fault(fault, status, expected_name="Ana García López")
    if fault == "wrong_signer":
        assert subject(status)["serial_number"] == WRONG_PERSON.serial_number


@pytest.mark.parametrize("fault", FAULTS)
def test_each_zapsign_signing_fault_is_detected(
    fault: str, zapsign_client: ZapSignClient, zapsign_simulator: ZapSignSimulator
) -> None:
    set_faults(zapsign_simulator, **{fault: True})
    [status] = validate(zapsign_simulator, zapsign_sign(zapsign_client, zapsign_simulator))
    check_fault(fault, status, expected_name=PLATFORM_NAME)


def test_a_tampered_file_breaks_every_earlier_signature_too(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    first = oneshot_sign(oneshot_client, oneshot_simulator, make_pdf("Contrato"))
    set_faults(oneshot_simulator, tamper=True)
    second = oneshot_sign(oneshot_client, oneshot_simulator, first, mobile_phone_number="+34600000002")
    assert len(second) > len(first)
    assert sum(a != b for a, b in zip(first, second, strict=False)) == 1  # one byte, inside the signed range
    assert [status.intact for status in validate(oneshot_simulator, second)] == [False, False]


def test_signing_faults_are_read_validated_and_cleared_by_reset(oneshot_simulator: OneShotSimulator) -> None:
    url = f"{oneshot_simulator.base_url}/_sim/signing-faults"
    assert requests.get(url, timeout=5).json() == dict.fromkeys(FAULTS, False)
    assert requests.post(url, json={"tampered": True}, timeout=5).status_code == 400
    assert requests.post(url, json={"tamper": "yes"}, timeout=5).status_code == 400
    set_faults(oneshot_simulator, tamper=True, expired_certificate=True)
    assert requests.post(f"{oneshot_simulator.base_url}/_sim/reset", timeout=5).status_code == 200
    assert requests.get(url, timeout=5).json() == dict.fromkeys(FAULTS, False)
    set_faults(oneshot_simulator, wrong_signer=True)
    assert requests.post(url, json={}, timeout=5).json() == dict.fromkeys(FAULTS, False)


def test_the_test_tsa_answers_rfc_3161_requests_over_http(zapsign_simulator: ZapSignSimulator) -> None:
    stamper = HTTPTimeStamper(f"{zapsign_simulator.base_url}/_sim/tsa")
    token = asyncio.run(stamper.async_timestamp(hashlib.sha256(b"archive").digest(), "sha256"))
    content = token["content"]
    assert token["content_type"].native == "signed_data"
    assert content["encap_content_info"]["content"].parsed["message_imprint"]["hashed_message"].native == (
        hashlib.sha256(b"archive").digest()
    )
    bad = requests.post(f"{zapsign_simulator.base_url}/_sim/tsa", data=b"not DER", timeout=5)
    assert bad.status_code == 400
