"""A signed file that does not pass verification stops archiving, end to end (docs/evidence.md): the simulators sign
wrongly on demand (`/_sim/signing-faults`), the worker verifies with the simulators' trust anchors, and the request
waits in `verification_failed` saying why, its report downloadable."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import E2E

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _held(e2e: E2E, request_id: str, stage: str) -> tuple[dict[str, Any], dict[str, Any]]:
    held = e2e.wait(request_id, "verification_failed")
    verification = held["documents"][0]["verifications"][stage]
    assert verification["passed"] is False
    assert stage not in held["documents"][0]["files"]  # not recorded as signed, no final file
    assert held["verification_problem"].startswith(f"document 0 ({stage}) did not pass verification: ")
    report = e2e.api.session.get(verification["report"]["url"], timeout=10)
    assert report.status_code == 200
    return held, report.json()


@pytest.mark.parametrize(
    ("fault", "indication", "sub_indication"),
    [
        ("tamper", "TOTAL-FAILED", "HASH_FAILURE"),
        ("untrusted_root", "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"),
    ],
)
def test_a_bad_zapsign_file_stops_archiving(e2e: E2E, fault: str, indication: str, sub_indication: str) -> None:
    # Given ZapSign signing wrongly
    e2e.set_signing_faults(e2e.zapsign, **{fault: True})
    created = e2e.create(e2e.body("zapsign"))
    request_id = created["id"]

    # When the signer signs
    pending = e2e.wait_for_signer_links(request_id)
    e2e.sign_at_zapsign(e2e.tokens(pending)[0])

    # Then the request waits in verification_failed with the finding, per document and signature
    held, report = _held(e2e, request_id, "zapsign")
    verification = held["documents"][0]["verifications"]["zapsign"]
    assert (verification["indication"], verification["sub_indication"]) == (indication, sub_indication)
    assert f"{indication}/{sub_indication}" in held["verification_problem"]
    assert report["signatures"][0]["indication"] == indication
    assert held["documents"][0]["status"] == "zapsign_pending"


@pytest.mark.parametrize(
    ("fault", "finding"),
    [
        ("wrong_signer", "does not name an expected signer"),
        ("expired_certificate", "INDETERMINATE/OUT_OF_BOUNDS_NO_POE"),
    ],
)
def test_a_bad_one_shot_signature_stops_archiving(e2e: E2E, fault: str, finding: str) -> None:
    # Given the Optimizer signing wrongly
    e2e.set_signing_faults(e2e.oneshot, **{fault: True})
    body = e2e.body("oneshot")
    request_id = e2e.create(body)["id"]

    # When the signer submits the code
    e2e.wait_for_turn(request_id, 0)
    e2e.submit_otp(request_id, 0, body["signers"][0]["phone"])

    # Then the request waits in verification_failed; the signature names no signer of the request or was made with
    # a certificate already expired
    held, report = _held(e2e, request_id, "oneshot-0")
    assert finding in held["verification_problem"]
    (signature,) = held["documents"][0]["verifications"]["oneshot-0"]["signatures"]
    named = None if fault == "wrong_signer" else 0
    assert signature["signer"] == named
    assert len(report["unmatched_signers"]) == (1 if fault == "wrong_signer" else 0)
    # And the personal data stays out of the problem the API shows
    assert body["signers"][0]["name"] not in held["verification_problem"]
