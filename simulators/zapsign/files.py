"""Stored files and their links: presigned S3-SigV2-style URLs that expire, served with S3-like XML errors (§3.2)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from werkzeug.wrappers import Request, Response

from simulators.pdf import make_pdf
from simulators.zapsign.model import FILE_SOURCES, LOOPBACK_HOSTS, MAX_URL_PDF_BYTES, RequestRejectedError, StoredFile
from simulators.zapsign.state import ZapSignState


def _http_date(unix: int) -> str:
    return datetime.fromtimestamp(unix, tz=UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _s3_error(code: str, message: str, *, status: int = 403, extra: str = "") -> Response:
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{html.escape(message)}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId><HostId>simulator</HostId></Error>"
    )
    return Response(body, status=status, content_type="application/xml")


class FileLinks(ZapSignState):
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
                # GUESS (docs/providers/zapsign.md §4.5 item 2): the docs forbid the data: prefix; 400 is our reading.
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
