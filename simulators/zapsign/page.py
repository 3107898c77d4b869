"""The signing page a signer's `sign_url` opens (`/verificar/<token>`): view the document and sign in a browser."""

from __future__ import annotations

import html

from werkzeug.wrappers import Request, Response

from simulators.zapsign.control import ControlApi
from simulators.zapsign.model import ActionError


class SigningPage(ControlApi):
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
