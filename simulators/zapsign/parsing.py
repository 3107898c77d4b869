"""Reading ZapSign API requests: the bearer token, JSON bodies, and the validation of document and signer fields."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from simulators.base import json_response
from simulators.zapsign.model import REQUIRED, SIGNER_BOOLEANS, RequestRejectedError


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
    # GUESS (docs/providers/zapsign.md §3.1, §5 item 17): the request key is spelled "Metadata" in the docs' table and
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


def _not_found() -> Response:
    return json_response({"detail": "Não encontrado."}, 404)


def _coded(code: str, status: int) -> RequestRejectedError:
    # GUESS (docs/providers/zapsign.md §2.6, §5 item 13): the key carrying the named code is not documented.
    return RequestRejectedError({"error": code}, status)
