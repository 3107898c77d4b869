"""`signbridge webhooks register|rotate`: SignBridge's webhook at ZapSign and the secret header it carries.

ZapSign signs nothing: SignBridge knows a webhook is ZapSign's by a shared secret in the `X-Webhook-Token` header,
registered with the webhook (docs/providers/zapsign.md §4.2). The webhook secret (Secrets Manager) holds
`{"zapsign": [current, previous], "oneshot": [...]}`; the webhook function accepts every non-empty entry.

Rotation, in one command: (1) write `[new, current]` so both are accepted; (2) wait until the functions' secret
caches have expired (`secrets_cache_seconds`) so they accept the new one; (3) register the webhook again with the
new secret; (4) delete the old registration at ZapSign; (5) write `[new]`: the old secret is retired. A failure
after (1) leaves both secrets accepted (nothing is refused) and says what is left to do.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

from aws_lambda_powertools.utilities import parameters

from signbridge import api_routes
from signbridge.domain.zapsign import WebhookType
from signbridge.providers.zapsign import ZapSignClient
from signbridge.storage.clients import secretsmanager_client
from signbridge_cli.errors import CommandError
from signbridge_cli.target import Target

HEADER: Final = api_routes.ZAPSIGN_WEBHOOK_SECRET_HEADER
NEW_SECRET_BYTES: Final = 32


@dataclass(frozen=True)
class Registration:
    webhook_id: str
    url: str
    type: str
    base_url: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "url": self.url,
            "type": self.type or "(default set)",
            "zapsign": self.base_url,
            "header": HEADER,
        }


def zapsign_client(target: Target) -> ZapSignClient:
    token = target.services().secrets.zapsign().api_token.get_secret_value()
    return ZapSignClient(target.settings.zapsign_base_url, token)


def webhook_url(target: Target, url: str | None) -> str:
    chosen = url or target.webhook_url
    if not chosen:
        raise CommandError(
            "give --url (with --stage or the local stack, SignBridge's own webhook URL is the default)", 2
        )
    return chosen


def register(target: Target, url: str, *, type: str = "", secret: str | None = None) -> Registration:
    """Register `url` at ZapSign with the current webhook secret (or `secret`) in the header."""
    value = secret or target.services().secrets.webhooks().zapsign[0].get_secret_value()  # the first is current
    webhook_id = zapsign_client(target).create_webhook(url, type=cast("WebhookType", type), headers={HEADER: value})
    return Registration(webhook_id=webhook_id, url=url, type=type, base_url=target.settings.zapsign_base_url)


def rotate(
    target: Target,
    url: str,
    *,
    old_webhook_id: str,
    type: str = "",
    wait_seconds: float,
    waiter: Callable[[float], None],
    step: Callable[[str], None],
) -> dict[str, Any]:
    name = target.settings.webhook_secret_name
    client = secretsmanager_client()
    document = _read(client, name)
    current = [value for value in document.get("zapsign", []) if value]
    if not current:
        raise CommandError(f"the webhook secret {name} has no current ZapSign secret: fill it first (docs/deploy.md)")
    new = secrets.token_urlsafe(NEW_SECRET_BYTES)
    _write(client, name, {**document, "zapsign": [new, current[0]]})
    step("new secret written; the current and the new one are both accepted")
    if wait_seconds > 0:
        waiter(wait_seconds)
    try:
        registration = register(target, url, type=type, secret=new)
        step(f"registered ZapSign webhook {registration.webhook_id} with the new secret")
        zapsign_client(target).delete_webhook(old_webhook_id)
        step(f"deleted the old ZapSign webhook {old_webhook_id}")
    except Exception as error:
        raise CommandError(
            f"rotation stopped with both secrets accepted ({type_name(error)}: {error}); nothing is refused. "
            "Finish by hand: `signbridge webhooks register` with the new secret is done or not (check ZapSign's UI), "
            "delete the old webhook there, then run `webhooks rotate` again or write [new] to the secret"
        ) from error
    _write(client, name, {**document, "zapsign": [new]})
    step("old secret retired")
    return {
        **registration.as_dict(),
        "old_webhook_id": old_webhook_id,
        "secret_name": name,
        "accepted_secrets": 1,
        "waited_seconds": wait_seconds,
    }


def type_name(error: BaseException) -> str:
    return type(error).__name__


def _read(client: Any, name: str) -> dict[str, Any]:
    try:
        document = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
    except ValueError:
        raise CommandError(f"the webhook secret {name} is not a JSON document") from None
    if not isinstance(document, dict):
        raise CommandError(f"the webhook secret {name} is not a JSON object")
    return document


def _write(client: Any, name: str, document: dict[str, Any]) -> None:
    client.put_secret_value(SecretId=name, SecretString=json.dumps(document))
    parameters.clear_caches()  # this process reads the new value from now on
