"""ZapSign's webhooks through the gateway: secret checked, unknown events tolerated, duplicates and reordering
harmless (issue "Workflows end to end")."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.e2e.conftest import E2E, WEBHOOK_SECRET

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _pending_zapsign_request(e2e: E2E, signers: int = 1) -> tuple[str, list[str], str]:
    request_id = e2e.create(e2e.body("zapsign", signers=signers))["id"]
    pending = e2e.wait_for_signer_links(request_id)
    return request_id, e2e.tokens(pending), e2e.doc_token(pending)


def test_the_webhook_is_registered_with_the_secret_header(e2e: E2E) -> None:
    (registration,) = [r for r in e2e.zapsign.registrations.values() if r.url == e2e.webhook.url]
    assert registration.url == f"{e2e.stack.api_url}/webhooks/zapsign"
    assert registration.headers == [{"name": "X-Webhook-Token", "value": WEBHOOK_SECRET}]


@pytest.mark.parametrize("secret", ["not-the-secret", None], ids=["wrong-secret", "no-secret"])
def test_a_webhook_without_the_right_secret_is_401_and_writes_nothing(e2e: E2E, secret: str | None) -> None:
    # Given a pending request and a well-formed doc_signed body for it
    request_id, _, doc_token = _pending_zapsign_request(e2e)
    body = e2e.zapsign.find_documents()[-1] | {"event_type": "doc_signed", "token": doc_token}
    e2e.stack.wait_until_idle(timeout=20)
    raw_before = e2e.keys("raw/")
    before = e2e.get(request_id)

    # When it is posted with a wrong (or no) secret
    answer = e2e.post_zapsign_webhook(body, secret)

    # Then 401, nothing stored, nothing enqueued, nothing moved
    assert answer.status_code == 401, answer.text
    assert e2e.keys("raw/") == raw_before
    assert sum(e2e.queue_depths().values()) == 0
    after = e2e.get(request_id)
    assert (after["status"], after["version"]) == (before["status"], before["version"])


def test_an_unknown_event_type_is_acknowledged_and_moves_nothing(e2e: E2E) -> None:
    # Given a pending request
    request_id, _, doc_token = _pending_zapsign_request(e2e)
    e2e.stack.wait_until_idle(timeout=20)
    before = e2e.get(request_id)
    deliveries = len(e2e.zapsign.webhooks.deliveries)

    # When ZapSign sends an event type SignBridge does not know
    assert e2e.zapsign.send_event(doc_token, "doc_teleported", {"note": "a future event"}) == 1
    e2e.zapsign.wait_for_webhooks()
    e2e.stack.wait_until_idle(timeout=20)

    # Then it was acknowledged with exactly 200 at the first attempt, and the request did not move
    (delivery,) = e2e.zapsign.webhooks.deliveries[deliveries:]
    assert delivery.statuses == [200]
    after = e2e.get(request_id)
    assert (after["status"], after["version"]) == (before["status"], before["version"])


def test_duplicated_webhooks_do_nothing_twice(e2e: E2E) -> None:
    # Given ZapSign delivers every webhook twice
    request_id, tokens, _ = _pending_zapsign_request(e2e)
    e2e.set_faults(e2e.zapsign, {"webhooks": {"duplicate_rate": 1.0}})
    creates_before = e2e.zapsign.calls["create_document"]

    # When the signer signs
    e2e.sign_at_zapsign(tokens[0])

    # Then the request completes once: one signed object version, no second document created
    done = e2e.wait(request_id, "completed")
    e2e.zapsign.wait_for_webhooks()
    e2e.stack.wait_until_idle(timeout=20)
    e2e.assert_files_verified(done)
    signed = e2e.keys(f"signed/{request_id}/")
    assert signed
    assert all(e2e.versions(key) == 1 for key in signed)
    assert e2e.zapsign.calls["create_document"] == creates_before
    final = e2e.get(request_id)
    assert final["version"] == done["version"] + _package_records_since(done, final)
    assert [(entry["from"], entry["to"]) for entry in final["timeline"]].count(("archiving", "completed")) == 1


def test_webhooks_out_of_order_still_complete(e2e: E2E) -> None:
    # Given two signers and ZapSign delivering each webhook after the next one
    request_id, tokens, _ = _pending_zapsign_request(e2e, signers=2)
    e2e.set_faults(e2e.zapsign, {"webhooks": {"reorder": True}})

    # When both sign (the final doc_signed arrives before the first signer's)
    e2e.sign_at_zapsign(tokens[0])
    e2e.sign_at_zapsign(tokens[1])
    e2e.zapsign.webhooks.flush_held()

    # Then the request completes with the signed file stored once
    done = e2e.wait(request_id, "completed")
    e2e.zapsign.wait_for_webhooks()
    e2e.stack.wait_until_idle(timeout=20)
    e2e.assert_files_verified(done)
    assert all(e2e.versions(key) == 1 for key in e2e.keys(f"signed/{request_id}/"))


def test_a_late_doc_signed_after_completion_changes_nothing(e2e: E2E) -> None:
    # Given a completed request
    request_id, tokens, doc_token = _pending_zapsign_request(e2e)
    e2e.sign_at_zapsign(tokens[0])
    done = e2e.wait(request_id, "completed")
    e2e.zapsign.wait_for_webhooks()
    e2e.stack.wait_until_idle(timeout=20)

    # When ZapSign resends doc_signed (reprocess) and it arrives late
    reprocess = requests.post(
        f"{e2e.zapsign.api_base_url}docs/{doc_token}/reprocess-doc/",
        json={"send_webhook": True},
        headers={"Authorization": f"Bearer {e2e.zapsign.api_token}"},
        timeout=10,
    )
    assert reprocess.status_code == 200, reprocess.text
    e2e.zapsign.wait_for_webhooks()
    e2e.stack.wait_until_idle(timeout=20)

    # Then nothing moved (the one write after completion is the record of its evidence package)
    after = e2e.get(request_id)
    assert (after["status"], after["version"]) == ("completed", done["version"] + _package_records_since(done, after))


def _package_records_since(before: dict[str, Any], after: dict[str, Any]) -> int:
    """How many evidence-package records `after`'s timeline has beyond `before`'s (each one write, one version): the
    worker records the package of a completed request once, whenever it is built; there must be exactly one by now."""

    def built(body: dict[str, Any]) -> int:
        return sum(1 for entry in body["timeline"] if (entry.get("detail") or "").startswith("evidence package built"))

    assert built(after) == 1
    return built(after) - built(before)
