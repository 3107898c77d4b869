"""IAM fidelity end to end: with every call of every function checked against its synthesized role (`local.iam`),
a whole `zapsign_oneshot` workflow completes, and each function that ran had its calls checked."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import E2E

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_a_workflow_completes_with_every_call_checked_against_its_role(e2e: E2E) -> None:
    enforcer = e2e.stack.iam
    assert enforcer is not None
    before = enforcer.checked.copy()

    body = e2e.body("zapsign_oneshot")
    request_id = e2e.create(body)["id"]
    pending = e2e.wait_for_signer_links(request_id)
    e2e.sign_at_zapsign(e2e.tokens(pending)[0], photos=True)
    e2e.wait_for_turn(request_id, 0)
    e2e.submit_otp(request_id, 0, body["signers"][0]["phone"])
    e2e.wait(request_id, "completed")

    ran = {function for function, count in enforcer.checked.items() if count > before[function]}
    assert {"api", "zapsign_webhook", "worker"} <= ran
    assert enforcer.denials == []
    assert enforcer.presign_denials == []
