"""The ZapSign REST API under `/api/v1/`: authentication and rate limit in front of every view, documents, signers
and webhook registrations (§2-§4)."""

from __future__ import annotations

import hmac
import uuid
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from simulators.base import View, json_response
from simulators.zapsign.model import (
    DOC_BOOLEANS,
    KNOWN_EVENTS,
    MAX_EXTRA_DOCS,
    REQUIRED,
    SIGNER_BOOLEANS,
    ActionError,
    RequestRejectedError,
    SimDocument,
    SimExtraDoc,
    SimSigner,
    WebhookRegistration,
)
from simulators.zapsign.parsing import (
    _bearer,
    _check_booleans,
    _coded,
    _document_options,
    _folder,
    _int,
    _json_object,
    _not_found,
    _signer_fields,
    _valid_headers,
    _validate_signers,
)
from simulators.zapsign.serializers import _timestamp
from simulators.zapsign.signers import SignerActions


class RestApi(SignerActions):
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
        # GUESS (docs/providers/zapsign.md §2.6): DRF-style {"detail": ...} bodies for 401/402/403.
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

    def _over_rate_limit(self, key: str) -> bool:
        with self.lock:
            window = int((self._clock() + self.clock_offset) // self.config.rate_limit_window_seconds)
            for stale in [item for item in self._rate_windows if item[1] < window]:
                del self._rate_windows[stale]
            count = self._rate_windows.get((key, window), 0) + 1
            self._rate_windows[(key, window)] = count
            return count > self.config.rate_limit_per_minute

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
                # GUESS (docs/providers/zapsign.md §3.3): `folder_path` filters on the document's folder; whether it
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
            # GUESS (docs/providers/zapsign.md §3.5): deleting twice is not documented; answer 200 and fire nothing.
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
            # GUESS (docs/providers/zapsign.md §3.8): the status code past 14 extra documents or on a finished document
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
        # GUESS (docs/providers/zapsign.md §3.9): "no documented body" on success.
        return json_response({"message": "Documento enviado para reprocessamento."})

    def _refuse_document(self, request: Request) -> Response:
        if not request.headers.get("User-Agent"):
            # GUESS (docs/providers/zapsign.md §3.6): the User-Agent is mandatory; the status for its absence is not
            # shown.
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
            # GUESS (docs/providers/zapsign.md §4.4 doc_refused, §3.6): a company cancel also fires doc_refused.
            self._refuse(document, reason)
            if self.config.refuse_fires_doc_signed:
                self._regenerate_signed_files(document, label="Documento recusado")
                self._emit("doc_signed", document, {"signer_who_signed": None})
        return json_response({"message": "Documento cancelado com sucesso!"})

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
            # GUESS (docs/providers/zapsign.md §4.2): only "", the four document events and email_bounce are documented;
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
        # GUESS (docs/providers/zapsign.md §4.2): the success body is not documented.
        return json_response({"message": "Headers adicionados com sucesso."})

    def _delete_webhook(self, request: Request) -> Response:
        body = _json_object(request)
        registration = self._registration(body.get("id"))
        with self.lock:
            del self.registrations[registration.id]
        return json_response({"message": "Webhook deletado com sucesso"})

    def _info_plan(self, request: Request) -> Response:
        # GUESS (docs/providers/zapsign.md §3: `GET info-plan/` is documented, its answer's fields are not): the plan's
        # name and the API credits left, the two facts an operator asks for.
        with self.lock:
            used = len(self.documents)
        return json_response({"plan": "simulator", "api_credits": max(0, 10_000 - used), "documents_created": used})

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
