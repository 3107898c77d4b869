"""Uanataca One-Shot (the Optimizer) in SignBridge's terms: its limits, the data a call takes and returns, and the
errors a call can end in. Plain data; the client that speaks HTTP is `signbridge.providers.oneshot`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from signbridge.domain.provider_errors import PermanentError, RetryableError

PROVIDER = "oneshot"
MAX_FILES_PER_UPLOAD = 10  # LEGACY (docs/providers/oneshot.md §6.4): "maximum of 10 documents at once"
OTP_INTERVAL_SECONDS = 60.0  # LEGACY (docs/providers/oneshot.md §6.4): one OTP per minute
OTP_CODE_PATTERN = r"^[0-9]{4,8}$"  # what SignBridge accepts as an SMS code (the API and the signing page)
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
STREAM_CHUNK_BYTES = 64 * 1024

Environment = Literal["sandbox", "prod"]
DocumentType = Literal["original", "signed"]
IdDocumentType = Literal["IDC", "PAS", "PNO", "TIN", "CI", "CE"]


# -- errors -------------------------------------------------------------------------------------------------------


class InvalidInputError(PermanentError):
    """The Optimizer refused the data sent (missing or malformed field, a limit such as 10 files per call)."""


class InvalidCredentialsError(PermanentError):
    """The RAO token or credentials, or the billing credentials, were refused. A configuration problem."""


class NotFoundError(PermanentError):
    """The request, document or image does not exist (or, for a signed document, does not exist yet)."""


class UnsupportedFileTypeError(PermanentError):
    """A file of a type the Optimizer does not take (documents: PDF; ID images: JPEG/PNG; stamp: PNG)."""


class InvalidOtpError(PermanentError):
    """The SMS code is wrong (or expired). The signer may try again; the request is unchanged."""


class AlreadySignedError(PermanentError):
    """The request is already `ISSUED`: it was signed once and cannot be signed again."""


class InvalidRequestStatusError(PermanentError):
    """The request is not in a status that allows the call (for example an OTP after the sign)."""


class OtpTooSoonError(RetryableError):
    """An OTP was sent less than a minute ago. `retry_after` is 60 s: the Optimizer does not say how many remain."""


# -- inputs -------------------------------------------------------------------------------------------------------


class SignerIdentity(BaseModel):
    """The signer's identity fields of `create` (docs/providers/oneshot.md §5.3). The Optimizer validates them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_name: str
    surname_1: str
    surname_2: str | None = None
    id_document_type: IdDocumentType = "IDC"
    id_document_country: str = Field(min_length=2, max_length=2)  # ISO 3166-1 alpha-2
    serial_number: str
    email: str
    mobile_phone_number: str  # with the international prefix, e.g. +34...
    communication_language: str | None = None  # two letters (legacy enum ES, PL, EN)


@dataclass(frozen=True)
class FilePart:
    """One file of a multipart body: bytes, or a binary file object read in chunks (never whole).

    `size` lets the client send a `Content-Length` for a stream that cannot tell its own length (an S3 body);
    without it such a body is sent chunked. A seekable stream is rewound if a call has to be sent again.
    """

    content: bytes | IO[bytes]
    filename: str
    content_type: str = "application/pdf"
    size: int | None = None


@dataclass(frozen=True)
class IdEvidence:
    """The three identity images of the classic flow, JPEG or PNG (docs/providers/oneshot.md §3)."""

    document_front: FilePart
    document_rear: FilePart
    document_owner: FilePart  # selfie holding the ID document below the chin


class SignatureAppearance(BaseModel):
    """`signature.appearance` of `sign` (docs/providers/oneshot.md §5.5). Field meanings are LEGACY: `position` in
    points from the bottom-left corner, `page` 0-based, `image` an uploaded image uid (see `upload_image`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: list[str] | None = None
    date: str | None = None  # legacy: a strftime format such as "%d/%m/%Y %H:%M:%S"
    timezone: str | None = None  # e.g. "Europe/Madrid"
    position: tuple[float, float, float, float] | None = None  # x1, y1, x2, y2
    page: int | None = Field(default=None, ge=0)
    image: str | None = None

    def to_json(self) -> dict[str, Any]:
        body = self.model_dump(exclude_none=True)
        if self.position is not None:
            body["position"] = ",".join(_number(value) for value in self.position)
        return body


# -- results ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedRequest:
    pk: int
    status: str | None  # GUESS (docs/providers/oneshot.md §5.3): `ENROLLREADY` when the answer says
    async_mode: bool | None
    message: str


@dataclass(frozen=True)
class UploadedDocument:
    uid: str
    field_name: str  # the multipart field it was sent in (`file`, `file2`, ...)
    filename: str


@dataclass(frozen=True)
class DocumentInfo:
    uid: str
    filename: str | None = None  # LEGACY fields; the new listing has an empty object per uid
    size: int | None = None


@dataclass(frozen=True)
class SignResult:
    async_mode: bool  # True: the documents are signed in the background and a callback reports `ISSUED`
    message: str


# -- the client ---------------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
