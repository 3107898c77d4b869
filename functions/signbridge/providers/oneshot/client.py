"""Client of the Uanataca One-Shot Optimizer (New Optimizer, `/oneshot/api/v1`), on `ProviderHttp`.

Written against `docs/providers/oneshot.md`. What the contract confirms for the new API is relied on; what is only
legacy, inferred or guessed is *tolerated*: every reader of a response body accepts each documented shape, and
each place that depends on an unconfirmed shape says so (`# GUESS (docs/providers/oneshot.md §x)`).

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

Errors are refined by `errors.classify_error`; response bodies are read by `parsers`.
"""

from __future__ import annotations

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
    PROVIDER,
    STREAM_CHUNK_BYTES,
    CreatedRequest,
    DocumentInfo,
    DocumentType,
    Environment,
    FilePart,
    IdEvidence,
    NotFoundError,
    SignatureAppearance,
    SignerIdentity,
    SignResult,
    UploadedDocument,
)
from signbridge.domain.provider_errors import ProviderError, UncertainOutcomeError
from signbridge.providers.downloads import FileTooLargeError, _bounded_chunks, _content_length
from signbridge.providers.http import ProviderHttp, RetryPolicy
from signbridge.providers.multipart import MultipartBody
from signbridge.providers.oneshot.errors import classify_error
from signbridge.providers.oneshot.parsers import (
    parse_document_list,
    parse_image_uid,
    parse_request_pk,
    parse_token_uid,
    parse_token_uids,
    parse_uploaded_uids,
    payload_of,
    text_of,
)


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
        and report completion through that callback (docs/providers/oneshot.md §3, N7).
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
        details = payload_of(answer)
        status = details.get("status") if isinstance(details, dict) else None
        async_mode = details.get("asyncmode") if isinstance(details, dict) else None
        return CreatedRequest(
            pk=pk,
            status=status if isinstance(status, str) else None,
            async_mode=async_mode if isinstance(async_mode, bool) else None,
            message=text_of(answer),
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
        # GUESS (docs/providers/oneshot.md §5.4): the new success body was not seen; nothing in it is used.
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
            # CONFIRMED-NEW body (docs/providers/oneshot.md §5.5); whether it is global or per document is unknown.
            body["signature"] = {"appearance": appearance.to_json()}
        if external_unlock is not None:
            body["ext_unlock_type"], body["ext_unlock_value"] = external_unlock
        response = self._call("POST", f"sign/{pk}", operation="sign", idempotent=False, json=body)
        answer = _json_or_none(response)
        message = text_of(answer)
        details = payload_of(answer)
        flag = details.get("asyncmode") if isinstance(details, dict) else None
        # INFERENCE (docs/providers/oneshot.md §3, N7): the async answer is only known by its message.
        async_mode = flag if isinstance(flag, bool) else "going to be signed" in message.lower()
        return SignResult(async_mode=async_mode, message=message)

    # -- documents ----------------------------------------------------------------------------------------------

    def upload_documents(self, pk: int, files: Sequence[FilePart]) -> list[UploadedDocument]:
        """`POST document/{pk}`: upload PDFs, at most 10 per call (docs/providers/oneshot.md §6.4), in as many calls
        as needed. Returns one `UploadedDocument` per file, in the order given.

        Not idempotent (a repeat adds the documents twice). If a later batch fails, the earlier batches stay
        uploaded: `list_documents` shows them.
        """
        uploaded: list[UploadedDocument] = []
        for start in range(0, len(files), MAX_FILES_PER_UPLOAD):
            batch = files[start : start + MAX_FILES_PER_UPLOAD]
            # INFERENCE (docs/providers/oneshot.md §5.7): field names restart at `file` in every call.
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
            if "no documents" in error.message.lower():  # LEGACY (docs/providers/oneshot.md §5.7)
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


def _json_or_none(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _secret_or_none(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
