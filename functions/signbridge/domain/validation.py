"""Field types for client input: strict, and with messages that say what was expected.

Each type is an `Annotated[str, AfterValidator(...)]`, so the OpenAPI document still shows a string and a failed check
becomes a Pydantic error located at the field (`signers.0.phone`), with a message a person can act on. Errors are
`PydanticCustomError`s so the message reads "a phone number with its international prefix…" rather than
"Value error, …".

These types are for what *clients* send. What SignBridge reads back from its own table or from a provider is parsed
by the tolerant models in `signbridge.domain.models`, not by these.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

from signbridge.domain.countries import ISO_3166_ALPHA2
from signbridge.domain.models import Workflow

MIB: Final = 1024 * 1024
MAX_NAME_CHARS: Final = 255  # ZapSign's limit for a document name (docs/providers/zapsign.md §3.1)
MAX_ID_IMAGE_BYTES: Final = 4 * MIB
MAX_METADATA_ENTRIES: Final = 20
MAX_METADATA_KEY_CHARS: Final = 64
MAX_METADATA_VALUE_CHARS: Final = 512
MAX_EXTERNAL_ID_CHARS: Final = 128
MAX_EMAIL_CHARS: Final = 254  # RFC 5321 path limit

PDF_MAGIC: Final = b"%PDF-"
JPEG_MAGIC: Final = b"\xff\xd8\xff"
PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"

# A pragmatic address check (no DNS): a dot-atom local part, then a domain of letter/digit/hyphen labels and a
# top-level label of at least two letters. Quoted local parts and IP-literal domains are refused on purpose.
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# E.164: "+", a country code that does not start with 0, at most 15 digits in all. One-Shot wants the
# international prefix (docs/providers/oneshot.md §5.3: "Please use the mobile phone number with an international
# prefix").
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_ID_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,31}$")
_METADATA_KEY = re.compile(rf"^[A-Za-z0-9_.\-]{{1,{MAX_METADATA_KEY_CHARS}}}$")
_WHITESPACE = re.compile(r"\s+")


def _has_control_characters(value: str) -> bool:
    # Cc: C0/C1 controls (NUL, newline, tab, …); Cf: invisible format characters such as U+202E RIGHT-TO-LEFT
    # OVERRIDE, used to disguise file names ("invoice<U+202E>fdp.exe" displays as "invoiceexe.pdf").
    return any(unicodedata.category(char) in ("Cc", "Cf") for char in value)


def check_email(value: str) -> str:
    if len(value) > MAX_EMAIL_CHARS or not _EMAIL.match(value) or len(value.split("@", 1)[0]) > 64:
        raise PydanticCustomError("email", "an email address such as ana@example.com")
    return value


def check_phone_e164(value: str) -> str:
    if not _E164.match(value):
        raise PydanticCustomError(
            "phone_e164",
            "a mobile phone number with its international prefix, digits only, in E.164 form, e.g. +34600111222",
        )
    return value


def check_country_code(value: str) -> str:
    if value not in ISO_3166_ALPHA2:
        raise PydanticCustomError("country_code", "an ISO 3166-1 alpha-2 country code in capitals, e.g. ES, BR or PT")
    return value


# The code points `_has_control_characters` refuses (Unicode categories Cc and Cf) as ranges, for the JSON schema of
# a document name (tests/unit/test_validation.py checks them against unicodedata).
CONTROL_CHARACTER_RANGES: Final = (
    (0x0, 0x1F), (0x7F, 0x9F), (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F),
    (0x890, 0x891), (0x8E2, 0x8E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064),
    (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
    (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)  # fmt: skip
_REFUSED_IN_NAME: Final = "/\\\\" + "".join(
    re.escape(chr(low)) + ("-" + re.escape(chr(high)) if high > low else "") for low, high in CONTROL_CHARACTER_RANGES
)
# What `check_document_name` accepts, as the OpenAPI document states it: no separator or control character, and at
# least one character that is neither white space nor a dot.
DOCUMENT_NAME_PATTERN: Final = rf"^[^{_REFUSED_IN_NAME}]*[^{_REFUSED_IN_NAME}\s.][^{_REFUSED_IN_NAME}]*$"


def check_document_name(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("document_name", "a document name that is not blank")
    if len(value) > MAX_NAME_CHARS:
        raise PydanticCustomError(
            "document_name", "a document name of at most {max} characters", {"max": MAX_NAME_CHARS}
        )
    if "/" in value or "\\" in value or all(char.isspace() or char == "." for char in value):
        raise PydanticCustomError("document_name", "a document name without path separators (/ or \\)")
    if _has_control_characters(value):
        raise PydanticCustomError("document_name", "a document name without control or invisible format characters")
    return value


def check_person_name(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("person_name", "a name that is not blank")
    if len(value) > MAX_NAME_CHARS:
        raise PydanticCustomError("person_name", "a name of at most {max} characters", {"max": MAX_NAME_CHARS})
    if _has_control_characters(value):
        raise PydanticCustomError("person_name", "a name without control or invisible format characters")
    return value


def check_id_number(value: str) -> str:
    if not _ID_NUMBER.match(value):
        raise PydanticCustomError(
            "id_number", "an ID document number of 1 to 32 letters, digits, dots or hyphens, e.g. 12345678Z"
        )
    return value


def check_sha256_hex(value: str) -> str:
    if not _SHA256_HEX.match(value):
        raise PydanticCustomError("sha256", "a SHA-256 digest as 64 lowercase hexadecimal characters")
    return value


def check_external_id(value: str) -> str:
    if not value or len(value) > MAX_EXTERNAL_ID_CHARS or _has_control_characters(value):
        raise PydanticCustomError(
            "external_id",
            "an identifier of 1 to {max} characters without control characters",
            {"max": MAX_EXTERNAL_ID_CHARS},
        )
    return value


def check_metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_METADATA_ENTRIES:
        raise PydanticCustomError("metadata", "at most {max} metadata entries", {"max": MAX_METADATA_ENTRIES})
    for key, item in value.items():
        if not _METADATA_KEY.match(key):
            raise PydanticCustomError(
                "metadata",
                "metadata keys of 1 to {max} letters, digits, '_', '.' or '-' (got {key!r})",
                {"max": MAX_METADATA_KEY_CHARS, "key": key[:MAX_METADATA_KEY_CHARS]},
            )
        if len(item) > MAX_METADATA_VALUE_CHARS or _has_control_characters(item):
            raise PydanticCustomError(
                "metadata",
                "metadata values of at most {max} characters without control characters (key {key!r})",
                {"max": MAX_METADATA_VALUE_CHARS, "key": key},
            )
    return value


def decode_base64(value: str) -> bytes:
    """Standard base64 (RFC 4648 §4, padded); line breaks and spaces are ignored, anything else is refused."""
    try:
        return base64.b64decode(_WHITESPACE.sub("", value), validate=True)
    except (binascii.Error, ValueError) as error:
        raise PydanticCustomError("base64", "standard base64 (A-Z, a-z, 0-9, +, / and = padding)") from error


def _refuse_data_url(value: object) -> object:
    # A `data:application/pdf;base64,` prefix is the most common client mistake; say so instead of "not base64".
    if isinstance(value, str) and value[:5].lower() == "data:":
        raise PydanticCustomError("base64", "raw base64 without a 'data:…;base64,' prefix")
    return value


def check_base64_pdf(value: str) -> str:
    content = decode_base64(value)
    if not content.startswith(PDF_MAGIC):
        raise PydanticCustomError("pdf", "a PDF document (base64 of bytes starting with %PDF-)")
    return value


def id_image_media_type(content: bytes) -> str | None:
    """`image/jpeg` or `image/png` from the magic bytes; None for anything else."""
    if content.startswith(JPEG_MAGIC):
        return "image/jpeg"
    if content.startswith(PNG_MAGIC):
        return "image/png"
    return None


def check_base64_id_image(value: str) -> str:
    content = decode_base64(value)
    if id_image_media_type(content) is None:
        raise PydanticCustomError("id_image", "a JPEG or PNG image, base64-encoded")
    if len(content) > MAX_ID_IMAGE_BYTES:
        raise PydanticCustomError("id_image", "an image of at most {max} bytes", {"max": MAX_ID_IMAGE_BYTES})
    return value


Email = Annotated[str, AfterValidator(check_email)]
PhoneE164 = Annotated[str, AfterValidator(check_phone_e164)]
CountryCode = Annotated[str, AfterValidator(check_country_code)]
DocumentName = Annotated[
    str,
    AfterValidator(check_document_name),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS, "pattern": DOCUMENT_NAME_PATTERN},
        mode="validation",
    ),
]
PersonName = Annotated[str, AfterValidator(check_person_name)]
IdNumber = Annotated[str, AfterValidator(check_id_number)]
Sha256Hex = Annotated[str, AfterValidator(check_sha256_hex)]
ExternalId = Annotated[str, AfterValidator(check_external_id)]
Metadata = Annotated[dict[str, str], AfterValidator(check_metadata)]
Base64Pdf = Annotated[str, BeforeValidator(_refuse_data_url), AfterValidator(check_base64_pdf)]
Base64IdImage = Annotated[str, BeforeValidator(_refuse_data_url), AfterValidator(check_base64_id_image)]


# ------------------------------------------------------------------------------------------------ signature appearance

MAX_APPEARANCE_LINE_CHARS: Final = 120
_DATE_FORMAT = re.compile(r"^[%A-Za-z0-9 .,:;/\-]{1,64}$")
# IANA names: "UTC", "Europe/Madrid", "America/Argentina/Buenos_Aires", "Etc/GMT+3". A syntactic check on purpose:
# the Lambda image's zoneinfo database is not guaranteed, and the Optimizer is the one that must know the zone.
_TIME_ZONE = re.compile(r"^(?:UTC|[A-Z][A-Za-z_]+(?:/[A-Za-z0-9_+\-]+){1,2})$")
_IMAGE_UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,63}$")


def check_appearance_line(value: str) -> str:
    if len(value) > MAX_APPEARANCE_LINE_CHARS or _has_control_characters(value):
        raise PydanticCustomError(
            "appearance_text",
            "a line of at most {max} characters without control characters",
            {"max": MAX_APPEARANCE_LINE_CHARS},
        )
    return value


def check_date_format(value: str) -> str:
    if "%" not in value or not _DATE_FORMAT.match(value):
        raise PydanticCustomError("date_format", "a strftime pattern such as %d/%m/%Y %H:%M:%S")
    return value


def check_time_zone(value: str) -> str:
    if not _TIME_ZONE.match(value):
        raise PydanticCustomError("time_zone", "an IANA time zone name such as Europe/Madrid or UTC")
    return value


def check_image_uid(value: str) -> str:
    if not _IMAGE_UID.match(value):
        raise PydanticCustomError("image_uid", "the uid the Optimizer gave the uploaded stamp image")
    return value


AppearanceLine = Annotated[str, AfterValidator(check_appearance_line)]
DateFormat = Annotated[str, AfterValidator(check_date_format)]
TimeZoneName = Annotated[str, AfterValidator(check_time_zone)]
ImageUid = Annotated[str, AfterValidator(check_image_uid)]


def field_error(
    loc: tuple[str | int, ...], message: str, workflow: Workflow | None = None, *, kind: str = "workflow_requirement"
) -> InitErrorDetails:
    """An error located at `loc`; `kind` becomes the error `type` clients can branch on."""
    context = {"workflow": workflow.value} if workflow is not None else None
    return InitErrorDetails(type=PydanticCustomError(kind, message, context), loc=loc, input=None)
