"""Readers of One-Shot response bodies: each accepts every shape the contract lists (docs/providers/oneshot.md §5)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from signbridge.domain.oneshot import DocumentInfo

_UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


def parse_request_pk(body: object) -> int | None:
    """The request pk of a `create` answer, in the contract's order (§5.3): `details.pk`, `detail.pk`, `pk`,
    the legacy integer `details`, then "pk N" in the message."""
    if not isinstance(body, dict):
        return None
    # GUESS (docs/providers/oneshot.md §5.3): the new shape is unconfirmed, hence every candidate.
    for key in ("details", "detail"):
        inner = body.get(key)
        if isinstance(inner, dict) and _as_int(inner.get("pk")) is not None:
            return _as_int(inner.get("pk"))
    if _as_int(body.get("pk")) is not None:
        return _as_int(body.get("pk"))
    legacy = _as_int(body.get("details"))  # LEGACY: {"status":"201 Created","details":29571}
    if legacy is not None:
        return legacy
    match = re.search(r"\bpk\s*:?\s*(\d+)", text_of(body), flags=re.IGNORECASE)
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
    payload = payload_of(body)
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
    payload = payload_of(body)
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
    payload = payload_of(body)
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
    match = re.search(_UUID, text_of(body))
    return match.group(0) if match else None


def payload_of(body: object) -> Any:
    """The payload of an envelope: `details` or `detail`, whichever the endpoint uses (§5.1)."""
    if not isinstance(body, dict):
        return None
    for key in ("details", "detail"):
        if body.get(key) not in (None, "", [], {}):
            return body[key]
    return body.get("details", body.get("detail"))


def text_of(body: object) -> str:
    """The human message of a success envelope: `message`, `messsage` (sic, §5.1) or a string `details`."""
    if not isinstance(body, dict):
        return ""
    for key in ("message", "messsage", "details", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
