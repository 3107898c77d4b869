"""`POST otp/<pk>` (an SMS code) and `POST sign/<pk>` (synchronous, or asynchronous with a callback)."""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any

from werkzeug.wrappers import Request, Response

from simulators.base import json_response
from simulators.oneshot.documents import Documents
from simulators.oneshot.model import OTP_INTERVAL_SECONDS, POSITION_PATTERN, SimOtp, SimRequest
from simulators.oneshot.responses import bad_request, fastapi_422, forbidden, not_found, precondition_failed
from simulators.signatures import NaturalPerson


class Signing(Documents):
    def _otp(self, request: Request, pk: str) -> Response:
        with self.lock:
            found = self._find(pk, "Request {pk} not found. Cannot send OTP secret")
            if isinstance(found, Response):
                return found
            if found.status != "ENROLLREADY" or found.signing:
                return precondition_failed("Error occured during OTP generation: Invalid request status")
            now = self.now()
            if found.otp is not None and now - found.otp.sent_at < OTP_INTERVAL_SECONDS:
                return precondition_failed("Error occured during OTP generation: Otp generated less than a minute ago")
            code = f"{secrets.randbelow(1_000_000):06d}"  # 6 digits, as in the examples
            # (docs/providers/oneshot.md §5.4)
            found.otp = SimOtp(code, now, found.phone)  # GUESS: a new code replaces the previous one
            self.sms.append({"pk": found.pk, "phone": found.phone, "code": code, "sent_at": now})
        # GUESS (docs/providers/oneshot.md §5.4): the new OTP answer was not seen.
        return json_response({"status": "success", "message": "OTP generated"})

    def _sign(self, request: Request, pk: str) -> Response:  # noqa: PLR0911 - a validation chain: one early answer per documented error
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return bad_request("Could not parse JSON body")
        if not isinstance(body, dict) or not body.get("secret"):
            return bad_request("Missing required parameter: 'secret'")
        signature = body.get("signature")
        appearance = signature.get("appearance") if isinstance(signature, dict) else None
        with self.lock:
            found = self._find(pk, "Request {pk} not found. Cannot sign documents")
            if isinstance(found, Response):
                return found
            if found.status == "ISSUED":
                return precondition_failed("Request already in ISSUED status")
            if found.signing:
                return precondition_failed("Request signature already in progress")  # GUESS
            if found.status != "ENROLLREADY":
                return precondition_failed(f"Invalid request status: {found.status}")  # GUESS
            refusal = self._check_appearance(appearance)
            if refusal is not None:
                return refusal
            otp = found.otp
            now = self.now()
            # INFERENCE: without an OTP sent, or with an expired one, no code can match.
            if otp is None or str(body["secret"]) != otp.code or now - otp.sent_at > self.otp_validity_seconds:
                return forbidden("Confirmation Code invalid")
            if not found.documents:
                return not_found("No documents found for specified Request")  # GUESS: legacy list text
            found.otp = None  # a code signs once
            if found.async_mode:
                found.signing = True
                timer = threading.Timer(self.async_sign_delay_seconds, self._finish_async_sign, args=(found.pk,))
                timer.daemon = True
                self._timers = [*(pending for pending in self._timers if pending.is_alive()), timer]
                timer.start()
                # Message per N7 / legacy (docs/providers/oneshot.md §5.5); the envelope is a GUESS.
                return json_response(
                    {
                        "status": "success",
                        "message": "Your documents are going to be signed. You will receive them in a few seconds",
                    }
                )
            self._sign_documents(found)
        # GUESS (docs/providers/oneshot.md §5.5): the new sync answer was not seen; the legacy text.
        return json_response({"status": "success", "message": "Documents correctly signed"})

    def _check_appearance(self, appearance: Any) -> Response | None:
        if appearance is None:
            return None
        if not isinstance(appearance, dict):
            return fastapi_422(["body", "signature", "appearance"], "Input should be a valid dictionary", "dict_type")
        position = appearance.get("position")
        if position is not None and not (isinstance(position, str) and POSITION_PATTERN.match(position)):
            return bad_request("Invalid position: expected 'x1,y1,x2,y2'")  # GUESS text
        page = appearance.get("page")
        if page is not None and not (isinstance(page, int) and page >= 0):
            return fastapi_422(["body", "signature", "appearance", "page"], "Input should be a valid integer", "int")
        image = appearance.get("image")
        if image and image not in self.images:
            return not_found(f"Image with uid {image} not found")  # LEGACY text (docs/providers/oneshot.md §5.8)
        return None

    def _finish_async_sign(self, pk: int) -> None:
        with self.lock:
            found = self.requests.get(pk)
            if found is None or not found.signing:
                return
            found.signing = False
            self._sign_documents(found)

    def _sign_documents(self, found: SimRequest) -> None:
        """Issue the single-use qualified certificate and sign every document with it, each as uploaded (a PDF
        another signer signed keeps its signatures: this one is an incremental update), with a PAdES signature
        and a timestamp from the test TSA; the signing faults in force apply (caller holds the lock)."""
        documents = list(found.documents.values())
        signed, credential = self.signatures.sign_as_person(
            NaturalPerson.from_oneshot_fields(found.fields),
            [document.original for document in documents],
            label=f"One-Shot qualified signature: {found.signer_name}",
        )
        for document, data in zip(documents, signed, strict=True):
            document.signed = data
        found.certificate_serial = credential.serial_hex
        found.certificate_valid_from = credential.certificate.not_valid_before_utc.timestamp()
        found.certificate_valid_to = credential.certificate.not_valid_after_utc.timestamp()
        found.issued_at = self.now()
        self._change_status(found, "REQUEST_ENROLLED", "ISSUED")
