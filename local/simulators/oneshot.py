"""A stateful simulator of the Uanataca One-Shot Optimizer (New Optimizer, `/oneshot/api/v1`).

It follows `contracts/oneshot.md`: documented behaviour where the contract has it, the legacy Optimizer's texts and
codes where only those are known, and labelled guesses (`# GUESS (contracts/oneshot.md §x)`) where nothing is
known. The client must not depend on a guessed shape; the simulator has to answer *something*.

Provider routes (all also under the doubled prefix `/oneshot/api/v1/api/v1/...` seen in the rendered curl samples,
and with or without a trailing slash, contracts/oneshot.md §2). The endpoint name is what `/_sim/calls` counts and
what a fault plan names:

| endpoint            | route                                                   |
|---------------------|---------------------------------------------------------|
| `tokens_list`       | `GET    tokens`                                         |
| `token_create`      | `POST   token`                                          |
| `token_get`         | `GET    token/<token_uid>`                              |
| `create`            | `POST   create` (multipart)                             |
| `document_upload`   | `POST   document/<pk>` (multipart `file`, `file2`, ...) |
| `documents_delete`  | `DELETE document/<pk>`                                  |
| `document_retrieve` | `GET    document/<pk>/<uid>?document_type=original|signed` |
| `document_delete`   | `DELETE document/<pk>/<uid>`                            |
| `documents_list`    | `GET    documents/<pk>`                                 |
| `contract`          | `GET    contract/<pk>`                                  |
| `otp`               | `POST   otp/<pk>`                                       |
| `sign`              | `POST   sign/<pk>` (JSON)                               |
| `image_upload`      | `POST   image` (multipart `image`, PNG)                 |
| `image_get`         | `GET    image/<image_uid>`                              |
| `image_delete`      | `DELETE image/<image_uid>`                              |

Control routes (besides the base ones in `local/simulators/base.py`):

| route                                      | what it does                                                     |
|--------------------------------------------|------------------------------------------------------------------|
| `GET  /_sim/oneshot/otp?phone=+34...`      | the last OTP "sent" by SMS to that phone (`?pk=N` also works)     |
| `GET  /_sim/oneshot/requests/<pk>/otp`     | the last OTP sent for that request                                |
| `GET  /_sim/oneshot/requests`              | every request: pk, status, phone, documents, async mode, callback |
| `GET  /_sim/oneshot/requests/<pk>`         | one request                                                       |
| `GET  /_sim/oneshot/sms`                   | every SMS sent: phone, pk, code, sent_at                          |
| `GET  /_sim/oneshot/clock`                 | the simulator's clock (epoch seconds) and its offset              |
| `POST /_sim/oneshot/clock`                 | `{"advance_seconds": 61}` moves the clock on (OTP minute, expiry) |

Run it alone: `python -m local.simulators.oneshot --port 8701`; the API is then at
`http://127.0.0.1:8701/oneshot/api/v1/`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Request, Response

from local.simulators.base import Simulator, json_response
from local.simulators.pdf import make_pdf, stamp_pdf

API_PREFIXES = ("/oneshot/api/v1", "/oneshot/api/v1/api/v1")

# The sandbox's preconfigured RAO token, as documented (contracts/oneshot.md §2, N6).
SANDBOX_TOKEN = "3bf8d8eb-d96c-41ea-83ad-d78a7016c7da"  # noqa: S105 - the public sandbox token
# GUESS (contracts/oneshot.md §2): the sandbox RAO behind that token; any values do, these are the simulator's.
SANDBOX_RAO_USERNAME = "9001800"
SANDBOX_RAO_PASSWORD = "sandbox-rao-password"  # noqa: S105 - a simulator fixture, not a secret
SANDBOX_RAO_PIN = "123456"
DEFAULT_REGISTRATION_AUTHORITY = "139"
DEFAULT_PROFILE = "PFnubeQAFCiudadano"
FIRST_REQUEST_PK = 388141  # the contract's example pk (contracts/oneshot.md §3)

ID_DOCUMENT_TYPES = ("IDC", "PAS", "PNO", "TIN", "CI", "CE")
REQUIRED_FIELDS = ("given_name", "surname_1", "serial_number", "email", "mobile_phone_number")
ID_IMAGE_FIELDS = ("document_front", "document_rear", "document_owner")
MAX_FILES_PER_CALL = 10  # LEGACY (contracts/oneshot.md §6.4): "maximum of 10 documents at once"
OTP_INTERVAL_SECONDS = 60  # LEGACY (contracts/oneshot.md §6.4): one OTP per minute
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_PATTERN = re.compile(r"^\+\d{6,15}$")
POSITION_PATTERN = re.compile(r"^\s*-?\d+(\.\d+)?\s*(,\s*-?\d+(\.\d+)?\s*){3}$")

Clock = Callable[[], float]


# -- state --------------------------------------------------------------------------------------------------------


@dataclass
class SimToken:
    uid: str
    username: str
    password: str | None
    pin: str | None


@dataclass
class SimDocument:
    uid: str
    field_name: str
    filename: str
    original: bytes
    uploaded_at: float
    signed: bytes | None = None


@dataclass
class SimOtp:
    code: str
    sent_at: float
    phone: str


@dataclass
class SimRequest:
    pk: int
    fields: dict[str, str]
    status: str
    registration_authority: str
    profile: str
    scratchcard: str
    async_mode: bool
    callback: str | None
    created_at: float
    documents: dict[str, SimDocument] = field(default_factory=dict)
    otp: SimOtp | None = None
    contract: bytes | None = None
    signing: bool = False  # an async sign is under way
    certificate_serial: str | None = None
    issued_at: float | None = None

    @property
    def phone(self) -> str:
        return self.fields["mobile_phone_number"]

    @property
    def signer_name(self) -> str:
        parts = (self.fields.get("given_name"), self.fields.get("surname_1"), self.fields.get("surname_2"))
        return " ".join(part for part in parts if part)

    def summary(self) -> dict[str, Any]:
        return {
            "pk": self.pk,
            "status": self.status,
            "mobile_phone_number": self.phone,
            "email": self.fields.get("email"),
            "signer": self.signer_name,
            "registration_authority": self.registration_authority,
            "profile": self.profile,
            "asyncmode": self.async_mode,
            "callback": self.callback,
            "signing": self.signing,
            "documents": [
                {"uid": doc.uid, "filename": doc.filename, "signed": doc.signed is not None}
                for doc in self.documents.values()
            ],
            "otp_sent": self.otp is not None,
        }


# -- helpers ------------------------------------------------------------------------------------------------------


def legacy_error(status: int, reason: str, details: Any) -> Response:
    """The legacy error envelope `{"status": "<code> <reason>", "details": ...}`.

    LEGACY (contracts/oneshot.md §5.1, §7 item 2): the new Optimizer's error format is undocumented, so the
    simulator answers errors the way the old one did; the client branches on the HTTP status first.
    """
    return json_response({"status": f"{status} {reason}", "details": details}, status)


def bad_request(details: Any) -> Response:
    return legacy_error(400, "Bad Request", details)


def forbidden(details: Any) -> Response:
    return legacy_error(403, "Forbidden", details)


def not_found(details: Any) -> Response:
    return legacy_error(404, "Not Found", details)


def precondition_failed(details: Any) -> Response:
    return legacy_error(412, "Precondition Failed", details)


def unsupported(details: Any) -> Response:
    return legacy_error(415, "Unsupported Media Type", details)


def server_error(details: Any) -> Response:
    return legacy_error(500, "Internal Server Error", details)


def fastapi_422(location: list[str], message: str, kind: str) -> Response:
    # INFERENCE (contracts/oneshot.md §2): the New Optimizer looks like FastAPI, whose validation errors look so.
    return json_response({"detail": [{"loc": location, "msg": message, "type": kind}]}, 422)


def sniff_mime(data: bytes) -> str:
    """The type a file really is, from its first bytes (the declared content type is not trusted)."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.lstrip()[:1] in (b"{", b"["):
        return "application/json"
    return "application/octet-stream"


def compact_time(epoch: float) -> str:
    """`sent_at` format of the webhooks: `YYYYMMDDHHMMSS` (contracts/oneshot.md §6.2)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d%H%M%S")


def certificate_time(epoch: float) -> str:
    """`valid_from` / `valid_to` format in webhook certificates: `YYYYMMDD HH:MM:SS` (contracts/oneshot.md §6.2)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d %H:%M:%S")


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes", "on")


# -- the simulator ------------------------------------------------------------------------------------------------


class OneShotSimulator(Simulator):
    """The One-Shot Optimizer, in memory. See the module docstring for routes and control routes."""

    name = "oneshot"

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        clock: Clock = time.time,
        max_documents_per_request: int = 20,
        otp_validity_seconds: float = 600.0,
        async_sign_delay_seconds: float = 0.05,
        environments: tuple[str, ...] = ("sandbox",),
        billing_accounts: dict[str, str] | None = None,
    ) -> None:
        """
        clock: epoch seconds; `POST /_sim/oneshot/clock` (or `advance_clock`) adds an offset to it.
        max_documents_per_request: GUESS (contracts/oneshot.md §6.4): the per-request maximum exists, its value
            is unknown.
        otp_validity_seconds: GUESS (contracts/oneshot.md §7 item 11): the OTP validity is undocumented.
        async_sign_delay_seconds: how long an async sign takes before the `REQUEST_ENROLLED` callback.
        environments: the `env` values this Optimizer serves (the public test Optimizer: sandbox).
        billing_accounts: username -> plain password. When None, any billing user with a Base64 password is
            accepted (the simulator cannot know real billing accounts).
        """
        super().__init__(port=port, host=host)
        self._clock = clock
        self._clock_offset = 0.0
        self.max_documents_per_request = max_documents_per_request
        self.otp_validity_seconds = otp_validity_seconds
        self.async_sign_delay_seconds = async_sign_delay_seconds
        self.environments = environments
        self.billing_accounts = billing_accounts
        self.tokens: dict[str, SimToken] = {}
        self.requests: dict[int, SimRequest] = {}
        self.images: dict[str, bytes] = {}
        self.sms: list[dict[str, Any]] = []
        self._next_pk = FIRST_REQUEST_PK
        self._timers: list[threading.Timer] = []
        self.reset_state()

        for prefix in API_PREFIXES:
            self.route(f"{prefix}/tokens", "tokens_list", ["GET"], self._tokens_list)
            self.route(f"{prefix}/token", "token_create", ["POST"], self._token_create)
            self.route(f"{prefix}/token/<token_uid>", "token_get", ["GET"], self._token_get)
            self.route(f"{prefix}/create", "create", ["POST"], self._create)
            self.route(f"{prefix}/document/<pk>", "document_upload", ["POST"], self._document_upload)
            self.route(f"{prefix}/document/<pk>", "documents_delete", ["DELETE"], self._documents_delete)
            self.route(f"{prefix}/document/<pk>/<uid>", "document_retrieve", ["GET"], self._document_retrieve)
            self.route(f"{prefix}/document/<pk>/<uid>", "document_delete", ["DELETE"], self._document_delete)
            self.route(f"{prefix}/documents/<pk>", "documents_list", ["GET"], self._documents_list)
            self.route(f"{prefix}/contract/<pk>", "contract", ["GET"], self._contract)
            self.route(f"{prefix}/otp/<pk>", "otp", ["POST"], self._otp)
            self.route(f"{prefix}/sign/<pk>", "sign", ["POST"], self._sign)
            self.route(f"{prefix}/image", "image_upload", ["POST"], self._image_upload)
            self.route(f"{prefix}/image/<image_uid>", "image_get", ["GET"], self._image_get)
            self.route(f"{prefix}/image/<image_uid>", "image_delete", ["DELETE"], self._image_delete)

        self.route("/_sim/oneshot/otp", "sim_oneshot_otp", ["GET"], self._sim_otp)
        self.route("/_sim/oneshot/requests", "sim_oneshot_requests", ["GET"], self._sim_requests)
        self.route("/_sim/oneshot/requests/<pk>", "sim_oneshot_request", ["GET"], self._sim_request)
        self.route("/_sim/oneshot/requests/<pk>/otp", "sim_oneshot_request_otp", ["GET"], self._sim_request_otp)
        self.route("/_sim/oneshot/sms", "sim_oneshot_sms", ["GET"], self._sim_sms)
        self.route("/_sim/oneshot/clock", "sim_oneshot_clock", ["GET", "POST"], self._sim_clock)

    # -- lifecycle and clock --------------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The base URL a client is configured with (the canonical prefix, with a trailing slash)."""
        return f"{self.base_url}{API_PREFIXES[0]}/"

    def now(self) -> float:
        return self._clock() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self._clock_offset += seconds

    def reset_state(self) -> None:
        with self.lock:
            for timer in self._timers:
                timer.cancel()
            self._timers = []
            self._clock_offset = 0.0
            self.tokens = {
                SANDBOX_TOKEN: SimToken(SANDBOX_TOKEN, SANDBOX_RAO_USERNAME, SANDBOX_RAO_PASSWORD, SANDBOX_RAO_PIN)
            }
            self.requests = {}
            self.images = {}
            self.sms = []
            self._next_pk = FIRST_REQUEST_PK

    def stop(self) -> None:
        with self.lock:
            for timer in self._timers:
                timer.cancel()
        super().stop()

    def last_otp(self, *, pk: int | None = None, phone: str | None = None) -> str | None:
        """The last code sent by SMS for a request or to a phone (what a test reads instead of a phone)."""
        with self.lock:
            for sms in reversed(self.sms):
                if (pk is None or sms["pk"] == pk) and (phone is None or sms["phone"] == phone):
                    return str(sms["code"])
        return None

    # -- request lookup -------------------------------------------------------------------------------------------

    def _find(self, pk: str, missing: str) -> SimRequest | Response:
        """The request `pk`, or the error answer. `missing` is the legacy 404 text for this endpoint."""
        if not pk.isdigit():
            return fastapi_422(["path", "request_pk"], "Input should be a valid integer", "int_parsing")
        request = self.requests.get(int(pk))
        if request is None:
            return not_found(missing.format(pk=pk))
        return request

    # -- tokens ---------------------------------------------------------------------------------------------------

    def _tokens_list(self, request: Request) -> Response:
        with self.lock:
            # GUESS (contracts/oneshot.md §5.2): the new shape of GET /tokens was not seen; the legacy one, with
            # "status": "success", keyed by token uid. The preconfigured sandbox token comes first.
            details = {
                token.uid: {
                    "username": token.username,
                    "password": token.password is not None,
                    "pin": token.pin is not None,
                }
                for token in self.tokens.values()
            }
        return json_response({"status": "success", "details": details})

    def _token_create(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return bad_request("Could not parse JSON body")
        if not isinstance(body, dict) or not body.get("username"):
            return bad_request("Missing required parameter(s): username")
        username = str(body["username"])
        password = body.get("password")
        pin = body.get("pin")
        if username != SANDBOX_RAO_USERNAME:
            return not_found("Error getting RAO's id. Make sure the credentials are correct.")
        if (password is not None and password != SANDBOX_RAO_PASSWORD) or (pin is not None and pin != SANDBOX_RAO_PIN):
            return forbidden("Invalid RAO Credentials")
        with self.lock:
            for token in self.tokens.values():
                if token.uid != SANDBOX_TOKEN and (token.username, token.password, token.pin) == (
                    username,
                    password,
                    pin,
                ):
                    return bad_request("A token with these credentials already exist!")
            uid = str(uuid.uuid4())
            self.tokens[uid] = SimToken(uid, username, password, pin)
        # Documented shape (contracts/oneshot.md §5.2, N2).
        return json_response({"status": "success", "message": "Token created", "details": {"token_uid": uid}})

    def _token_get(self, request: Request, token_uid: str) -> Response:
        with self.lock:
            token = self.tokens.get(token_uid)
        if token is None:
            return not_found(f"Token {token_uid} not found")
        # GUESS (contracts/oneshot.md §5.2): the new body was cut off; the legacy details with "status": "success".
        details = {"username": token.username, "password": token.password is not None, "pin": token.pin is not None}
        return json_response({"status": "success", "details": details})

    # -- create ---------------------------------------------------------------------------------------------------

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
            # INFERENCE (contracts/oneshot.md §6.1): create also approves with the RAO credentials.
            self._change_status(sim_request, "REQUEST_CREATED", "CREATED")
            self._change_status(sim_request, "REQUEST_APPROVED", "ENROLLREADY")
        # GUESS (contracts/oneshot.md §5.3): the new create response is only partly known; this is the contract's
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
            # GUESS (contracts/oneshot.md §5.3): legacy answered field-validation dicts with 500; the exact
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
                # GUESS (contracts/oneshot.md §5.8): the legacy images text, reused for ID images.
                return unsupported(f"Image file type not supported: {mime}")
        return None

    # -- documents ------------------------------------------------------------------------------------------------

    def _document_upload(self, request: Request, pk: str) -> Response:  # noqa: PLR0911 - a validation chain: one early answer per documented error
        with self.lock:
            found = self._find(pk, "Cannot upload document: Request {pk} not found on disk")
        if isinstance(found, Response):
            return found
        sim_request = found
        parts: list[tuple[str, FileStorage]] = [
            (name, storage) for name, storage in request.files.items(multi=True) if name.startswith("file")
        ]
        if not parts:
            if "hashfile" in request.files:
                return bad_request("Hash signature flow is not simulated")
            return bad_request("Missing required parameter: 'file'")  # GUESS: text modelled on the images one
        if len(parts) > MAX_FILES_PER_CALL:
            # GUESS (contracts/oneshot.md §6.4): the limit is documented, the error text is not.
            return bad_request(f"Maximum of {MAX_FILES_PER_CALL} documents at once through the same call")
        files: list[tuple[str, str, bytes]] = []
        for name, storage in parts:
            data = storage.read()
            mime = sniff_mime(data)
            if mime != "application/pdf":
                return unsupported(f"Unsupported file type: {mime}")
            files.append((name, storage.filename or name, data))
        with self.lock:
            if sim_request.status == "ISSUED" or sim_request.signing:
                # GUESS (contracts/oneshot.md §6.1): a request is single-use; adding documents after the sign is
                # refused like a second sign.
                return precondition_failed(f"Request already in {sim_request.status} status")
            if len(sim_request.documents) + len(files) > self.max_documents_per_request:
                return bad_request(f"Maximum number of document reached for Request {sim_request.pk}")
            uploaded = []
            for name, filename, data in files:
                uid = str(uuid.uuid4())
                sim_request.documents[uid] = SimDocument(uid, name, filename, data, self.now())
                uploaded.append({"name": name, "uid": uid})
        if len(uploaded) == 1:
            # Documented shape (contracts/oneshot.md §5.7, N1).
            return json_response({"status": "success", "detail": uploaded[0]})
        # GUESS (contracts/oneshot.md §7 item 3): the new multi-file answer is unknown; a list under "detail".
        return json_response({"status": "success", "detail": uploaded})

    def _documents_list(self, request: Request, pk: str) -> Response:
        with self.lock:
            found = self._find(pk, "Request {pk} not found")
            if isinstance(found, Response):
                return found
            # Shape per the user's copy of the new docs (contracts/oneshot.md §5.7): the inner object is empty.
            # GUESS: an empty request answers an empty dict (legacy answered 404 "No documents found ...").
            detail: dict[str, dict[str, Any]] = {uid: {} for uid in found.documents}
        return json_response({"status": "success", "detail": detail})

    def _documents_delete(self, request: Request, pk: str) -> Response:
        with self.lock:
            found = self._find(pk, "Request {pk} not found")
            if isinstance(found, Response):
                return found
            if not found.documents:
                return not_found("No documents found for specified Request")  # LEGACY (contracts/oneshot.md §5.7)
            found.documents.clear()
        # Documented shape (contracts/oneshot.md §5.7, N1).
        return json_response({"status": "success", "message": f"Documents deleted for Request {found.pk}"})

    def _document_retrieve(self, request: Request, pk: str, uid: str) -> Response:
        document_type = request.args.get("document_type") or "original"
        if document_type not in ("original", "signed"):
            return bad_request(f"Invalid document_type {document_type}: use original or signed")  # GUESS
        with self.lock:
            found = self._find(pk, "Request {pk} not found")
            if isinstance(found, Response):
                return found
            document = found.documents.get(uid)
            data = None if document is None else document.original if document_type == "original" else document.signed
        if data is None:
            return not_found("Document not found")  # LEGACY (contracts/oneshot.md §5.7)
        # LEGACY content type (contracts/oneshot.md §7 item 5: the new one is unknown).
        return Response(data, status=200, mimetype="application/octet-stream")

    def _document_delete(self, request: Request, pk: str, uid: str) -> Response:
        with self.lock:
            found = self._find(pk, "Request {pk} not found")
            if isinstance(found, Response):
                return found
            if found.documents.pop(uid, None) is None:
                return not_found(f"Document not found with uid {uid}")  # LEGACY text, without the type
        # Shape from the seed reference (seeds/000, "Delete a document associated to a specific Request").
        return json_response({"status": "success", "message": f"Document {uid} deleted"})

    def _contract(self, request: Request, pk: str) -> Response:
        with self.lock:
            found = self._find(pk, "Request {pk} not found")
            if isinstance(found, Response):
                return found
            if found.contract is None:
                found.contract = make_pdf(
                    "Uanataca One-Shot service contract (simulated)\n"
                    f"Request {found.pk}\n"
                    f"Signer: {found.signer_name}\n"
                    f"Profile: {found.profile}\n"
                    "The signer must read this contract together with the documents before signing."
                )
            data = found.contract
        return Response(data, status=200, mimetype="application/pdf")

    # -- OTP and sign ---------------------------------------------------------------------------------------------

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
            code = f"{secrets.randbelow(1_000_000):06d}"  # 6 digits, as in the examples (contracts §5.4)
            found.otp = SimOtp(code, now, found.phone)  # GUESS: a new code replaces the previous one
            self.sms.append({"pk": found.pk, "phone": found.phone, "code": code, "sent_at": now})
        # GUESS (contracts/oneshot.md §5.4): the new OTP answer was not seen.
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
                # Message per N7 / legacy (contracts/oneshot.md §5.5); the envelope is a GUESS.
                return json_response(
                    {
                        "status": "success",
                        "message": "Your documents are going to be signed. You will receive them in a few seconds",
                    }
                )
            self._sign_documents(found)
        # GUESS (contracts/oneshot.md §5.5): the new sync answer was not seen; the legacy text.
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
            return not_found(f"Image with uid {image} not found")  # LEGACY text (contracts/oneshot.md §5.8)
        return None

    def _finish_async_sign(self, pk: int) -> None:
        with self.lock:
            found = self.requests.get(pk)
            if found is None or not found.signing:
                return
            found.signing = False
            self._sign_documents(found)

    def _sign_documents(self, found: SimRequest) -> None:
        """Issue the one-shot certificate and sign every document (caller holds the lock)."""
        label = f"One-Shot qualified signature: {found.signer_name}"
        for document in found.documents.values():
            document.signed = stamp_pdf(document.original, label)
        found.certificate_serial = secrets.token_hex(8).upper()
        found.issued_at = self.now()
        self._change_status(found, "REQUEST_ENROLLED", "ISSUED")

    # -- webhooks -------------------------------------------------------------------------------------------------

    def _change_status(self, found: SimRequest, event_type: str, status: str) -> None:
        """Move the request to `status` and, when it has a callback, POST the webhook (caller holds the lock)."""
        previous = found.status
        found.status = status
        if not found.callback:
            return
        now = self.now()
        certificates: list[dict[str, Any]] = []
        if status == "ISSUED" and found.certificate_serial and found.issued_at is not None:
            certificates.append(
                {
                    "status": "VALID",
                    "serial_number": found.certificate_serial,
                    "valid_from": certificate_time(found.issued_at),
                    # GUESS (contracts/oneshot.md §6.2): the one-shot certificate's lifetime is undocumented.
                    "valid_to": certificate_time(found.issued_at + timedelta(days=1).total_seconds()),
                }
            )
        registration_authority: int | str = (
            int(found.registration_authority)
            if found.registration_authority.isdigit()
            else found.registration_authority
        )
        # New payload (contracts/oneshot.md §6.2, N13); `previous_status` and `date` are "present when present".
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
        # No auth header: the Optimizer sends none (contracts/oneshot.md §6.2).
        self.webhooks.send(found.callback, event_type, body, {"Content-Type": "application/json"})

    # -- images ---------------------------------------------------------------------------------------------------

    def _image_upload(self, request: Request) -> Response:
        image = request.files.get("image")
        if image is None:
            return bad_request("Missing required parameter: 'image'")  # LEGACY (contracts/oneshot.md §5.8)
        data = image.read()
        mime = sniff_mime(data)
        if mime != "image/png":
            return unsupported(f"Image file type not supported: {mime}")
        uid = str(uuid.uuid4())
        with self.lock:
            self.images[uid] = data
        # Documented shape (contracts/oneshot.md §5.8, N3).
        return json_response(
            {"status": "success", "message": f"Image uploaded with uid '{uid}'", "details": {"image_uid": uid}}
        )

    def _image_get(self, request: Request, image_uid: str) -> Response:
        with self.lock:
            data = self.images.get(image_uid)
        if data is None:
            return not_found(f"Image with uid {image_uid} not found")
        return Response(data, status=200, mimetype="image/png")

    def _image_delete(self, request: Request, image_uid: str) -> Response:
        with self.lock:
            if self.images.pop(image_uid, None) is None:
                return not_found(f"Image with uid {image_uid} not found")
        # GUESS (contracts/oneshot.md §5.8): the new body was not captured.
        return json_response({"status": "success", "message": f"Image {image_uid} deleted"})

    # -- control routes -------------------------------------------------------------------------------------------

    def _sim_otp(self, request: Request) -> Response:
        phone = request.args.get("phone") or None
        pk_text = request.args.get("pk") or None
        if phone is None and pk_text is None:
            return json_response({"detail": "give ?phone=+34... or ?pk=N"}, 400)
        if pk_text is not None and not pk_text.isdigit():
            return json_response({"detail": "pk must be an integer"}, 400)
        return self._otp_answer(pk=int(pk_text) if pk_text else None, phone=phone)

    def _sim_request_otp(self, request: Request, pk: str) -> Response:
        if not pk.isdigit():
            return json_response({"detail": "pk must be an integer"}, 400)
        return self._otp_answer(pk=int(pk), phone=None)

    def _otp_answer(self, *, pk: int | None, phone: str | None) -> Response:
        with self.lock:
            for sms in reversed(self.sms):
                if (pk is None or sms["pk"] == pk) and (phone is None or sms["phone"] == phone):
                    return json_response(sms)
        return json_response({"detail": "no OTP sent"}, 404)

    def _sim_requests(self, request: Request) -> Response:
        with self.lock:
            return json_response([found.summary() for found in self.requests.values()])

    def _sim_request(self, request: Request, pk: str) -> Response:
        with self.lock:
            found = self.requests.get(int(pk)) if pk.isdigit() else None
            if found is None:
                return json_response({"detail": f"Request {pk} not found"}, 404)
            return json_response(found.summary())

    def _sim_sms(self, request: Request) -> Response:
        with self.lock:
            return json_response(list(self.sms))

    def _sim_clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = request.get_json(force=True, silent=True) or {}
            try:
                seconds = float(body.get("advance_seconds", 0))
            except (TypeError, ValueError):
                return json_response({"detail": "advance_seconds must be a number"}, 400)
            self.advance_clock(seconds)
        with self.lock:
            return json_response({"now": self.now(), "offset_seconds": self._clock_offset})


# Never kept on the request record (and so never shown by the control routes).
_SECRET_FIELDS = frozenset({"token", "username", "password", "pin", "billing_username", "billing_password"})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the One-Shot Optimizer simulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--max-documents", type=int, default=20, help="documents a request may hold")
    arguments = parser.parse_args(argv)
    simulator = OneShotSimulator(port=arguments.port, max_documents_per_request=arguments.max_documents)
    simulator.start()
    print(f"One-Shot simulator: {simulator.api_url}  (sandbox token {SANDBOX_TOKEN})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
