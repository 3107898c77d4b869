"""A request's status changes and the callback (webhook) each one sends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from simulators.oneshot.model import SimRequest
from simulators.oneshot.responses import certificate_time, compact_time
from simulators.oneshot.tokens import Tokens


class Callbacks(Tokens):
    def _change_status(self, found: SimRequest, event_type: str, status: str) -> None:
        """Move the request to `status` and, when it has a callback, POST the webhook (caller holds the lock)."""
        previous = found.status
        found.status = status
        if not found.callback:
            return
        now = self.now()
        certificates: list[dict[str, Any]] = []
        if status == "ISSUED" and found.certificate_serial and found.issued_at is not None:
            # The certificate the documents were signed with (simulators/signatures/pki.py; GUESS,
            # docs/providers/oneshot.md §6.2: its lifetime is undocumented, the test PKI gives it a day).
            valid_from = found.certificate_valid_from or found.issued_at
            valid_to = found.certificate_valid_to or found.issued_at + timedelta(days=1).total_seconds()
            certificates.append(
                {
                    "status": "VALID",
                    "serial_number": found.certificate_serial,
                    "valid_from": certificate_time(valid_from),
                    "valid_to": certificate_time(valid_to),
                }
            )
        registration_authority: int | str = (
            int(found.registration_authority)
            if found.registration_authority.isdigit()
            else found.registration_authority
        )
        # New payload (docs/providers/oneshot.md §6.2, N13); `previous_status` and `date` are "present when present".
        body: dict[str, Any] = {
            "event_type": event_type,
            "sent_at": compact_time(now),
            "request": {
                "status": status,
                "profile": found.profile,
                "registration_authority": registration_authority,
                "scratchcard": found.scratchcard,
                "pk": found.pk,
            },
            "certificates": certificates,
        }
        if previous != status:
            body["previous_status"] = previous
        # No auth header: the Optimizer sends none (docs/providers/oneshot.md §6.2).
        self.webhooks.send(found.callback, event_type, body, {"Content-Type": "application/json"})
