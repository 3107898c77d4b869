"""ZapSign API client: the calls SignBridge makes, typed requests and tolerant typed responses.

Contract: `docs/providers/zapsign.md` (sections cited as §n). Every call goes through `ProviderHttp` (one
session, timeouts, the one retry policy, typed errors):

- 200: the parsed body is returned.
- 400, 401, 402, 403, 404, 406 (any 4xx but 429): `PermanentError` with the HTTP status and the message parsed
  from the body (`detail`, `message`, `error`, per-field lists or plain text; the shapes vary, §2.6).
- 429: retried with exponential backoff (ZapSign sends no `Retry-After`, §2.4), then `RateLimitedError`.
- 5xx, timeout, dropped connection: idempotent calls are retried, then `RetryableError`; calls that are not
  idempotent upstream (create document, add extra document, create webhook, add webhook headers) raise
  `UncertainOutcomeError` at once (connection refused before sending is still retried).

The API token travels only in the `Authorization: Bearer` header of each request (§2.2). It is never put in a
URL, an error, a log line or `repr()`.

Responses are parsed with models that ignore unknown fields (ZapSign adds response properties without notice,
§2.3) and read only what SignBridge needs. Status values are kept as strings: the enumerations differ between
sources (§3.2, §5 items 8-9), so helpers such as `ZapSignDocument.is_signed` accept every spelling seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import requests
from pydantic import BaseModel, ValidationError

from signbridge.domain.provider_errors import PermanentError, ProviderError, UncertainOutcomeError
from signbridge.domain.zapsign import (
    PROVIDER,
    CancelOutcome,
    NewDocument,
    WebhookType,
    ZapSignDocument,
    ZapSignDocumentPage,
    ZapSignExtraDocument,
    encode_pdf,
)
from signbridge.providers.http import ProviderHttp

M = TypeVar("M", bound=BaseModel)


# -- the client -----------------------------------------------------------------------------------------------------


class ZapSignClient:
    """The ZapSign calls SignBridge makes. One instance per warm Lambda; the token comes from Secrets Manager."""

    def __init__(
        self,
        base_url: str,
        api_token: str,
        *,
        http: ProviderHttp | None = None,
        session: requests.Session | None = None,
    ) -> None:
        if not api_token:
            raise ValueError("a ZapSign API token is required")
        self.http = http or ProviderHttp(PROVIDER, base_url, session=session)
        if http is not None and http.base_url != base_url.rstrip("/") + "/":
            raise ValueError("http.base_url differs from base_url")
        self._auth = {"Authorization": f"Bearer {api_token}"}

    def __repr__(self) -> str:
        return f"ZapSignClient(base_url={self.http.base_url!r}, api_token=***)"

    # documents

    def create_document(self, document: NewDocument) -> ZapSignDocument:
        """`POST docs/` (§3.1). Not idempotent upstream: every call makes a document and spends a credit, so a 5xx
        or timeout raises `UncertainOutcomeError` (look the document up before trying again)."""
        response = self._call("POST", "docs/", "create_document", idempotent=False, json=document.to_body())
        return self._parse(ZapSignDocument, response, "create_document", idempotent=False)

    def add_extra_document(
        self, doc_token: str, *, name: str, pdf: bytes | None = None, url_pdf: str | None = None
    ) -> ZapSignExtraDocument:
        """`POST docs/{doc_token}/upload-extra-doc/` (§3.8): one more PDF in the envelope (at most 14). Not
        idempotent upstream."""
        if (pdf is None) == (url_pdf is None):
            raise ValueError("give exactly one of pdf and url_pdf")
        body: dict[str, Any] = {"name": name}
        if pdf is not None:
            body["base64_pdf"] = encode_pdf(pdf)
        else:
            body["url_pdf"] = url_pdf
        path = f"docs/{_segment(doc_token)}/upload-extra-doc/"
        response = self._call("POST", path, "add_extra_document", idempotent=False, json=body)
        return self._parse(ZapSignExtraDocument, response, "add_extra_document", idempotent=False)

    def get_document(self, token: str) -> ZapSignDocument | ZapSignExtraDocument:
        """`GET docs/{token}/` (§3.2). A main-document token gives the full document; an extra-document token gives
        the short body with `parent_doc_token` (an `ZapSignExtraDocument`). File links in it last 60 minutes."""
        response = self._call("GET", f"docs/{_segment(token)}/", "get_document", idempotent=True)
        body = self._json(response, "get_document", idempotent=True)
        if isinstance(body, dict) and body.get("parent_doc_token"):
            return self._validate(ZapSignExtraDocument, body, response, "get_document", idempotent=True)
        return self._validate(ZapSignDocument, body, response, "get_document", idempotent=True)

    def list_documents(
        self,
        *,
        page: int = 1,
        folder_path: str | None = None,
        status: Literal["pending", "signed", "refused"] | None = None,
        deleted: bool | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
    ) -> ZapSignDocumentPage:
        """`GET docs/?page=N&…` (§3.3): one page of the company's documents, newest first unless `sort_order`.

        The list is cached by ZapSign (60 seconds per the notes, 60 minutes per a warning box, §3.3): a document
        created a moment ago may be missing from it. Prefer Detail when the token is known.
        """
        if page < 1:
            raise ValueError("pages start at 1")
        params: dict[str, str | int] = {"page": page}
        if folder_path is not None:
            params["folder_path"] = folder_path
        if status is not None:
            params["status"] = status
        if deleted is not None:
            params["deleted"] = "true" if deleted else "false"
        if sort_order is not None:
            params["sort_order"] = sort_order
        response = self._call("GET", "docs/", "list_documents", idempotent=True, params=params)
        body = self._json(response, "list_documents", idempotent=True)
        if isinstance(body, list):
            # §3.3: one tab of the docs page shows a bare array instead of the paginated object.
            body = {"count": len(body), "results": body}
        return self._validate(ZapSignDocumentPage, body, response, "list_documents", idempotent=True)

    def cancel_document(self, doc_token: str, rejected_reason: str, *, notify_signer: bool = False) -> CancelOutcome:
        """`POST refuse/` (§3.6): the company cancels an in-progress document.

        Safe to repeat: an answer of 403 `document_already_refused` means an earlier attempt (or a signer) already
        refused it, and returns "already_refused". 403 `document_already_signed` raises `PermanentError`.
        """
        if not rejected_reason:
            raise ValueError("rejected_reason is required")
        body = {"doc_token": doc_token, "rejected_reason": rejected_reason, "notify_signer": notify_signer}
        try:
            # Idempotent in effect: a second refuse cannot refuse twice. The session always sends a User-Agent,
            # which this endpoint requires (§3.6).
            self._call("POST", "refuse/", "cancel_document", idempotent=True, json=body)
        except PermanentError as error:
            # GUESS (docs/providers/zapsign.md §2.6, §5 item 13): the JSON key carrying the error code is not
            # documented, so look for the code anywhere in the body.
            if error.status == 403 and "document_already_refused" in error.raw_body:
                return "already_refused"
            raise
        return "cancelled"

    def delete_document(self, token: str) -> ZapSignDocument:
        """`DELETE docs/{token}/` (§3.5): soft delete; the answer is the document with `deleted: true`."""
        response = self._call("DELETE", f"docs/{_segment(token)}/", "delete_document", idempotent=True)
        return self._parse(ZapSignDocument, response, "delete_document", idempotent=True)

    def reprocess_document(self, token: str, *, send_webhook: bool = True, resign_doc: bool = False) -> None:
        """`POST docs/{token}/reprocess-doc/` (§3.9): asynchronous; ask ZapSign to resend the webhook and/or
        regenerate the signed PDF. Repeating it only resends, so it is treated as idempotent."""
        body = {"send_webhook": send_webhook, "resign_doc": resign_doc}
        self._call("POST", f"docs/{_segment(token)}/reprocess-doc/", "reprocess_document", idempotent=True, json=body)

    # webhooks

    def create_webhook(
        self,
        url: str,
        *,
        type: WebhookType = "",  # ZapSign's field name
        doc_token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """`POST user/company/webhook/` (§4.2). Returns the webhook id as a string (its JSON type is not
        documented, §5 item 7). Not idempotent upstream: a repeat registers a second webhook."""
        body: dict[str, Any] = {"url": url, "type": type}
        if doc_token:
            body["doc_token"] = doc_token
        if headers:
            body["headers"] = _header_list(headers)
        response = self._call("POST", "user/company/webhook/", "create_webhook", idempotent=False, json=body)
        payload = self._json(response, "create_webhook", idempotent=False)
        # GUESS (docs/providers/zapsign.md §4.2, §5 item 7): `{"id": ...}` with an untyped id; kept as a string.
        webhook_id = payload.get("id") if isinstance(payload, dict) else None
        if webhook_id is None or webhook_id == "":
            raise UncertainOutcomeError(PROVIDER, "create_webhook", "200 without an id", status=response.status_code)
        return str(webhook_id)

    def add_webhook_headers(self, webhook_id: str | int, headers: Mapping[str, str]) -> None:
        """`POST user/company/webhook/header/` with `{"id", "headers": [{"name", "value"}]}` (§4.2). Not idempotent
        upstream (a repeat may add the header twice)."""
        if not headers:
            raise ValueError("no headers to add")
        body = {"id": _webhook_id(webhook_id), "headers": _header_list(headers)}
        self._call("POST", "user/company/webhook/header/", "add_webhook_headers", idempotent=False, json=body)

    def delete_webhook(self, webhook_id: str | int) -> None:
        """`DELETE user/company/webhook/delete/` with the id in the JSON body (§4.2)."""
        body = {"id": str(webhook_id)}  # the docs type it as a string
        self._call("DELETE", "user/company/webhook/delete/", "delete_webhook", idempotent=True, json=body)

    # account

    def info_plan(self) -> dict[str, Any]:
        """`GET info-plan/` (§3): the account's plan and credits, as ZapSign answers them. The fields are not
        documented (GUESS), so the answer is returned as it is; a cheap authenticated read, used to check a token."""
        response = self._call("GET", "info-plan/", "info_plan", idempotent=True)
        payload = self._json(response, "info_plan", idempotent=True)
        return payload if isinstance(payload, dict) else {"answer": payload}

    # plumbing

    def _call(self, method: str, path: str, operation: str, *, idempotent: bool, **kwargs: Any) -> requests.Response:
        return self.http.request(method, path, operation=operation, idempotent=idempotent, headers=self._auth, **kwargs)

    def _json(self, response: requests.Response, operation: str, *, idempotent: bool) -> Any:
        try:
            return response.json()
        except ValueError:
            raise _unreadable(response, operation, idempotent, "the 200 body is not JSON") from None

    def _parse(self, model: type[M], response: requests.Response, operation: str, *, idempotent: bool) -> M:
        body = self._json(response, operation, idempotent=idempotent)
        return self._validate(model, body, response, operation, idempotent=idempotent)

    def _validate(
        self, model: type[M], body: Any, response: requests.Response, operation: str, *, idempotent: bool
    ) -> M:
        try:
            return model.model_validate(body)
        except ValidationError as error:
            fields = ", ".join(".".join(str(part) for part in item["loc"]) for item in error.errors()[:5])
            raise _unreadable(response, operation, idempotent, f"unexpected 200 body (fields: {fields})") from None


def _unreadable(response: requests.Response, operation: str, idempotent: bool, message: str) -> ProviderError:
    """A 200 we cannot read. For a call that changed something upstream, the change happened but we do not know its
    result: that is an uncertain outcome, not a rejection."""
    raw = response.text[:2000] if response.content else ""
    error_type = PermanentError if idempotent else UncertainOutcomeError
    return error_type(PROVIDER, operation, message, status=response.status_code, raw_body=raw)


def _header_list(headers: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers.items()]


def _webhook_id(webhook_id: str | int) -> str | int:
    # The docs show a number in the header call and a string in the delete call (§4.2); send what we were given,
    # as a number when it looks like one.
    if isinstance(webhook_id, str) and webhook_id.isdigit():
        return int(webhook_id)
    return webhook_id


def _segment(token: str) -> str:
    """A token as one URL path segment: ZapSign tokens are UUIDs; refuse anything that could change the path."""
    if not token or any(char in token for char in "/?#%\\") or token in (".", ".."):
        raise ValueError("not a ZapSign token")
    return token
