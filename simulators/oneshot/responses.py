"""The Optimizer's answers: the legacy error bodies, FastAPI's 422, and the formats
of its values (times, MIME types)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Response

from simulators.base import json_response


def legacy_error(status: int, reason: str, details: Any) -> Response:
    """The legacy error envelope `{"status": "<code> <reason>", "details": ...}`.

    LEGACY (docs/providers/oneshot.md §5.1, §7 item 2): the new Optimizer's error format is undocumented, so the
    simulator answers errors the way the old one did; the client branches on the HTTP status first.
    """
    return json_response({"status": f"{status} {reason}", "details": details}, status)


def bad_request(details: Any) -> Response:
    return legacy_error(400, "Bad Request", details)


def forbidden(details: Any) -> Response:
    return legacy_error(403, "Forbidden", details)


def not_found(details: Any) -> Response:
    return legacy_error(404, "Not Found", details)


def precondition_failed(details: Any) -> Response:
    return legacy_error(412, "Precondition Failed", details)


def unsupported(details: Any) -> Response:
    return legacy_error(415, "Unsupported Media Type", details)


def server_error(details: Any) -> Response:
    return legacy_error(500, "Internal Server Error", details)


def fastapi_422(location: list[str], message: str, kind: str) -> Response:
    # INFERENCE (docs/providers/oneshot.md §2): the New Optimizer looks like FastAPI, whose validation errors look so.
    return json_response({"detail": [{"loc": location, "msg": message, "type": kind}]}, 422)


def sniff_mime(data: bytes) -> str:
    """The type a file really is, from its first bytes (the declared content type is not trusted)."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.lstrip()[:1] in (b"{", b"["):
        return "application/json"
    return "application/octet-stream"


def compact_time(epoch: float) -> str:
    """`sent_at` format of the webhooks: `YYYYMMDDHHMMSS` (docs/providers/oneshot.md §6.2)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d%H%M%S")


def certificate_time(epoch: float) -> str:
    """`valid_from` / `valid_to` format in webhook certificates: `YYYYMMDD HH:MM:SS`
    (docs/providers/oneshot.md §6.2)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d %H:%M:%S")


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes", "on")
