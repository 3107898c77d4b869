"""A stateful ZapSign simulator that follows `shared/contracts/zapsign.md` (sections cited as §n).

Run it alone:  `python -m local.simulators.zapsign --port 8700 --token dev-token`  (prints the API base URL;
Ctrl-C stops). In tests: `ZapSignSimulator(port=0, api_token="t").start()` and `sim.api_base_url`.

What it implements (under `/api/v1/`, with or without the trailing slash):

- `POST docs/` create from `base64_pdf`, `url_pdf` (fetched only from loopback hosts) or `markdown_text` → 200 with
  the full document serializer (§3.1, §3.2 superset); `GET docs/` (paginated list, §3.3); `GET|DELETE docs/{t}/`
  (main or extra-doc token; soft delete, §3.5); `POST docs/{t}/upload-extra-doc/` (max 14, §3.8);
  `POST docs/{t}/reprocess-doc/` (§3.9); `POST refuse/` (§3.6); `GET signers/{t}/` (§3.10);
  `POST user/company/webhook/`, `POST user/company/webhook/header/`, `DELETE user/company/webhook/delete/` (§4.2).
- Auth: `Authorization: Bearer <token>` or legacy `?api_token=`; missing/wrong → 401 `{"detail"}`; a token listed
  in `other_env_tokens` → 403 (§2.2, §2.5). Rate limit: `rate_limit_per_minute` per token (or per IP when the token
  is not valid) in fixed windows → 429 with no headers (§2.4).
- File links (`original_file`, `signed_file`, signer photos) point at this simulator, presigned S3-SigV2 style
  (`/files/<id>.pdf?AWSAccessKeyId=…&Expires=<unix>&Signature=<hmac>`); every response signs fresh links; an
  expired link or a bad signature answers 403 with an S3-like XML error (§3.2 "Temporary file URLs").
- Webhooks (§4): full document serializer + `event_type` + the event's extra key, delivered by the base
  `WebhookDispatcher` with the registration's custom headers, retried while the receiver answers anything but 200.

Choices where the contract is silent (each is a GUESS; change the constructor flags to test the other reading):

- `signed_file` stays null until the document is `signed` (§5 item 10); `partial_signed_file=True` instead stamps a
  new PDF after every signature. The signed PDF is the original plus a page naming the signers (`stamp_pdf`).
- Document status after a refusal is `refused_status` (default `"recusado"`, as in the `doc_refused` example and
  the cancel text, §3.6/§4.4; `"refused"` is the list filter's spelling).
- A company cancel (`POST refuse/`) fires `doc_refused`; with `refuse_fires_doc_signed=True` it also regenerates the
  PDF with a "Documento recusado" page and fires `doc_signed` with `signer_who_signed: null` (§3.6).
- Error bodies: DRF-style `{"detail": …}` for 401/403/404/429, per-field `{"field": ["…"]}` for 400 validation,
  `{"error": "<code>"}` for the named codes of `POST refuse/` (§2.6: the key is not documented).
- `POST refuse/` without a User-Agent → 403 `{"detail": …}` (the docs only say it is mandatory).
- Webhook `type` "" delivers doc_created/signed/deleted/refused only (§4.2); other types match the event name;
  events sent with the `events` control route (unknown types) go to "" registrations too, to test tolerance.
- `reprocess-doc` with `send_webhook` resends the current-state event: `doc_signed` (last signer) once anybody
  signed, `doc_refused` / `doc_deleted` for those states, else `doc_created` (§4.1 "presumably").
- Re-deleting a deleted document answers 200 again and fires nothing.
- The signer's `sign_url` is this simulator's `/verificar/<token>` page (open it in a browser to view and sign).

Control API (test and demo only), all JSON, under `/_sim/zapsign/` — see docs/simulators.md for the table.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import html
import itertools
import json
import secrets
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from werkzeug.wrappers import Request, Response

from local.simulators.base import Simulator, View, WebhookDispatcher, json_response
from local.simulators.pdf import make_pdf, stamp_pdf

API_PREFIX = "/api/v1"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # §4.5 item 2: microseconds and a literal Z
MAX_EXTRA_DOCS = 14  # §3.8
MAX_URL_PDF_BYTES = 10 * 1024 * 1024  # §3.1
DEFAULT_TOKEN = "sim-zapsign-token"  # noqa: S105 - the simulator's fixed development token
# §4.2: type "" means these four only; email_bounce and the newer events need their own registration.
ALL_TYPE_EVENTS = frozenset({"doc_created", "doc_signed", "doc_deleted", "doc_refused"})
KNOWN_EVENTS = frozenset(
    {
        *ALL_TYPE_EVENTS,
        "email_bounce",
        "created_signer",
        "signature_notification_sent",
        "doc_viewed",
        "doc_read_confirmation",
        "signer_authentication_failed",
        "doc_expired",
        "doc_expiration_alert",
        "background_check_completed",
    }
)
FILE_SOURCES = ("base64_pdf", "url_pdf", "base64_docx", "url_docx", "markdown_text")
DOC_BOOLEANS = (
    "disable_signer_emails",
    "signature_order_active",
    "signed_file_only_finished",
    "allow_refuse_signature",
    "disable_signers_get_original_file",
    "sandbox",
)
SIGNER_BOOLEANS = (
    "send_automatic_email",
    "send_automatic_whatsapp",
    "send_automatic_whatsapp_signed_file",
    "lock_name",
    "lock_email",
    "lock_phone",
    "blank_email",
    "blank_phone",
    "hide_email",
    "hide_phone",
    "require_cpf",
    "validate_cpf",
    "require_selfie_photo",
    "require_document_photo",
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
REQUIRED = "Este campo é obrigatório."


class ActionError(Exception):
    """A control action that the simulated state does not allow (answered with `status` and `{"detail"}`)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class RequestRejectedError(Exception):
    """Stop handling an API call and answer `status` with `body` (validation errors, named error codes)."""

    def __init__(self, body: dict[str, Any], status: int = 400) -> None:
        super().__init__(json.dumps(body))
        self.body = body
        self.status = status


@dataclass
class StoredFile:
    data: bytes
    content_type: str


@dataclass
class SimSigner:
    token: str
    doc_token: str
    fields: dict[str, Any]
    status: str = "new"
    times_viewed: int = 0
    last_view_at: datetime | None = None
    signed_at: datetime | None = None
    document_photo: str | None = None  # file names in `files`
    document_verse_photo: str | None = None
    selfie_photo: str | None = None
    geo_latitude: str | None = None
    geo_longitude: str | None = None
    ip: str | None = None


@dataclass
class SimExtraDoc:
    open_id: int
    token: str
    name: str
    parent_token: str
    original_file: str
    signed_file: str | None = None


@dataclass
class SimDocument:
    open_id: int
    token: str
    name: str
    options: dict[str, Any]
    original_file: str
    created_at: datetime
    last_update_at: datetime
    signers: list[SimSigner] = field(default_factory=list)
    extra_docs: list[SimExtraDoc] = field(default_factory=list)
    status: str = "pending"
    signed_file: str | None = None
    deleted: bool = False
    deleted_at: datetime | None = None
    rejected_reason: str | None = None
    expired: bool = False


@dataclass
class WebhookRegistration:
    id: int
    url: str
    type: str
    doc_token: str | None
    headers: list[dict[str, str]]

    def matches(self, event_type: str, doc_token: str | None, *, unknown: bool = False) -> bool:
        if self.doc_token and self.doc_token != doc_token:
            return False
        if self.type == event_type:
            return True
        # GUESS (contracts/zapsign.md §4.2): "" covers the four document events only; injected unknown events go
        # to "" registrations too so that receivers can be tested for tolerance (§2.3).
        return self.type == "" and (event_type in ALL_TYPE_EVENTS or unknown)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "type": self.type, "doc_token": self.doc_token, "headers": self.headers}


@dataclass
class ZapSignConfig:
    """Behaviour switches, changeable at run time through `POST /_sim/zapsign/config`."""

    file_link_lifetime_seconds: int = 3600
    rate_limit_per_minute: int = 500
    rate_limit_window_seconds: int = 60
    # GUESS (contracts/zapsign.md §4.4, §5 item 8): "recusado" as in the doc_refused example ("refused": list filter).
    refused_status: str = "recusado"
    partial_signed_file: bool = False
    refuse_fires_doc_signed: bool = False
    sandbox: bool = True
    payment_required: bool = False  # production without an API plan → 402 (§2.1)

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown setting {key!r}")
            current = getattr(self, key)
            if type(value) is not type(current):
                raise ValueError(f"{key} must be {type(current).__name__}")
            setattr(self, key, value)


class ZapSignSimulator(Simulator):
    name = "zapsign"

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        api_token: str = DEFAULT_TOKEN,
        other_env_tokens: tuple[str, ...] = (),
        file_link_lifetime_seconds: int = 3600,
        rate_limit_per_minute: int = 500,
        rate_limit_window_seconds: int = 60,
        refused_status: str = "recusado",
        partial_signed_file: bool = False,
        refuse_fires_doc_signed: bool = False,
        webhook_max_attempts: int = 5,
        webhook_backoff_seconds: float = 0.5,
        webhook_timeout_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(port=port, host=host)
        self.api_token = api_token
        self.other_env_tokens = set(other_env_tokens)
        self.config = ZapSignConfig(
            file_link_lifetime_seconds=file_link_lifetime_seconds,
            rate_limit_per_minute=rate_limit_per_minute,
            rate_limit_window_seconds=rate_limit_window_seconds,
            refused_status=refused_status,
            partial_signed_file=partial_signed_file,
            refuse_fires_doc_signed=refuse_fires_doc_signed,
        )
        self.webhooks = WebhookDispatcher(
            max_attempts=webhook_max_attempts,
            backoff_seconds=webhook_backoff_seconds,
            timeout_seconds=webhook_timeout_seconds,
        )
        self._clock = clock
        self._link_key = secrets.token_bytes(32)
        self.reset_state()
        self._register_routes()

    # -- state ----------------------------------------------------------------------------------------------------

    def reset_state(self) -> None:
        self.documents: dict[str, SimDocument] = {}
        self.extra_docs: dict[str, SimExtraDoc] = {}
        self.signers: dict[str, SimSigner] = {}
        self.files: dict[str, StoredFile] = {}
        self.registrations: dict[int, WebhookRegistration] = {}
        self.clock_offset = 0.0
        self._rate_windows: dict[tuple[str, int], int] = {}
        self._open_ids = itertools.count(1)
        self._webhook_ids = itertools.count(1)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock() + self.clock_offset, tz=UTC)

    def advance_clock(self, seconds: float) -> datetime:
        """Move the simulator's clock forward (expire links without waiting)."""
        with self.lock:
            self.clock_offset += seconds
            return self.now()

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}{API_PREFIX}/"

    # -- routes ---------------------------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        api: list[tuple[str, str, list[str], View]] = [
            ("/docs/", "create_document", ["POST"], self._create_document),
            ("/docs/", "list_documents", ["GET"], self._list_documents),
            ("/docs/<token>/", "get_document", ["GET"], self._get_document),
            ("/docs/<token>/", "delete_document", ["DELETE"], self._delete_document),
            ("/docs/<token>/upload-extra-doc/", "add_extra_document", ["POST"], self._add_extra_document),
            ("/docs/<token>/reprocess-doc/", "reprocess_document", ["POST"], self._reprocess_document),
            ("/refuse/", "refuse_document", ["POST"], self._refuse_document),
            ("/signers/<token>/", "get_signer", ["GET"], self._get_signer),
            ("/user/company/webhook/", "create_webhook", ["POST"], self._create_webhook),
            ("/user/company/webhook/header/", "add_webhook_headers", ["POST"], self._add_webhook_headers),
            ("/user/company/webhook/delete/", "delete_webhook", ["DELETE"], self._delete_webhook),
        ]
        for rule, endpoint, methods, view in api:
            self.route(API_PREFIX + rule, endpoint, methods, self._api(view))
        self.route("/files/<name>", "file", ["GET"], self._serve_file)
        self.route("/verificar/<token>", "signing_page", ["GET"], self._signing_page)
        self.route("/verificar/<token>/sign", "signing_page_sign", ["POST"], self._signing_page_sign)
        control: list[tuple[str, str, list[str], View]] = [
            ("docs", "documents", ["GET"], self._control_documents),
            ("docs/<token>/expire", "expire", ["POST"], self._control_expire),
            ("docs/<token>/events", "event", ["POST"], self._control_event),
            ("signers/<token>/open", "open", ["POST"], self._control_open),
            ("signers/<token>/photos", "photos", ["POST"], self._control_photos),
            ("signers/<token>/sign", "sign", ["POST"], self._control_sign),
            ("signers/<token>/refuse", "refuse", ["POST"], self._control_refuse),
            ("email-bounce", "email_bounce", ["POST"], self._control_email_bounce),
            ("webhooks", "webhooks", ["GET"], self._control_webhooks),
            ("webhooks/flush", "webhooks_flush", ["POST"], self._control_flush),
            ("clock", "clock", ["GET", "POST"], self._control_clock),
            ("config", "config", ["GET", "POST"], self._control_config),
        ]
        for rule, endpoint, methods, view in control:
            self.route(f"/_sim/zapsign/{rule}", f"sim_zapsign_{endpoint}", methods, self._control(view))

    def _api(self, view: View) -> View:
        """Rate limit and authentication in front of every API view."""

        def wrapped(request: Request, **arguments: Any) -> Response:
            refusal = self._gatekeeper(request)
            if refusal is not None:
                return refusal
            try:
                return view(request, **arguments)
            except RequestRejectedError as rejection:
                return json_response(rejection.body, rejection.status)
            except ActionError as error:
                return json_response({"detail": error.detail}, error.status)

        return wrapped

    def _gatekeeper(self, request: Request) -> Response | None:
        """The answer to a call that is rate limited or not authenticated, or None to let it through."""
        token = _bearer(request) or request.args.get("api_token", "")
        valid = bool(token) and hmac.compare_digest(token, self.api_token)
        if self._over_rate_limit(token if valid else f"ip:{request.remote_addr}"):
            # §2.4: 429, no Retry-After or X-RateLimit-* headers documented.
            return json_response({"detail": "Request was throttled."}, 429)
        # GUESS (contracts/zapsign.md §2.6): DRF-style {"detail": ...} bodies for 401/402/403.
        problem: tuple[int, str] | None = None
        if not token:
            problem = (401, "As credenciais de autenticação não foram fornecidas.")
        elif token in self.other_env_tokens:
            # §2.5: a token from the other environment (sandbox vs production) gives 403.
            problem = (403, "Token de outro ambiente. Verifique a URL base.")
        elif not valid:
            problem = (401, "Token inválido.")
        elif self.config.payment_required:
            problem = (402, "Plano de API necessário.")
        return None if problem is None else json_response({"detail": problem[1]}, problem[0])

    def _control(self, view: View) -> View:
        def wrapped(request: Request, **arguments: Any) -> Response:
            try:
                return view(request, **arguments)
            except ActionError as error:
                return json_response({"detail": error.detail}, error.status)

        return wrapped

    def _over_rate_limit(self, key: str) -> bool:
        with self.lock:
            window = int((self._clock() + self.clock_offset) // self.config.rate_limit_window_seconds)
            for stale in [item for item in self._rate_windows if item[1] < window]:
                del self._rate_windows[stale]
            count = self._rate_windows.get((key, window), 0) + 1
            self._rate_windows[(key, window)] = count
            return count > self.config.rate_limit_per_minute

    # -- API views ------------------------------------------------------------------------------------------------

    def _create_document(self, request: Request) -> Response:
        body = _json_object(request)
        errors: dict[str, Any] = {}
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            errors["name"] = [REQUIRED]
        elif len(name) > 255:
            errors["name"] = ["Certifique-se de que este campo não tenha mais de 255 caracteres."]
        signer_errors = _validate_signers(body.get("signers"))
        if signer_errors:
            errors["signers"] = signer_errors
        if errors:
            raise RequestRejectedError(errors)
        _check_booleans(body, DOC_BOOLEANS)
        for signer_body in body["signers"]:
            _check_booleans(signer_body, SIGNER_BOOLEANS)
        pdf = self._document_source(body)
        options = _document_options(body)
        with self.lock:
            now = self.now()
            document = SimDocument(
                open_id=next(self._open_ids),
                token=str(uuid.uuid4()),
                name=str(name),
                options=options,
                original_file=self._store(pdf, "pdf"),
                created_at=now,
                last_update_at=now,
            )
            for signer_body in body["signers"]:
                signer = SimSigner(
                    token=str(uuid.uuid4()), doc_token=document.token, fields=_signer_fields(signer_body)
                )
                document.signers.append(signer)
                self.signers[signer.token] = signer
            self.documents[document.token] = document
            self._emit("doc_created", document)
            return json_response(self._document_json(document))

    def _list_documents(self, request: Request) -> Response:
        # §3.3: DRF pagination; short items. SignBridge lists only to find a document whose create had an uncertain
        # outcome (by its per-request folder).
        with self.lock:
            documents = list(self.documents.values())
            status = request.args.get("status")
            if status:
                wanted = {status, self.config.refused_status} if status == "refused" else {status}
                documents = [doc for doc in documents if doc.status in wanted]
            folder = request.args.get("folder_path")
            if folder:
                # GUESS (contracts/zapsign.md §3.3): `folder_path` filters on the document's folder; whether it
                # matches that folder only or its subfolders too is not documented. Exact folder, slashes normalized.
                documents = [doc for doc in documents if _folder(doc.options["folder_path"]) == _folder(folder)]
            deleted = request.args.get("deleted")
            if deleted is not None:
                documents = [doc for doc in documents if doc.deleted == (deleted.lower() in ("true", "1", "yes"))]
            if request.args.get("sort_order", "desc") == "desc":
                documents.reverse()
            page = max(1, _int(request.args.get("page"), 1))
            size = 25
            chunk = documents[(page - 1) * size : page * size]
            more = len(documents) > page * size
            base = f"{self.api_base_url}docs/?page="
            return json_response(
                {
                    "count": len(documents),
                    "next": f"{base}{page + 1}" if more else None,
                    "previous": f"{base}{page - 1}" if page > 1 else None,
                    "results": [
                        {
                            "open_id": doc.open_id,
                            "token": doc.token,
                            "status": doc.status,
                            "name": doc.name,
                            "original_file": self._link(doc.original_file),
                            "signed_file": self._link(doc.signed_file),
                            "created_at": _timestamp(doc.created_at),
                            "last_update_at": _timestamp(doc.last_update_at),
                        }
                        for doc in chunk
                    ],
                }
            )

    def _get_document(self, request: Request, token: str) -> Response:
        with self.lock:
            if token in self.documents:
                return json_response(self._document_json(self.documents[token]))
            if token in self.extra_docs:
                return json_response(self._extra_doc_json(self.extra_docs[token], with_parent=True))
        return _not_found()

    def _delete_document(self, request: Request, token: str) -> Response:
        with self.lock:
            document = self.documents.get(token)
            if document is None:
                return _not_found()
            # GUESS (contracts/zapsign.md §3.5): deleting twice is not documented; answer 200 and fire nothing.
            if not document.deleted:
                document.deleted = True
                document.deleted_at = document.last_update_at = self.now()
                self._emit("doc_deleted", document)
            return json_response(self._document_json(document))

    def _add_extra_document(self, request: Request, token: str) -> Response:
        body = _json_object(request)
        with self.lock:
            document = self.documents.get(token)
            if document is None:
                return _not_found()
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RequestRejectedError({"name": [REQUIRED]})
        if sum(1 for key in ("base64_pdf", "url_pdf") if body.get(key)) != 1:
            raise RequestRejectedError({"detail": "Envie exatamente um de base64_pdf ou url_pdf."})
        pdf = self._document_source(body)
        with self.lock:
            # GUESS (contracts/zapsign.md §3.8): the status code past 14 extra documents or on a finished document
            # is not documented; 400 like other request problems.
            if len(document.extra_docs) >= MAX_EXTRA_DOCS:
                raise RequestRejectedError({"detail": f"Limite de {MAX_EXTRA_DOCS} documentos extras atingido."})
            if document.deleted or document.status != "pending":
                raise RequestRejectedError({"detail": "O documento não está em curso."})
            extra = SimExtraDoc(
                open_id=next(self._open_ids),
                token=str(uuid.uuid4()),
                name=name,
                parent_token=document.token,
                original_file=self._store(pdf, "pdf"),
            )
            document.extra_docs.append(extra)
            self.extra_docs[extra.token] = extra
            document.last_update_at = self.now()
            return json_response(self._extra_doc_json(extra, with_parent=False))

    def _reprocess_document(self, request: Request, token: str) -> Response:
        body = _json_object(request, allow_empty=True)
        _check_booleans(body, ("send_webhook", "resign_doc"))
        with self.lock:
            document = self.documents.get(token)
            if document is None:
                return json_response({"detail": "Não encontrado."}, 404)  # §3.9
            if body.get("resign_doc") and any(signer.status == "signed" for signer in document.signers):
                self._regenerate_signed_files(document)
            if body.get("send_webhook"):
                self._emit_current_state(document)
        # GUESS (contracts/zapsign.md §3.9): "no documented body" on success.
        return json_response({"message": "Documento enviado para reprocessamento."})

    def _refuse_document(self, request: Request) -> Response:
        if not request.headers.get("User-Agent"):
            # GUESS (contracts/zapsign.md §3.6): the User-Agent is mandatory; the status for its absence is not shown.
            return json_response({"detail": "User-Agent header is required."}, 403)
        try:
            body = _json_object(request)
        except RequestRejectedError:
            raise _coded("invalid_json", 400) from None
        doc_token = body.get("doc_token")
        if not doc_token:
            raise _coded("missing_doc_token", 400)
        reason = body.get("rejected_reason")
        if not isinstance(reason, str) or not reason.strip():
            raise _coded("missing_rejected_reason", 400)
        with self.lock:
            document = self.documents.get(str(doc_token))
            if document is None:
                raise _coded("document_not_found", 404)
            if document.status == "signed":
                raise _coded("document_already_signed", 403)
            if self._is_refused(document):
                raise _coded("document_already_refused", 403)
            if document.deleted:
                raise _coded("refuse_not_allowed", 403)
            # GUESS (contracts/zapsign.md §4.4 doc_refused, §3.6): a company cancel also fires doc_refused.
            self._refuse(document, reason)
            if self.config.refuse_fires_doc_signed:
                self._regenerate_signed_files(document, label="Documento recusado")
                self._emit("doc_signed", document, {"signer_who_signed": None})
        return json_response({"message": "Documento cancelado com sucesso!"})

    def _is_refused(self, document: SimDocument) -> bool:
        return document.status in ("refused", "recusado", self.config.refused_status)

    def _get_signer(self, request: Request, token: str) -> Response:
        with self.lock:
            signer = self.signers.get(token)
            if signer is None:
                return _not_found()
            return json_response(self._signer_json(signer))

    def _create_webhook(self, request: Request) -> Response:
        body = _json_object(request)
        errors: dict[str, Any] = {}
        url = body.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            errors["url"] = ["Informe uma URL válida."]
        webhook_type = body.get("type")
        if webhook_type is None:
            errors["type"] = [REQUIRED]
        elif webhook_type != "" and webhook_type not in KNOWN_EVENTS:
            # GUESS (contracts/zapsign.md §4.2): only "", the four document events and email_bounce are documented;
            # the newer events are accepted under their own names.
            errors["type"] = [f'"{webhook_type}" não é um tipo válido.']
        headers = body.get("headers", [])
        if not _valid_headers(headers):
            errors["headers"] = ['Use [{"name": "...", "value": "..."}].']
        doc_token = body.get("doc_token") or None
        if doc_token is not None and str(doc_token) not in self.documents:
            errors["doc_token"] = ["Documento não encontrado."]
        if errors:
            raise RequestRejectedError(errors)
        with self.lock:
            registration = WebhookRegistration(
                id=next(self._webhook_ids),
                url=str(url),
                type=str(webhook_type),
                doc_token=str(doc_token) if doc_token else None,
                headers=[{"name": item["name"], "value": item["value"]} for item in headers],
            )
            self.registrations[registration.id] = registration
        return json_response({"id": registration.id})

    def _add_webhook_headers(self, request: Request) -> Response:
        body = _json_object(request)
        registration = self._registration(body.get("id"))
        headers = body.get("headers")
        if not headers or not _valid_headers(headers):
            raise RequestRejectedError({"headers": ['Use [{"name": "...", "value": "..."}].']})
        with self.lock:
            registration.headers.extend({"name": item["name"], "value": item["value"]} for item in headers)
        # GUESS (contracts/zapsign.md §4.2): the success body is not documented.
        return json_response({"message": "Headers adicionados com sucesso."})

    def _delete_webhook(self, request: Request) -> Response:
        body = _json_object(request)
        registration = self._registration(body.get("id"))
        with self.lock:
            del self.registrations[registration.id]
        return json_response({"message": "Webhook deletado com sucesso"})

    def _registration(self, webhook_id: object) -> WebhookRegistration:
        # §4.2: the id is a string in the docs and a number in ZapSign's own code; accept both.
        if webhook_id is None or webhook_id == "":
            raise RequestRejectedError({"id": [REQUIRED]})
        try:
            registration = self.registrations.get(int(str(webhook_id)))
        except ValueError:
            registration = None
        if registration is None:
            raise ActionError(404, "Não encontrado.")
        return registration

    # -- files ----------------------------------------------------------------------------------------------------

    def _store(self, data: bytes, extension: str) -> str:
        content_type = {"pdf": "application/pdf", "png": "image/png"}[extension]
        name = f"{uuid.uuid4().hex}.{extension}"
        self.files[name] = StoredFile(data, content_type)
        return name

    def _link(self, name: str | None) -> str | None:
        """A freshly presigned link to a stored file (S3 SigV2 query style, §3.2)."""
        if name is None:
            return None
        expires = int(self.now().timestamp()) + self.config.file_link_lifetime_seconds
        signature = self._signature(name, expires)
        return (
            f"{self.base_url}/files/{name}?AWSAccessKeyId=SIMULATORKEY&Expires={expires}"
            f"&Signature={quote(signature, safe='')}"
        )

    def _signature(self, name: str, expires: int) -> str:
        digest = hmac.new(self._link_key, f"GET\n{expires}\n/files/{name}".encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")

    def _serve_file(self, request: Request, name: str) -> Response:
        expires_text = request.args.get("Expires", "")
        signature = request.args.get("Signature", "")
        now = int(self.now().timestamp())
        if not expires_text.isdigit() or not signature:
            return _s3_error("AccessDenied", "Query-string authentication requires the Signature and Expires.")
        expires = int(expires_text)
        if not hmac.compare_digest(signature, self._signature(name, expires)):
            return _s3_error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if now > expires:
            return _s3_error(
                "AccessDenied",
                "Request has expired",
                extra=f"<Expires>{_http_date(expires)}</Expires><ServerTime>{_http_date(now)}</ServerTime>",
            )
        stored = self.files.get(name)
        if stored is None:
            return _s3_error("NoSuchKey", "The specified key does not exist.", status=404)
        return Response(stored.data, status=200, content_type=stored.content_type)

    def _document_source(self, body: dict[str, Any]) -> bytes:
        present = [key for key in FILE_SOURCES if body.get(key) not in (None, "")]
        if len(present) != 1:
            raise RequestRejectedError(
                {
                    "detail": "Envie exatamente uma fonte de arquivo: url_pdf, base64_pdf, url_docx, base64_docx ou "
                    "markdown_text."
                }
            )
        source = present[0]
        value = body[source]
        if not isinstance(value, str):
            raise RequestRejectedError({source: ["Deve ser uma string."]}, status=406)
        if source == "base64_pdf":
            if value.startswith("data:"):
                # GUESS (contracts/zapsign.md §4.5 item 2): the docs forbid the data: prefix; 400 is our reading.
                raise RequestRejectedError({"base64_pdf": ["Envie apenas o base64, sem o prefixo data:...;base64,"]})
            try:
                pdf = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise RequestRejectedError({"base64_pdf": ["Base64 inválido."]}) from None
            if not pdf.startswith(b"%PDF-"):
                raise RequestRejectedError({"base64_pdf": ["O arquivo não é um PDF."]})
            return pdf
        if source == "url_pdf":
            return self._fetch_pdf(value)
        if source == "markdown_text":
            return make_pdf(value)
        raise RequestRejectedError({source: ["O simulador não converte DOCX; envie um PDF."]})

    def _fetch_pdf(self, url: str) -> bytes:
        """`url_pdf`: the simulator fetches only loopback URLs (the local stack's S3 emulation, a test server)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or (parts.hostname or "") not in LOOPBACK_HOSTS:
            raise RequestRejectedError({"url_pdf": ["O simulador só baixa URLs de 127.0.0.1/localhost."]})
        try:
            with requests.get(url, timeout=10, stream=True) as response:
                if response.status_code != 200:
                    raise RequestRejectedError(
                        {"url_pdf": [f"Não foi possível baixar o arquivo ({response.status_code})."]}
                    )
                data = b""
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > MAX_URL_PDF_BYTES:
                        raise RequestRejectedError({"url_pdf": ["O arquivo excede 10 MB."]})
        except requests.RequestException as error:
            raise RequestRejectedError(
                {"url_pdf": [f"Não foi possível baixar o arquivo ({type(error).__name__})."]}
            ) from None
        if not data.startswith(b"%PDF-"):
            raise RequestRejectedError({"url_pdf": ["O arquivo não é um PDF."]})
        return data

    # -- serializers ----------------------------------------------------------------------------------------------

    def _document_json(self, document: SimDocument) -> dict[str, Any]:
        """The full document serializer (§3.2 and the 2025 webhook examples, superset)."""
        options = document.options
        return {
            "sandbox": self.config.sandbox,
            "external_id": options["external_id"],
            "open_id": document.open_id,
            "token": document.token,
            "name": document.name,
            "folder_path": options["folder_path"],
            "folder_token": None,
            "status": document.status,
            "rejected_reason": document.rejected_reason,
            "lang": options["lang"],
            "original_file": self._link(document.original_file),
            "signed_file": self._link(document.signed_file),
            "extra_docs": [self._extra_doc_json(extra, with_parent=False) for extra in document.extra_docs],
            "created_through": "api",
            "deleted": document.deleted,
            "deleted_at": _timestamp(document.deleted_at),
            "signed_file_only_finished": options["signed_file_only_finished"],
            "disable_signer_emails": options["disable_signer_emails"],
            "brand_logo": options["brand_logo"],
            "brand_primary_color": options["brand_primary_color"],
            "brand_name": options["brand_name"],
            "created_at": _timestamp(document.created_at),
            "last_update_at": _timestamp(document.last_update_at),
            "date_limit_to_sign": options["date_limit_to_sign"],
            "created_by": {"email": "simulator@signbridge.invalid"},
            "template": None,
            "signers": [self._signer_json(signer) for signer in document.signers],
            "answers": [],
            "auto_reminder": options["reminder_every_n_days"],
            "signature_report": None,
            "tsa_country": None,
            "use_timestamp": True,
            "metadata": options["metadata"],
        }

    def _extra_doc_json(self, extra: SimExtraDoc, *, with_parent: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "open_id": extra.open_id,
            "token": extra.token,
            "name": extra.name,
            "original_file": self._link(extra.original_file),
            "signed_file": self._link(extra.signed_file),
        }
        if with_parent:
            body["parent_doc_token"] = extra.parent_token
        return body

    def _signer_json(self, signer: SimSigner) -> dict[str, Any]:
        fields = signer.fields
        return {
            "external_id": fields["external_id"],
            "token": signer.token,
            "status": signer.status,
            "name": fields["name"],
            "lock_name": fields["lock_name"],
            "email": fields["email"],
            "lock_email": fields["lock_email"],
            "hide_email": fields["hide_email"],
            "blank_email": fields["blank_email"],
            "phone_country": fields["phone_country"],
            "phone_number": fields["phone_number"],
            "lock_phone": fields["lock_phone"],
            "hide_phone": fields["hide_phone"],
            "blank_phone": fields["blank_phone"],
            "times_viewed": signer.times_viewed,
            "last_view_at": _timestamp(signer.last_view_at),
            "signed_at": _timestamp(signer.signed_at),
            "auth_mode": fields["auth_mode"],
            "qualification": fields["qualification"],
            "require_selfie_photo": fields["require_selfie_photo"],
            "require_document_photo": fields["require_document_photo"],
            "geo_latitude": signer.geo_latitude,
            "geo_longitude": signer.geo_longitude,
            "redirect_link": fields["redirect_link"],
            "signature_image": None,
            "visto_image": None,
            "document_photo_url": self._link(signer.document_photo) or "",
            "document_verse_photo_url": self._link(signer.document_verse_photo) or "",
            "selfie_photo_url": self._link(signer.selfie_photo) or "",
            "selfie_photo_url2": "",
            "send_via": "email" if fields["send_automatic_email"] else "",
            "resend_attempts": {"whatsapp": 0, "email": 0, "sms": 0},
            "cpf": fields["cpf"],
            "cnpj": "",
            "send_automatic_whatsapp_signed_file": fields["send_automatic_whatsapp_signed_file"],
            "liveness_photo_url": "",
            "selfie_validation_type": fields["selfie_validation_type"],
            "ip": signer.ip,
            # GUESS (contracts/zapsign.md §2.1): real links are app.zapsign.com.br/verificar/{token}; ours point at
            # the simulator's own signing page so a person can sign during a local demo.
            "sign_url": f"{self.base_url}/verificar/{signer.token}",
            "order_group": fields["order_group"],
        }

    # -- webhooks -------------------------------------------------------------------------------------------------

    def _emit(
        self,
        event_type: str,
        document: SimDocument | None,
        extra: dict[str, Any] | None = None,
        *,
        body: dict[str, Any] | None = None,
        doc_token: str | None = None,
        unknown: bool = False,
    ) -> int:
        """Send `event_type` to every matching registration. Returns the number of deliveries queued."""
        if body is None:
            assert document is not None
            body = {**self._document_json(document), "event_type": event_type, **(extra or {})}
            doc_token = document.token
        sent = 0
        for registration in list(self.registrations.values()):
            if registration.matches(event_type, doc_token, unknown=unknown):
                headers = {item["name"]: item["value"] for item in registration.headers}
                self.webhooks.send(registration.url, event_type, body, headers)
                sent += 1
        return sent

    def _emit_current_state(self, document: SimDocument) -> None:
        # GUESS (contracts/zapsign.md §4.1 "Reprocessing"): the resent event type is not documented.
        if document.deleted:
            self._emit("doc_deleted", document)
        elif self._is_refused(document):
            self._emit("doc_refused", document)
        else:
            signed = [signer for signer in document.signers if signer.status == "signed"]
            if signed:
                last = max(signed, key=lambda signer: signer.signed_at or document.created_at)
                self._emit("doc_signed", document, {"signer_who_signed": self._signer_json(last)})
            else:
                self._emit("doc_created", document)

    def webhooks_settled(self) -> bool:
        """No delivery pending, held back or in flight (each is delivered, dropped or out of attempts)."""
        if not self.webhooks.idle():
            return False
        for delivery in list(self.webhooks.deliveries):
            in_flight = len(delivery.statuses) < delivery.attempts
            exhausted = delivery.attempts >= self.webhooks.max_attempts
            if in_flight or not (delivery.delivered or delivery.dropped or exhausted):
                return False
        return True

    def wait_for_webhooks(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.webhooks_settled():
            if time.monotonic() > deadline:
                raise TimeoutError("webhook deliveries still pending")
            time.sleep(0.02)

    # -- signer and document actions (control API and Python API) --------------------------------------------------

    def find_documents(self, *, external_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                self._document_json(document)
                for document in self.documents.values()
                if (external_id is None or document.options["external_id"] == external_id)
                and (status is None or document.status == status)
            ]

    def open_link(self, signer_token: str) -> dict[str, Any]:
        """The signer opens the signing link: `link-opened`, `times_viewed` + 1, fires `doc_viewed`."""
        with self.lock:
            document, signer = self._signer_and_document(signer_token)
            now = self.now()
            if signer.status == "new":
                signer.status = "link-opened"
            signer.times_viewed += 1
            signer.last_view_at = document.last_update_at = now
            # §4.4 doc_viewed: the signer object also carries the notification that brought them.
            viewer = {
                **self._signer_json(signer),
                "notification_type": "request",
                "notification_channel": "email" if signer.fields["send_automatic_email"] else "whatsapp",
                "sent_at": _timestamp(document.created_at),
            }
            self._emit("doc_viewed", document, {"signer_who_viewed": viewer})
            return self._signer_json(signer)

    def upload_photos(
        self, signer_token: str, *, document: bool = True, verse: bool = True, selfie: bool = True
    ) -> dict[str, Any]:
        """The signer takes the ID photos (front, back) and the selfie: served as expiring PNG links."""
        with self.lock:
            doc, signer = self._signer_and_document(signer_token)
            self._require_in_progress(doc)
            if signer.status == "signed":
                raise ActionError(409, "signer already signed")
            if document:
                signer.document_photo = self._store(_png(96, 60, (40, 90, 200), signer.token), "png")
            if verse:
                signer.document_verse_photo = self._store(_png(96, 60, (40, 160, 90), signer.token), "png")
            if selfie:
                signer.selfie_photo = self._store(_png(60, 80, (220, 150, 90), signer.token), "png")
            doc.last_update_at = self.now()
            return self._signer_json(signer)

    def sign(
        self, signer_token: str, *, geo_latitude: str = "-23.559298", geo_longitude: str = "-46.683343"
    ) -> dict[str, Any]:
        """The signer signs. Photos the document requires and the signer has not taken are taken first (the signing
        page would not let them sign without). Fires one `doc_signed`; the doc is `signed` after the last signer."""
        with self.lock:
            document, signer = self._signer_and_document(signer_token)
            self._require_in_progress(document)
            if signer.status == "signed":
                raise ActionError(409, "signer already signed")
            if document.options["signature_order_active"]:
                order = signer.fields["order_group"] or 0
                waiting = [
                    other
                    for other in document.signers
                    if other.status != "signed" and (other.fields["order_group"] or 0) < order
                ]
                if waiting:
                    raise ActionError(409, "an earlier signer in the signing order has not signed")
            fields = signer.fields
            self.upload_photos(
                signer_token,
                document=bool(fields["require_document_photo"]) and signer.document_photo is None,
                verse=bool(fields["require_document_photo"]) and signer.document_verse_photo is None,
                selfie=bool(fields["require_selfie_photo"]) and signer.selfie_photo is None,
            )
            now = self.now()
            if signer.status == "new":
                signer.times_viewed += 1
                signer.last_view_at = now
            signer.status = "signed"
            signer.signed_at = document.last_update_at = now
            signer.geo_latitude, signer.geo_longitude, signer.ip = geo_latitude, geo_longitude, "127.0.0.1"
            if all(other.status == "signed" for other in document.signers):
                document.status = "signed"
            # GUESS (contracts/zapsign.md §5 item 10): signed_file null until everyone signed, unless configured.
            if document.status == "signed" or self.config.partial_signed_file:
                self._regenerate_signed_files(document)
            self._emit("doc_signed", document, {"signer_who_signed": self._signer_json(signer)})
            return self._document_json(document)

    def refuse_by_signer(self, signer_token: str, rejected_reason: str = "Recusado pelo signatário") -> dict[str, Any]:
        """The signer refuses on the signing page: doc `refused_status`, `rejected_reason`, fires `doc_refused`."""
        with self.lock:
            document, _signer = self._signer_and_document(signer_token)
            self._require_in_progress(document)
            self._refuse(document, rejected_reason)
            return self._document_json(document)

    def expire(self, doc_token: str) -> dict[str, Any]:
        """The deadline passed: fires `doc_expired`. The status stays `pending` (no expired status is documented,
        §4.4); the simulator refuses further signatures."""
        with self.lock:
            document = self._document(doc_token)
            self._require_in_progress(document)
            document.expired = True
            deadline = document.options["date_limit_to_sign"]
            moment = _parse_deadline(deadline) if deadline else self.now()
            expiration = moment.isoformat(timespec="microseconds")  # "…+00:00" as in the §4.4 example
            self._emit("doc_expired", document, {"expiration_date": expiration})
            return self._document_json(document)

    def send_event(self, doc_token: str, event_type: str, extra: dict[str, Any] | None = None) -> int:
        """Send any event (typically an unknown one) with the document serializer; returns deliveries queued."""
        with self.lock:
            document = self._document(doc_token)
            return self._emit(event_type, document, extra, unknown=event_type not in KNOWN_EVENTS)

    def email_bounce(self, token: str, email: str = "bounce@example.invalid") -> int:
        """An `email_bounce` (§4.4: not a document payload). `token` is whatever token you pass (the docs do not
        say whether it is the document's or the signer's, §5 item 18)."""
        with self.lock:
            signer = self.signers.get(token)
            doc_token = signer.doc_token if signer else token
            body = {
                "email": email,
                "token": token,
                "type": "link_email",
                "status": "dropped",
                "status_code": None,
                "error": "ZapSign did not send the message to this email address because there was a previous "
                "delivery failure to this same email.",
                "delivered": False,
                "event_type": "email_bounce",
            }
            return self._emit("email_bounce", None, body=body, doc_token=doc_token)

    def _refuse(self, document: SimDocument, reason: str) -> None:
        document.status = self.config.refused_status
        document.rejected_reason = reason
        document.last_update_at = self.now()
        self._emit("doc_refused", document)

    def _regenerate_signed_files(self, document: SimDocument, label: str | None = None) -> None:
        names = ", ".join(signer.fields["name"] for signer in document.signers if signer.status == "signed")
        stamp = label or f"Assinado via ZapSign (simulador) por: {names}"
        document.signed_file = self._store(stamp_pdf(self.files[document.original_file].data, stamp), "pdf")
        for extra in document.extra_docs:
            extra.signed_file = self._store(stamp_pdf(self.files[extra.original_file].data, stamp), "pdf")

    def _document(self, doc_token: str) -> SimDocument:
        document = self.documents.get(doc_token)
        if document is None:
            raise ActionError(404, "document not found")
        return document

    def _signer_and_document(self, signer_token: str) -> tuple[SimDocument, SimSigner]:
        signer = self.signers.get(signer_token)
        if signer is None:
            raise ActionError(404, "signer not found")
        return self.documents[signer.doc_token], signer

    def _require_in_progress(self, document: SimDocument) -> None:
        if document.deleted or document.status != "pending" or document.expired:
            raise ActionError(409, f"document is not in progress (status {document.status})")

    # -- control views --------------------------------------------------------------------------------------------

    def _control_documents(self, request: Request) -> Response:
        results = self.find_documents(external_id=request.args.get("external_id"), status=request.args.get("status"))
        return json_response({"count": len(results), "results": results})

    def _control_expire(self, request: Request, token: str) -> Response:
        return json_response(self.expire(token))

    def _control_event(self, request: Request, token: str) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        event_type = body.get("event_type")
        if not isinstance(event_type, str) or not event_type:
            raise ActionError(400, "event_type is required")
        extra = body.get("extra") or {}
        if not isinstance(extra, dict):
            raise ActionError(400, "extra must be an object")
        return json_response({"queued": self.send_event(token, event_type, extra)})

    def _control_open(self, request: Request, token: str) -> Response:
        return json_response(self.open_link(token))

    def _control_photos(self, request: Request, token: str) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        return json_response(
            self.upload_photos(
                token,
                document=bool(body.get("document", True)),
                verse=bool(body.get("verse", True)),
                selfie=bool(body.get("selfie", True)),
            )
        )

    def _control_sign(self, request: Request, token: str) -> Response:
        return json_response(self.sign(token))

    def _control_refuse(self, request: Request, token: str) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        reason = body.get("rejected_reason") or "Recusado pelo signatário"
        return json_response(self.refuse_by_signer(token, str(reason)))

    def _control_email_bounce(self, request: Request) -> Response:
        body = request.get_json(force=True, silent=True) or {}
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise ActionError(400, "token is required")
        return json_response({"queued": self.email_bounce(token, str(body.get("email") or "bounce@example.invalid"))})

    def _control_webhooks(self, request: Request) -> Response:
        with self.lock:
            return json_response([registration.to_json() for registration in self.registrations.values()])

    def _control_flush(self, request: Request) -> Response:
        self.webhooks.flush_held()
        return json_response({"settled": self.webhooks_settled()})

    def _control_clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = request.get_json(force=True, silent=True) or {}
            seconds = body.get("advance_seconds")
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                raise ActionError(400, "advance_seconds must be a non-negative number")
            self.advance_clock(float(seconds))
        return json_response({"now": _timestamp(self.now()), "offset_seconds": self.clock_offset})

    def _control_config(self, request: Request) -> Response:
        if request.method == "POST":
            body = request.get_json(force=True, silent=True) or {}
            try:
                with self.lock:
                    self.config.update(body)
            except ValueError as error:
                raise ActionError(400, str(error)) from None
        return json_response(vars(self.config))

    # -- the signing page (sign_url) ------------------------------------------------------------------------------

    def _signing_page(self, request: Request, token: str) -> Response:
        try:
            signer = self.open_link(token)
            document = self._document(self.signers[token].doc_token)
        except ActionError as error:
            return Response(html.escape(error.detail), status=error.status, content_type="text/plain")
        can_sign = signer["status"] != "signed" and document.status == "pending" and not document.deleted
        action = (
            f'<form method="post" action="/verificar/{html.escape(token)}/sign"><button>Assinar</button></form>'
            if can_sign
            else f"<p>Status: {html.escape(signer['status'])} / documento {html.escape(document.status)}</p>"
        )
        page = (
            "<!doctype html><meta charset=utf-8><title>ZapSign simulator</title>"
            f"<h1>{html.escape(document.name)}</h1><p>Signatário: {html.escape(signer['name'])}</p>"
            f'<p><a href="{html.escape(self._link(document.original_file) or "")}">Documento original</a></p>{action}'
        )
        return Response(page, content_type="text/html; charset=utf-8")

    def _signing_page_sign(self, request: Request, token: str) -> Response:
        try:
            self.sign(token)
        except ActionError as error:
            return Response(html.escape(error.detail), status=error.status, content_type="text/plain")
        return Response(
            "<!doctype html><meta charset=utf-8><p>Documento assinado.</p>", content_type="text/html; charset=utf-8"
        )


# -- request parsing helpers -------------------------------------------------------------------------------------


def _bearer(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    if allow_empty and not request.get_data():
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise RequestRejectedError({"detail": "JSON parse error - envie um objeto JSON."})
    return body


def _validate_signers(signers: object) -> list[dict[str, Any]] | list[str]:
    if not isinstance(signers, list) or not signers:
        return [REQUIRED]
    errors: list[dict[str, Any]] = []
    for signer in signers:
        if not isinstance(signer, dict):
            errors.append({"non_field_errors": ["Esperado um objeto."]})
        elif not isinstance(signer.get("name"), str) or not signer["name"].strip():
            errors.append({"name": [REQUIRED]})
        else:
            errors.append({})
    return errors if any(errors) else []


def _check_booleans(body: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if name in body and body[name] is not None and not isinstance(body[name], bool):
            # §2.5: 406 for string/boolean type mistakes (e.g. "true" instead of true).
            raise RequestRejectedError({"detail": f"{name} deve ser um booleano (true/false)."}, status=406)


def _document_options(body: dict[str, Any]) -> dict[str, Any]:
    deadline = body.get("date_limit_to_sign")
    if deadline not in (None, ""):
        if not isinstance(deadline, str):
            raise RequestRejectedError({"date_limit_to_sign": ["Use YYYY-MM-DD."]})
        try:
            _parse_deadline(deadline)
        except ValueError:
            raise RequestRejectedError(
                {"date_limit_to_sign": ["Use YYYY-MM-DD ou YYYY-MM-DDTHH:MM:SS.ffffffZ."]}
            ) from None
    lang = body.get("lang") or "pt-br"
    if lang not in ("pt-br", "es", "en"):
        raise RequestRejectedError({"lang": [f'"{lang}" não é uma escolha válida.']})
    # GUESS (contracts/zapsign.md §3.1, §5 item 17): the request key is spelled "Metadata" in the docs' table and
    # "metadata" in payloads; accept both.
    metadata = body.get("metadata", body.get("Metadata")) or []
    if not isinstance(metadata, list) or not all(isinstance(item, dict) and "key" in item for item in metadata):
        raise RequestRejectedError({"metadata": ['Use [{"key": "...", "value": "..."}].']})
    return {
        "external_id": body.get("external_id") or "",
        "folder_path": body.get("folder_path") or "/",
        "lang": lang,
        "date_limit_to_sign": deadline or None,
        "signature_order_active": bool(body.get("signature_order_active")),
        "signed_file_only_finished": bool(body.get("signed_file_only_finished")),
        "disable_signer_emails": bool(body.get("disable_signer_emails")),
        "allow_refuse_signature": bool(body.get("allow_refuse_signature")),
        "brand_logo": body.get("brand_logo") or "",
        "brand_primary_color": body.get("brand_primary_color") or "",
        "brand_name": body.get("brand_name") or "",
        "reminder_every_n_days": _int(body.get("reminder_every_n_days"), 0),
        "metadata": [{"key": str(item["key"]), "value": item.get("value")} for item in metadata],
    }


def _signer_fields(body: dict[str, Any]) -> dict[str, Any]:
    def text(key: str) -> str:
        value = body.get(key)
        return "" if value is None else str(value)

    return {
        "name": text("name"),
        "email": text("email"),
        "phone_country": text("phone_country") or "55",
        "phone_number": text("phone_number"),
        "auth_mode": body.get("auth_mode") or "assinaturaTela",
        "external_id": text("external_id"),
        "qualification": text("qualification"),
        "redirect_link": text("redirect_link"),
        "cpf": text("cpf"),
        "selfie_validation_type": body.get("selfie_validation_type") or "none",
        "order_group": body.get("order_group"),
        "send_automatic_whatsapp_signed_file": body.get("send_automatic_whatsapp_signed_file"),
        **{name: bool(body.get(name)) for name in SIGNER_BOOLEANS if name != "send_automatic_whatsapp_signed_file"},
    }


def _valid_headers(headers: object) -> bool:
    return isinstance(headers, list) and all(
        isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str)
        for item in headers
    )


def _parse_deadline(value: str) -> datetime:
    if len(value) == 10:
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day, 23, 59, 59, 999, tzinfo=UTC)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _folder(path: str) -> str:
    """A folder path with exactly one leading and one trailing slash ("/a/b/"), "/" for the root."""
    inner = "/".join(part for part in path.split("/") if part)
    return f"/{inner}/" if inner else "/"


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def _http_date(unix: int) -> str:
    return datetime.fromtimestamp(unix, tz=UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _not_found() -> Response:
    return json_response({"detail": "Não encontrado."}, 404)


def _coded(code: str, status: int) -> RequestRejectedError:
    # GUESS (contracts/zapsign.md §2.6, §5 item 13): the key carrying the named code is not documented.
    return RequestRejectedError({"error": code}, status)


def _s3_error(code: str, message: str, *, status: int = 403, extra: str = "") -> Response:
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{html.escape(message)}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId><HostId>simulator</HostId></Error>"
    )
    return Response(body, status=status, content_type="application/xml")


def _png(width: int, height: int, rgb: tuple[int, int, int], salt: str) -> bytes:
    """A small valid PNG: a solid colour with a few pixels derived from `salt` (so each signer's photo differs)."""
    noise = hashlib.sha256(salt.encode()).digest()
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            shade = noise[(x * 7 + y * 13) % len(noise)] // 8 if (x + y) % 9 == 0 else 0
            rows += bytes(min(255, channel + shade) for channel in rgb)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b"")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the ZapSign simulator on loopback.")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the API token clients must send")
    parser.add_argument("--file-link-lifetime", type=int, default=3600, help="seconds a file link stays valid")
    parser.add_argument("--refused-status", default="recusado", choices=["recusado", "refused"])
    parser.add_argument("--webhook-backoff", type=float, default=0.5, help="first webhook retry delay, seconds")
    args = parser.parse_args(argv)
    simulator = ZapSignSimulator(
        port=args.port,
        host=args.host,
        api_token=args.token,
        file_link_lifetime_seconds=args.file_link_lifetime,
        refused_status=args.refused_status,
        webhook_backoff_seconds=args.webhook_backoff,
    )
    simulator.start()
    print(f"ZapSign simulator: {simulator.api_base_url}  (control: {simulator.base_url}/_sim/zapsign/)", flush=True)
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
