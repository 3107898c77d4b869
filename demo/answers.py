"""Reading the API's answer: the request, its status, signers, documents and timeline, whatever its envelope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


def request_view(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request object of an API answer (top level, or under `request`)."""
    inner = body.get("request")
    if isinstance(inner, Mapping) and "status" in inner and "status" not in body:
        return inner
    return body


def status_of(body: Mapping[str, Any]) -> str:
    return str(request_view(body).get("status", ""))


def request_id_of(body: Mapping[str, Any]) -> str:
    view = request_view(body)
    return str(view.get("id") or view.get("request_id") or "")


def signers_of(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    signers = body.get("signers") or request_view(body).get("signers") or []
    return [signer for signer in signers if isinstance(signer, Mapping)]


def documents_of(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    documents = body.get("documents") or request_view(body).get("documents") or []
    return [document for document in documents if isinstance(document, Mapping)]


def timeline_of(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    timeline = body.get("timeline") or request_view(body).get("timeline") or []
    return [entry for entry in timeline if isinstance(entry, Mapping)]


def current_signer_of(body: Mapping[str, Any]) -> int | None:
    value = request_view(body).get("current_signer")
    return value if isinstance(value, int) else None


def index_of(item: Mapping[str, Any], position: int) -> int:
    value = item.get("index")
    return value if isinstance(value, int) else position


def signer_token(signer: Mapping[str, Any]) -> str | None:
    """The signer's ZapSign token: recorded by SignBridge, or the last segment of the `sign_url`."""
    for key in ("zapsign_signer_token", "zapsign_token", "signer_token"):
        value = signer.get(key)
        if isinstance(value, str) and value:
            return value
    url = signer.get("sign_url")
    if isinstance(url, str) and url:
        return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or None
    return None


def describe_timeline_entry(entry: Mapping[str, Any]) -> str:
    subject = str(entry.get("subject") or "request")
    index = entry.get("index", entry.get("subject_index"))
    who = subject if index is None else f"{subject} {index}"
    moved = f"{entry.get('from', entry.get('from_status')) or '∅'} → {entry.get('to', entry.get('to_status'))}"
    detail = f" ({entry['detail']})" if entry.get("detail") else ""
    return f"{entry.get('at', '')} {who}: {moved} [{entry.get('cause', '')}]{detail}"
