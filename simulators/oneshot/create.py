"""`POST create`: a signature request from a multipart form,
validated as the Optimizer does (RAO, billing, ID images)."""

from __future__ import annotations

import base64
import binascii
import secrets

from werkzeug.wrappers import Request, Response

from simulators.base import json_response
from simulators.oneshot.callbacks import Callbacks
from simulators.oneshot.model import (
    _SECRET_FIELDS,
    EMAIL_PATTERN,
    ID_DOCUMENT_TYPES,
    ID_IMAGE_FIELDS,
    PHONE_PATTERN,
    REQUIRED_FIELDS,
    SANDBOX_RAO_PASSWORD,
    SANDBOX_RAO_PIN,
    SANDBOX_RAO_USERNAME,
    SimRequest,
)
from simulators.oneshot.responses import bad_request, forbidden, is_true, server_error, sniff_mime, unsupported


class CreateRequest(Callbacks):
    def _create(self, request: Request) -> Response:  # noqa: PLR0911 - a validation chain: one early answer per documented error
        form = request.form
        values = {key: form.get(key, "").strip() for key in form}
        env = values.get("env", "")
        if not env:
            return bad_request("Missing env parameter")
        if env not in self.environments:
            return bad_request("The specified environment is not available")
        for name in REQUIRED_FIELDS:
            if not values.get(name):
                return bad_request(f"Missing parameter: {name} required")
        if not PHONE_PATTERN.match(values["mobile_phone_number"]):
            return bad_request("Please use the mobile phone number with an international prefix")
        if not EMAIL_PATTERN.match(values["email"]):
            return bad_request("Enter a valid email address")
        values["id_document_type"] = values.get("id_document_type") or "IDC"  # legacy default (§5.3)
        if values["id_document_type"] not in ID_DOCUMENT_TYPES:
            return bad_request(
                "The id_document_type specified is not valid. Valid options are " + ", ".join(ID_DOCUMENT_TYPES)
            )
        values["id_document_country"] = values.get("id_document_country") or "ES"
        registration_authority = values.get("registration_authority") or ""
        profile = values.get("profile") or ""
        if not registration_authority:
            return bad_request("Missing parameter: registration_authority required")
        if not profile:
            return bad_request("Missing parameter: profile required")
        refusal = self._check_rao(values)
        if refusal is not None:
            return refusal
        refusal = self._check_billing(values)
        if refusal is not None:
            return refusal
        refusal = self._check_id_images(request)
        if refusal is not None:
            return refusal
        async_mode = is_true(values.get("useasync"))
        callback = values.get("callback") or None

        with self.lock:
            pk = self._next_pk
            self._next_pk += 1
            sim_request = SimRequest(
                pk=pk,
                fields={key: value for key, value in values.items() if key not in _SECRET_FIELDS},
                status="CREATED",
                registration_authority=registration_authority,
                profile=profile,
                scratchcard=str(secrets.randbelow(9_000_000) + 1_000_000),
                async_mode=async_mode,
                callback=callback,
                created_at=self.now(),
            )
            self.requests[pk] = sim_request
            # INFERENCE (docs/providers/oneshot.md §6.1): create also approves with the RAO credentials.
            self._change_status(sim_request, "REQUEST_CREATED", "CREATED")
            self._change_status(sim_request, "REQUEST_APPROVED", "ENROLLREADY")
        # GUESS (docs/providers/oneshot.md §5.3): the new create response is only partly known; this is the contract's
        # placeholder (pk under details, status, asyncmode).
        return json_response(
            {
                "status": "success",
                "message": f"Request created with pk {pk}",
                "details": {"pk": pk, "status": "ENROLLREADY", "asyncmode": async_mode},
            }
        )

    def _check_rao(self, values: dict[str, str]) -> Response | None:
        token_uid = values.get("token")
        username, password, pin = values.get("username"), values.get("password"), values.get("pin")
        with self.lock:
            if token_uid:
                token = self.tokens.get(token_uid)
                if token is None:
                    return forbidden("Invalid RAO Credentials")
                password = token.password or password
                pin = token.pin or pin
                username = token.username
        if not (username and password and pin):
            return bad_request("Missing required parameters: incomplete RAO's credentials")
        if (username, password, pin) != (SANDBOX_RAO_USERNAME, SANDBOX_RAO_PASSWORD, SANDBOX_RAO_PIN):
            return forbidden("Invalid RAO Credentials")
        return None

    def _check_billing(self, values: dict[str, str]) -> Response | None:
        username, encoded = values.get("billing_username"), values.get("billing_password")
        if not username or not encoded:
            # GUESS (docs/providers/oneshot.md §5.3): legacy answered field-validation dicts with 500; the exact
            # answer to missing billing credentials is unknown.
            missing = "billing_username" if not username else "billing_password"
            return server_error({missing: ["This field is required"]})
        try:
            password = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return server_error("Billing credentials not valid. Please check if they are base64 encoded")
        if self.billing_accounts is not None and self.billing_accounts.get(username) != password:
            return server_error("Billing credentials not valid. Please check if they are base64 encoded")
        return None

    def _check_id_images(self, request: Request) -> Response | None:
        for name in ID_IMAGE_FIELDS:
            image = request.files.get(name)
            if image is None:
                return bad_request("Error occured during request approval: Missing required docs")
            mime = sniff_mime(image.stream.read(16))
            image.stream.seek(0)
            if mime not in ("image/jpeg", "image/png"):
                # GUESS (docs/providers/oneshot.md §5.8): the legacy images text, reused for ID images.
                return unsupported(f"Image file type not supported: {mime}")
        return None
