"""Client of the Uanataca One-Shot Optimizer (New Optimizer, `/oneshot/api/v1`), on `ProviderHttp`.

Written against `contracts/oneshot.md`. What the contract confirms for the new API is relied on; what is only
legacy, inferred or guessed is *tolerated*: every reader of a response body accepts each documented shape, and
each place that depends on an unconfirmed shape says so (`# GUESS (contracts/oneshot.md §x)`).

Authentication: there is no auth header (§2). The RAO identity (`token`, or `username` + `password` + `pin`), the
billing credentials (`billing_password` Base64-encoded), `env`, `registration_authority` and `profile` travel in
the body of `create` (and of `token`).

Which calls are safe to repeat (the retry policy in `http.py` acts on this):

| call                     | upstream effect                        | idempotent |
|--------------------------|----------------------------------------|------------|
| `list_tokens`            | read                                   | yes        |
| `create_token`           | a token (a second one is refused)      | no         |
| `create_request`         | a signature request                    | no         |
| `upload_documents`       | one document per file                  | no         |
| `list_documents`         | read                                   | yes        |
| `open_contract`          | read (streamed PDF)                    | yes        |
| `send_otp`               | an SMS to the signer                   | no         |
| `sign`                   | a qualified certificate + signatures   | no         |
| `open_document`          | read (streamed PDF)                    | yes        |
| `delete_document(s)`     | deletion; 404 means already gone       | yes        |
| `upload_image`           | a stamp image (a repeat only wastes one) | yes      |

Errors: every call raises the `http.py` types (`RetryableError`, `RateLimitedError`, `PermanentError`,
`UncertainOutcomeError`), refined here by HTTP status first and the provider's text second:

| HTTP status and text                                   | error                                   |
|--------------------------------------------------------|-----------------------------------------|
| 400 / 422 (validation, limits)                         | `InvalidInputError`                     |
| 403 `Confirmation Code invalid`                        | `InvalidOtpError`                       |
| 403 `Invalid RAO Credentials` (or any "credentials")   | `InvalidCredentialsError`               |
| 404                                                    | `NotFoundError` (delete: "already gone") |
| 412 `Otp generated less than a minute ago`             | `OtpTooSoonError` (retryable, 60 s)     |
| 412 `Request already in ISSUED status`                 | `AlreadySignedError`                    |
| 412 `Invalid request status`                           | `InvalidRequestStatusError`             |
| 415                                                    | `UnsupportedFileTypeError`              |
| 500 `Billing credentials not valid...`                 | `InvalidCredentialsError`               |
| 500 `{"<field>": ["This field is required"]}`          | `InvalidInputError`                     |
| other 5xx on a non-idempotent call                     | `UncertainOutcomeError` (from http.py)  |
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr

from signbridge.domain.credentials import OneShotCredentials
from signbridge.domain.files import FileStream
from signbridge.domain.oneshot import (
    DEFAULT_MAX_FILE_BYTES,
    MAX_FILES_PER_UPLOAD,
    OTP_INTERVAL_SECONDS,
    PROVIDER,
    STREAM_CHUNK_BYTES,
    AlreadySignedError,
    CreatedRequest,
    DocumentInfo,
    DocumentType,
    Environment,
    FilePart,
    IdEvidence,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidOtpError,
    InvalidRequestStatusError,
    NotFoundError,
    OtpTooSoonError,
    SignatureAppearance,
    SignerIdentity,
    SignResult,
    UnsupportedFileTypeError,
    UploadedDocument,
)
from signbridge.domain.provider_errors import PermanentError, ProviderError, RetryableError, UncertainOutcomeError
from signbridge.providers.downloads import FileTooLargeError, _bounded_chunks, _content_length
from signbridge.providers.http import ProviderHttp, RetryPolicy

_UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class OneShotClient:
    """One-Shot Optimizer calls. One instance per Lambda container (it holds a pooled session)."""

    def __init__(
        self,
        base_url: str,
        credentials: OneShotCredentials,
        *,
        env: Environment = "sandbox",
        http: ProviderHttp | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        """`base_url` is the API root, e.g. `https://optimizer-developers.uanataca.com/oneshot/api/v1/`."""
        self.http = http or ProviderHttp(PROVIDER, base_url)
        if self.http.base_url != base_url.rstrip("/") + "/":
            raise ValueError(f"http is configured for {self.http.base_url}, not {base_url}")
        self.credentials = credentials
        self.env = env
        self.max_file_bytes = max_file_bytes

    def with_budget(self, *, max_attempts: int, connect_timeout: float, read_timeout: float) -> OneShotClient:
        """The same client (pooled session, credentials, observer) with another time budget and retry bound, e.g.
        the synchronous sign call's, which must answer within API Gateway's 30 s."""
        http = ProviderHttp(
            PROVIDER,
            self.http.base_url,
            session=self.http.session,
            retry=RetryPolicy(max_attempts=max_attempts),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            observer=self.http.observer,
        )
        return OneShotClient(
            self.http.base_url, self.credentials, env=self.env, http=http, max_file_bytes=self.max_file_bytes
        )

    # -- tokens -------------------------------------------------------------------------------------------------

    def list_tokens(self) -> list[str]:
        """Token uids, in the Optimizer's order. The sandbox answers its preconfigured RAO token first."""
        response = self._call("GET", "tokens", operation="list_tokens", idempotent=True)
        return parse_token_uids(_json_or_none(response))

    def create_token(self, *, username: str | None = None, password: str | None = None, pin: str | None = None) -> str:
        """`POST token` (production: once per RAO). Defaults to the credentials' username, password and pin."""
        body: dict[str, str] = {"username": username or _secret(self.credentials.username), "env": self.env}
        password = password or _secret_or_none(self.credentials.password)
        pin = pin or _secret_or_none(self.credentials.pin)
        if password:
            body["password"] = password
        if pin:
            body["pin"] = pin
        response = self._call("POST", "token", operation="create_token", idempotent=False, json=body)
        uid = parse_token_uid(_json_or_none(response))
        if uid is None:
            raise UncertainOutcomeError(PROVIDER, "create_token", "token created but no token_uid in the answer")
        return uid

    # -- requests -----------------------------------------------------------------------------------------------

    def create_request(
        self,
        identity: SignerIdentity,
        evidence: IdEvidence,
        *,
        callback_url: str | None = None,
        use_async: bool = False,
        registration_authority: str | None = None,
        profile: str | None = None,
    ) -> CreatedRequest:
        """`POST create`: a signature request for one signer, approved by the RAO in the same call.

        Not idempotent upstream: a 5xx or a lost answer raises `UncertainOutcomeError`, never a second request.
        `callback_url` makes the Optimizer POST status changes there; `use_async` also makes `sign` answer at once
        and report completion through that callback (contracts/oneshot.md §3, N7).
        """
        fields: list[tuple[str, str]] = [
            (name, value)
            for name, value in identity.model_dump(exclude_none=True).items()
            if name != "communication_language"
        ]
        authority = registration_authority or self.credentials.registration_authority
        chosen_profile = profile or self.credentials.profile
        if authority:
            fields.append(("registration_authority", authority))
        if chosen_profile:
            fields.append(("profile", chosen_profile))
        fields += self.credentials.body_fields()
        fields.append(("env", self.env))
        if identity.communication_language:
            fields.append(("communication_language", identity.communication_language))
        if use_async:
            fields.append(("useasync", "true"))
        if callback_url:
            fields.append(("callback", callback_url))
        body = MultipartBody(
            fields,
            [
                ("document_front", evidence.document_front),
                ("document_rear", evidence.document_rear),
                ("document_owner", evidence.document_owner),
            ],
            provider=PROVIDER,
            operation="create_request",
        )
        response = self._call(
            "POST",
            "create",
            operation="create_request",
            idempotent=False,
            expected=(200, 201),  # legacy answered 201; FastAPI's default is 200
            data=body,
            headers={"Content-Type": body.content_type},
        )
        answer = _json_or_none(response)
        pk = parse_request_pk(answer)
        if pk is None:
            raise UncertainOutcomeError(PROVIDER, "create_request", "request created but no pk found in the answer")
        details = _payload(answer)
        status = details.get("status") if isinstance(details, dict) else None
        async_mode = details.get("asyncmode") if isinstance(details, dict) else None
        return CreatedRequest(
            pk=pk,
            status=status if isinstance(status, str) else None,
            async_mode=async_mode if isinstance(async_mode, bool) else None,
            message=_text_of(answer),
        )

    @contextmanager
    def open_contract(self, pk: int) -> Iterator[FileStream]:
        """`GET contract/{pk}`: the service contract PDF the signer must see with the documents, streamed."""
        with self._open_stream(f"contract/{pk}", operation="get_contract") as stream:
            yield stream

    def send_otp(self, pk: int) -> None:
        """`POST otp/{pk}`: the Optimizer texts a code to the request's phone. Not idempotent: it sends an SMS.

        Raises `OtpTooSoonError` within a minute of the previous one and `InvalidRequestStatusError` when the
        request cannot take an OTP (already signed).
        """
        # GUESS (contracts/oneshot.md §5.4): the new success body was not seen; nothing in it is used.
        self._call("POST", f"otp/{pk}", operation="send_otp", idempotent=False)

    def sign(
        self,
        pk: int,
        otp: str,
        *,
        appearance: SignatureAppearance | None = None,
        external_unlock: tuple[str, str] | None = None,
    ) -> SignResult:
        """`POST sign/{pk}`: issue the one-shot certificate and sign every uploaded document.

        Not idempotent. `InvalidOtpError` for a wrong code (the signer may try again), `AlreadySignedError` when the
        request is already `ISSUED`. `external_unlock` is `(ext_unlock_type, ext_unlock_value)`.
        """
        body: dict[str, Any] = {"secret": otp}
        if appearance is not None:
            # CONFIRMED-NEW body (contracts/oneshot.md §5.5); whether it is global or per document is unknown.
            body["signature"] = {"appearance": appearance.to_json()}
        if external_unlock is not None:
            body["ext_unlock_type"], body["ext_unlock_value"] = external_unlock
        response = self._call("POST", f"sign/{pk}", operation="sign", idempotent=False, json=body)
        answer = _json_or_none(response)
        message = _text_of(answer)
        details = _payload(answer)
        flag = details.get("asyncmode") if isinstance(details, dict) else None
        # INFERENCE (contracts/oneshot.md §3, N7): the async answer is only known by its message.
        async_mode = flag if isinstance(flag, bool) else "going to be signed" in message.lower()
        return SignResult(async_mode=async_mode, message=message)

    # -- documents ----------------------------------------------------------------------------------------------

    def upload_documents(self, pk: int, files: Sequence[FilePart]) -> list[UploadedDocument]:
        """`POST document/{pk}`: upload PDFs, at most 10 per call (contracts/oneshot.md §6.4), in as many calls
        as needed. Returns one `UploadedDocument` per file, in the order given.

        Not idempotent (a repeat adds the documents twice). If a later batch fails, the earlier batches stay
        uploaded: `list_documents` shows them.
        """
        uploaded: list[UploadedDocument] = []
        for start in range(0, len(files), MAX_FILES_PER_UPLOAD):
            batch = files[start : start + MAX_FILES_PER_UPLOAD]
            # INFERENCE (contracts/oneshot.md §5.7): field names restart at `file` in every call.
            names = ["file" if index == 0 else f"file{index + 1}" for index in range(len(batch))]
            body = MultipartBody([], list(zip(names, batch, strict=True)), provider=PROVIDER, operation="upload")
            response = self._call(
                "POST",
                f"document/{pk}",
                operation="upload_documents",
                idempotent=False,
                expected=(200, 201),
                data=body,
                headers={"Content-Type": body.content_type},
            )
            uids = parse_uploaded_uids(_json_or_none(response), names)
            if uids is None:
                raise UncertainOutcomeError(
                    PROVIDER, "upload_documents", f"documents uploaded but their uids are not in the answer (pk {pk})"
                )
            uploaded += [
                UploadedDocument(uid=uid, field_name=name, filename=part.filename)
                for uid, name, part in zip(uids, names, batch, strict=True)
            ]
        return uploaded

    def upload_document(self, pk: int, file: FilePart) -> UploadedDocument:
        return self.upload_documents(pk, [file])[0]

    def list_documents(self, pk: int) -> list[DocumentInfo]:
        """`GET documents/{pk}`. An empty list when the request has none (legacy answered 404 for that)."""
        try:
            response = self._call("GET", f"documents/{pk}", operation="list_documents", idempotent=True)
        except NotFoundError as error:
            if "no documents" in error.message.lower():  # LEGACY (contracts/oneshot.md §5.7)
                return []
            raise
        return parse_document_list(_json_or_none(response))

    @contextmanager
    def open_document(self, pk: int, uid: str, document_type: DocumentType = "original") -> Iterator[FileStream]:
        """`GET document/{pk}/{uid}?document_type=...`, streamed. A signed version that does not exist yet (the
        sign has not finished) is `NotFoundError`: polling this is the fallback for a lost callback (§6.3)."""
        with self._open_stream(
            f"document/{pk}/{uid}", operation="get_document", params={"document_type": document_type}
        ) as stream:
            yield stream

    def delete_document(self, pk: int, uid: str) -> bool:
        """`DELETE document/{pk}/{uid}`. True if deleted now, False if it was already gone (404)."""
        return self._delete(f"document/{pk}/{uid}", operation="delete_document")

    def delete_all_documents(self, pk: int) -> bool:
        """`DELETE document/{pk}`. True if deleted now, False if there was nothing (404: no documents, no request)."""
        return self._delete(f"document/{pk}", operation="delete_all_documents")

    # -- images -------------------------------------------------------------------------------------------------

    def upload_image(self, image: FilePart) -> str:
        """`POST image` (a PNG signature stamp). Returns the `image_uid` to use in `SignatureAppearance.image`."""
        body = MultipartBody([], [("image", image)], provider=PROVIDER, operation="upload_image")
        # Repeatable: a retry after a lost answer at worst leaves one unused image on the Optimizer.
        response = self._call(
            "POST",
            "image",
            operation="upload_image",
            idempotent=True,
            expected=(200, 201),
            data=body,
            headers={"Content-Type": body.content_type},
        )
        uid = parse_image_uid(_json_or_none(response))
        if uid is None:
            raise UncertainOutcomeError(PROVIDER, "upload_image", "image uploaded but no image_uid in the answer")
        return uid

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        idempotent: bool,
        expected: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> requests.Response:
        try:
            return self.http.request(
                method, path, operation=operation, idempotent=idempotent, expected=expected, **kwargs
            )
        except ProviderError as error:
            refined = classify_error(error)
            if refined is error:
                raise
            raise refined from error

    def _delete(self, path: str, *, operation: str) -> bool:
        try:
            self._call("DELETE", path, operation=operation, idempotent=True)
        except NotFoundError:
            return False  # already gone: the goal of a delete is reached
        return True

    @contextmanager
    def _open_stream(self, path: str, *, operation: str, **kwargs: Any) -> Iterator[FileStream]:
        # The Optimizer's own API at the configured base URL, so no download allowlist (that is for URLs found in
        # payloads), but the same bounded, chunked read as `downloads.open_file_stream`.
        response = self._call("GET", path, operation=operation, idempotent=True, stream=True, **kwargs)
        try:
            declared = _content_length(response)
            if declared is not None and declared > self.max_file_bytes:
                raise FileTooLargeError(
                    PROVIDER, operation, f"declared size {declared} bytes exceeds the {self.max_file_bytes}-byte cap"
                )
            yield FileStream(
                url_host=_host(response.url),
                content_length=declared,
                content_type=response.headers.get("Content-Type"),
                chunks=_bounded_chunks(response, self.max_file_bytes, STREAM_CHUNK_BYTES, PROVIDER, operation),
            )
        finally:
            response.close()


# Status and a fragment of the provider's text (lower case) -> the error; the first match wins.
_TEXT_RULES: tuple[tuple[int, str, type[PermanentError]], ...] = (
    (403, "confirmation code", InvalidOtpError),
    (403, "credential", InvalidCredentialsError),
    (412, "issued status", AlreadySignedError),
    (412, "invalid request status", InvalidRequestStatusError),
    # LEGACY (contracts/oneshot.md §5.3): the old Optimizer answered configuration and field-validation problems
    # with 500. INFERENCE: these texts mean nothing was created, so the outcome is not "uncertain".
    (500, "billing credentials not valid", InvalidCredentialsError),
    (500, "this field is required", InvalidInputError),
)
_STATUS_RULES: dict[int, type[PermanentError]] = {
    400: InvalidInputError,
    422: InvalidInputError,
    404: NotFoundError,
    415: UnsupportedFileTypeError,
}


def classify_error(error: ProviderError) -> ProviderError:
    """The One-Shot-specific error for a failed call: HTTP status first, then the provider's text (module table)."""
    status, text = error.status, error.message.lower()
    args = (error.provider, error.operation, error.message)
    if status == 412 and "less than a minute" in text:
        return OtpTooSoonError(*args, status=status, raw_body=error.raw_body, retry_after=OTP_INTERVAL_SECONDS)
    for rule_status, fragment, refined in _TEXT_RULES:
        if status == rule_status and fragment in text:
            return refined(*args, status=status, raw_body=error.raw_body)
    if isinstance(error, PermanentError) and status in _STATUS_RULES:
        return _STATUS_RULES[status](*args, status=status, raw_body=error.raw_body)
    return error


# -- multipart ----------------------------------------------------------------------------------------------------


class MultipartBody:
    """A `multipart/form-data` body produced in chunks, so a file part is never read into memory whole.

    `requests` sends an iterable body as it is produced: with a `Content-Length` when every part's size is known
    (`__len__`), chunked otherwise. Each iteration starts from the beginning again, rewinding seekable streams, so
    the retry policy can resend it; a stream that cannot be rewound makes a resend fail with `RetryableError` (the
    caller's next attempt opens the stream again).
    """

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        files: Sequence[tuple[str, FilePart]],
        *,
        provider: str,
        operation: str,
        boundary: str | None = None,
    ) -> None:
        self.boundary = boundary or f"SignBridge{secrets.token_hex(16)}"
        self.fields = list(fields)
        self.files = list(files)
        self.provider = provider
        self.operation = operation
        self._starts: dict[int, int | None] = {id(part): _start_of(part) for _, part in self.files}
        self._iterations = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __bool__(self) -> bool:
        return True  # `__len__` may be 0 (size unknown); the body is never "empty"

    def __len__(self) -> int:
        """The body's size in bytes, or 0 when a part's size is unknown (then `requests` sends it chunked)."""
        total = len(self._closing())
        for name, value in self.fields:
            total += len(self._field_head(name)) + len(value.encode("utf-8")) + 2
        for name, part in self.files:
            size = _size_of(part, self._starts[id(part)])
            if size is None:
                return 0
            total += len(self._file_head(name, part)) + size + 2
        return total

    def __iter__(self) -> Iterator[bytes]:
        self._iterations += 1
        for name, value in self.fields:
            yield self._field_head(name) + value.encode("utf-8") + b"\r\n"
        for name, part in self.files:
            yield self._file_head(name, part)
            yield from self._content(part)
            yield b"\r\n"
        yield self._closing()

    def _content(self, part: FilePart) -> Iterator[bytes]:
        if isinstance(part.content, bytes):
            for offset in range(0, len(part.content), STREAM_CHUNK_BYTES):
                yield part.content[offset : offset + STREAM_CHUNK_BYTES]
            return
        stream = part.content
        start = self._starts[id(part)]
        if self._iterations > 1:
            if start is None:
                raise RetryableError(
                    self.provider, self.operation, f"cannot resend {part.filename!r}: its stream cannot be rewound"
                )
            stream.seek(start)
        while chunk := stream.read(STREAM_CHUNK_BYTES):
            yield chunk

    def _field_head(self, name: str) -> bytes:
        return f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()

    def _file_head(self, name: str, part: FilePart) -> bytes:
        return (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quote(name)}"; filename="{_quote(part.filename)}"\r\n'
            f"Content-Type: {_quote(part.content_type)}\r\n\r\n"
        ).encode()

    def _closing(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()


def _start_of(part: FilePart) -> int | None:
    """Where a stream part starts, if it can be rewound there."""
    if isinstance(part.content, bytes):
        return 0
    try:
        return part.content.tell() if part.content.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


def _size_of(part: FilePart, start: int | None) -> int | None:
    if isinstance(part.content, bytes):
        return len(part.content)
    if part.size is not None:
        return part.size
    if start is None:
        return None
    stream = part.content
    end = stream.seek(0, 2)
    stream.seek(start)
    return end - start


def _quote(value: str) -> str:
    """A header parameter value: quotes percent-encoded, line breaks dropped (as browsers do, WHATWG HTML)."""
    return value.replace("\r", "").replace("\n", "").replace('"', "%22")


# -- response readers (each accepts every shape the contract lists) ---------------------------------------------


def parse_request_pk(body: object) -> int | None:
    """The request pk of a `create` answer, in the contract's order (§5.3): `details.pk`, `detail.pk`, `pk`,
    the legacy integer `details`, then "pk N" in the message."""
    if not isinstance(body, dict):
        return None
    # GUESS (contracts/oneshot.md §5.3): the new shape is unconfirmed, hence every candidate.
    for key in ("details", "detail"):
        inner = body.get(key)
        if isinstance(inner, dict) and _as_int(inner.get("pk")) is not None:
            return _as_int(inner.get("pk"))
    if _as_int(body.get("pk")) is not None:
        return _as_int(body.get("pk"))
    legacy = _as_int(body.get("details"))  # LEGACY: {"status":"201 Created","details":29571}
    if legacy is not None:
        return legacy
    match = re.search(r"\bpk\s*:?\s*(\d+)", _text_of(body), flags=re.IGNORECASE)
    return int(match.group(1)) if match else None


def parse_uploaded_uids(body: object, field_names: Sequence[str]) -> list[str] | None:
    """The uid of each uploaded file, in the order of `field_names`, from any documented answer (§5.7):

    - new, one file: `{"status":"success","detail":{"name":"file","uid":"..."}}`
    - GUESS, several files: a list of `{"name","uid"}` under `detail`
    - legacy, several files: `{"details":[{"uid","key":"file2","filename"}...]}` (any order)
    - legacy, one file: `{"details":"<uid>"}`
    """
    if not isinstance(body, dict):
        return None
    payload = _payload(body)
    if isinstance(payload, str) and len(field_names) == 1 and payload.strip():
        return [payload.strip()]
    entries = [payload] if isinstance(payload, dict) else payload if isinstance(payload, list) else []
    found: list[tuple[str | None, str]] = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("uid"), str) and entry["uid"]:
            name = entry.get("name") or entry.get("key")
            found.append((name if isinstance(name, str) else None, entry["uid"]))
        elif isinstance(entry, str) and entry:
            found.append((None, entry))
    if len(found) != len(field_names):
        return None
    by_name = {name: uid for name, uid in found if name is not None}
    if all(name in by_name for name in field_names):
        return [by_name[name] for name in field_names]
    # INFERENCE: without usable names, the answer lists the files in the order they were sent.
    return [uid for _, uid in found]


def parse_token_uids(body: object) -> list[str]:
    """Token uids from `GET tokens`: the keys of `details` or `detail` (GUESS for the new shape, §5.2)."""
    payload = _payload(body)
    if isinstance(payload, dict):
        return [str(key) for key in payload]
    if isinstance(payload, list):  # tolerate a list of uids or of {"token_uid"|"uid": ...}
        uids = [item.get("token_uid") or item.get("uid") if isinstance(item, dict) else item for item in payload]
        return [str(uid) for uid in uids if isinstance(uid, str) and uid]
    return []


def parse_token_uid(body: object) -> str | None:
    """`POST token`: `details.token_uid` (new, §5.2), or the legacy `details` string."""
    return _uid_from(body, "token_uid")


def parse_image_uid(body: object) -> str | None:
    """`POST image`: `details.image_uid` (new, §5.8), `detail.image_uid`, the uid in the message, legacy string."""
    return _uid_from(body, "image_uid")


def parse_document_list(body: object) -> list[DocumentInfo]:
    """`GET documents/{pk}`: `detail` (new) or `details` (legacy) keyed by uid (§5.7)."""
    payload = _payload(body)
    if not isinstance(payload, dict):
        return []
    documents = []
    for uid, value in payload.items():
        info = value if isinstance(value, dict) else {}
        filename = info.get("filename")
        size = _as_int(info.get("size"))
        documents.append(
            DocumentInfo(uid=str(uid), filename=filename if isinstance(filename, str) else None, size=size)
        )
    return documents


def _uid_from(body: object, key: str) -> str | None:
    if not isinstance(body, dict):
        return None
    for container in ("details", "detail"):
        inner = body.get(container)
        if isinstance(inner, dict) and isinstance(inner.get(key), str) and inner[key]:
            return str(inner[key])
    if isinstance(body.get(key), str) and body[key]:
        return str(body[key])
    legacy = body.get("details")
    if isinstance(legacy, str) and re.fullmatch(_UUID, legacy.strip()):
        return legacy.strip()
    match = re.search(_UUID, _text_of(body))
    return match.group(0) if match else None


def _payload(body: object) -> Any:
    """The payload of an envelope: `details` or `detail`, whichever the endpoint uses (§5.1)."""
    if not isinstance(body, dict):
        return None
    for key in ("details", "detail"):
        if body.get(key) not in (None, "", [], {}):
            return body[key]
    return body.get("details", body.get("detail"))


def _text_of(body: object) -> str:
    """The human message of a success envelope: `message`, `messsage` (sic, §5.1) or a string `details`."""
    if not isinstance(body, dict):
        return ""
    for key in ("message", "messsage", "details", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _json_or_none(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _secret_or_none(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
