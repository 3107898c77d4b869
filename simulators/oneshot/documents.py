"""A request's documents: upload, list, retrieve (original or signed), delete, and the contract."""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Request, Response

from simulators.base import json_response
from simulators.oneshot.create import CreateRequest
from simulators.oneshot.model import MAX_FILES_PER_CALL, SimDocument
from simulators.oneshot.responses import bad_request, not_found, precondition_failed, sniff_mime, unsupported
from simulators.pdf import make_pdf


class Documents(CreateRequest):
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
            # GUESS (docs/providers/oneshot.md §6.4): the limit is documented, the error text is not.
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
                # GUESS (docs/providers/oneshot.md §6.1): a request is single-use; adding documents after the sign is
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
            # Documented shape (docs/providers/oneshot.md §5.7, N1).
            return json_response({"status": "success", "detail": uploaded[0]})
        # GUESS (docs/providers/oneshot.md §7 item 3): the new multi-file answer is unknown; a list under "detail".
        return json_response({"status": "success", "detail": uploaded})

    def _documents_list(self, request: Request, pk: str) -> Response:
        with self.lock:
            found = self._find(pk, "Request {pk} not found")
            if isinstance(found, Response):
                return found
            # Shape per the user's copy of the new docs (docs/providers/oneshot.md §5.7): the inner object is empty.
            # GUESS: an empty request answers an empty dict (legacy answered 404 "No documents found ...").
            detail: dict[str, dict[str, Any]] = {uid: {} for uid in found.documents}
        return json_response({"status": "success", "detail": detail})

    def _documents_delete(self, request: Request, pk: str) -> Response:
        with self.lock:
            found = self._find(pk, "Request {pk} not found")
            if isinstance(found, Response):
                return found
            if not found.documents:
                return not_found("No documents found for specified Request")  # LEGACY (docs/providers/oneshot.md §5.7)
            found.documents.clear()
        # Documented shape (docs/providers/oneshot.md §5.7, N1).
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
            return not_found("Document not found")  # LEGACY (docs/providers/oneshot.md §5.7)
        # LEGACY content type (docs/providers/oneshot.md §7 item 5: the new one is unknown).
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
