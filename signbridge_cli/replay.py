"""`signbridge webhooks replay`: the hint a stored webhook body (`raw/…`) stands for, to re-enqueue it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from signbridge.domain.errors import StoredFileNotFoundError
from signbridge.domain.keys import RAW_PREFIX
from signbridge.domain.messages import OperationMessage
from signbridge.domain.operations import Op
from signbridge.storage.queues import Queue
from signbridge.wiring import AwsServices as Services
from signbridge_cli.errors import EXIT_USAGE, CommandError

MAX_RAW_BYTES: Final = 1024 * 1024  # a webhook body is a few KB; anything bigger is not one


def replay_message(services: Services, raw_key: str, *, correlation_id: str) -> tuple[Queue, OperationMessage]:
    """The hint a stored webhook body stands for, bound to its request: what the webhook handler enqueued when the
    body arrived, for the worker to re-read the provider (it never trusts the body)."""
    provider = _provider_of(raw_key)
    body = _read_raw(services, raw_key)
    if provider == "zapsign":
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise CommandError("this ZapSign body names no document token: nothing to replay")
        target = services.records.find_by_zapsign_doc_token(token)
        if target is None:
            raise CommandError("no request holds this ZapSign document (not ours, or not recorded): nothing to replay")
        event_type = body.get("event_type")
        payload: dict[str, Any] = {"doc_token": token}
        if isinstance(event_type, str):
            payload["event_type"] = event_type
        message = OperationMessage(
            op=Op.SYNC_ZAPSIGN_DOCUMENT.value,
            request_id=target.request_id,
            correlation_id=correlation_id,
            payload=payload,
        )
        return Queue.ZAPSIGN, message
    pk = _oneshot_pk(body)
    if pk is None:
        raise CommandError("this One-Shot body names no request pk: nothing to replay")
    located = services.records.find_by_oneshot_request(pk)
    if located is None or located.signer is None:
        raise CommandError("no request holds this One-Shot request (not ours, or not recorded): nothing to replay")
    message = OperationMessage(
        op=Op.CONFIRM_ONESHOT_SIGNATURE.value,
        request_id=located.request_id,
        signer=located.signer,
        correlation_id=correlation_id,
        payload={"oneshot_pk": pk},
    )
    return Queue.ONESHOT, message


def _provider_of(raw_key: str) -> str:
    for provider in ("zapsign", "oneshot"):
        if raw_key.startswith(f"{RAW_PREFIX}{provider}/"):
            return provider
    raise CommandError(f"a stored webhook key starts with {RAW_PREFIX}zapsign/ or {RAW_PREFIX}oneshot/", EXIT_USAGE)


def _read_raw(services: Services, raw_key: str) -> dict[str, Any]:
    try:
        with services.files.open_stream(raw_key) as stream:
            data = stream.read(MAX_RAW_BYTES + 1)
    except StoredFileNotFoundError:
        raise CommandError(f"no object {raw_key} in the bucket") from None
    if len(data) > MAX_RAW_BYTES:
        raise CommandError("the object is too large to be a webhook body")
    try:
        body = json.loads(data)
    except ValueError:
        raise CommandError("the stored body is not JSON") from None
    if not isinstance(body, dict):
        raise CommandError("the stored body is not a JSON object")
    return body


def _oneshot_pk(body: Mapping[str, Any]) -> str | None:
    # New format: {"request": {"pk": 388141, ...}}; legacy: {"request": 46760} (docs/providers/oneshot.md §6.2).
    request = body.get("request")
    value = request.get("pk") if isinstance(request, Mapping) else request
    if isinstance(value, bool) or value is None:
        return None
    text = str(value)
    return text if text.isdigit() else None
