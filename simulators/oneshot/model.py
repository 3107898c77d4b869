"""The One-Shot simulator's data: tokens, requests, documents and OTPs, and the constants of the contract."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

API_PREFIXES = ("/oneshot/api/v1", "/oneshot/api/v1/api/v1")


# The sandbox's preconfigured RAO token, as documented (docs/providers/oneshot.md §2, N6).
SANDBOX_TOKEN = "3bf8d8eb-d96c-41ea-83ad-d78a7016c7da"  # noqa: S105 - the public sandbox token


# GUESS (docs/providers/oneshot.md §2): the sandbox RAO behind that token; any values do, these are the simulator's.
SANDBOX_RAO_USERNAME = "9001800"


SANDBOX_RAO_PASSWORD = "sandbox-rao-password"  # noqa: S105 - a simulator fixture, not a secret


SANDBOX_RAO_PIN = "123456"


DEFAULT_REGISTRATION_AUTHORITY = "139"


DEFAULT_PROFILE = "PFnubeQAFCiudadano"


FIRST_REQUEST_PK = 388141  # the contract's example pk (docs/providers/oneshot.md §3)


ID_DOCUMENT_TYPES = ("IDC", "PAS", "PNO", "TIN", "CI", "CE")


REQUIRED_FIELDS = ("given_name", "surname_1", "serial_number", "email", "mobile_phone_number")


ID_IMAGE_FIELDS = ("document_front", "document_rear", "document_owner")


MAX_FILES_PER_CALL = 10  # LEGACY (docs/providers/oneshot.md §6.4): "maximum of 10 documents at once"


OTP_INTERVAL_SECONDS = 60  # LEGACY (docs/providers/oneshot.md §6.4): one OTP per minute


EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


PHONE_PATTERN = re.compile(r"^\+\d{6,15}$")


POSITION_PATTERN = re.compile(r"^\s*-?\d+(\.\d+)?\s*(,\s*-?\d+(\.\d+)?\s*){3}$")


Clock = Callable[[], float]


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
    certificate_serial: str | None = None  # the single-use certificate's serial (hex) and validity (epoch seconds)
    certificate_valid_from: float | None = None
    certificate_valid_to: float | None = None
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


# Never kept on the request record (and so never shown by the control routes).
_SECRET_FIELDS = frozenset({"token", "username", "password", "pin", "billing_username", "billing_password"})
