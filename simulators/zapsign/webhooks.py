"""The webhook emitter: each event sent to the matching registrations through the base `WebhookDispatcher` (§4)."""

from __future__ import annotations

import time
from typing import Any

from simulators.zapsign.model import SimDocument
from simulators.zapsign.serializers import Serializers


class WebhookEmitter(Serializers):
    def _emit(
        self,
        event_type: str,
        document: SimDocument | None,
        extra: dict[str, Any] | None = None,
        *,
        body: dict[str, Any] | None = None,
        doc_token: str | None = None,
        unknown: bool = False,
    ) -> int:
        """Send `event_type` to every matching registration. Returns the number of deliveries queued."""
        if body is None:
            assert document is not None
            body = {**self._document_json(document), "event_type": event_type, **(extra or {})}
            doc_token = document.token
        sent = 0
        for registration in list(self.registrations.values()):
            if registration.matches(event_type, doc_token, unknown=unknown):
                headers = {item["name"]: item["value"] for item in registration.headers}
                self.webhooks.send(registration.url, event_type, body, headers)
                sent += 1
        return sent

    def _emit_current_state(self, document: SimDocument) -> None:
        # GUESS (docs/providers/zapsign.md §4.1 "Reprocessing"): the resent event type is not documented.
        if document.deleted:
            self._emit("doc_deleted", document)
        elif self._is_refused(document):
            self._emit("doc_refused", document)
        else:
            signed = [signer for signer in document.signers if signer.status == "signed"]
            if signed:
                last = max(signed, key=lambda signer: signer.signed_at or document.created_at)
                self._emit("doc_signed", document, {"signer_who_signed": self._signer_json(last)})
            else:
                self._emit("doc_created", document)

    def webhooks_settled(self) -> bool:
        """No delivery pending, held back or in flight (each is delivered, dropped or out of attempts)."""
        if not self.webhooks.idle():
            return False
        for delivery in list(self.webhooks.deliveries):
            in_flight = len(delivery.statuses) < delivery.attempts
            exhausted = delivery.attempts >= self.webhooks.max_attempts
            if in_flight or not (delivery.delivered or delivery.dropped or exhausted):
                return False
        return True

    def wait_for_webhooks(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.webhooks_settled():
            if time.monotonic() > deadline:
                raise TimeoutError("webhook deliveries still pending")
            time.sleep(0.02)
