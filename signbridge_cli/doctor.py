"""`signbridge doctor`: what can be checked about a SignBridge, each check with its answer.

Checks, in order: the AWS identity; the table, the bucket and both queues (and their dead letters); each secret
filled in the shape the functions read (values never shown); the ZapSign token works (`GET info-plan/`: the plan and
credits as ZapSign answers them); the webhook secret and the header it is registered with; the One-Shot Optimizer
reachable with the stored credentials, and which environment it is; the HTTP API answers. ZapSign documents no way
to list webhooks (docs/providers/zapsign.md §4.2), so whether the registration exists cannot be asked of ZapSign: the
check says so and what is known on SignBridge's side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import boto3
import requests

from signbridge import api_routes
from signbridge.domain.operations import Queue
from signbridge.storage.clients import CLIENT_CONFIG, dynamodb_client, s3_client, sqs_client
from signbridge_cli.dlq import dead_letters
from signbridge_cli.target import Target

Status = Literal["ok", "warn", "fail", "skip"]
TEST_OPTIMIZER_HOSTS: Final = ("optimizer-developers.uanataca.com",)
HTTP_TIMEOUT: Final = 10


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail}


def run_checks(target: Target, *, on_check: Callable[[Check], None] | None = None) -> list[Check]:
    services = target.services()
    settings = target.settings
    checks: list[Check] = []

    def check(name: str, probe: Callable[[], tuple[Status, str]]) -> None:
        try:
            status, detail = probe()
        except Exception as error:  # a check that raises is a failed check; the others still run
            status, detail = "fail", f"{type(error).__name__}: {_short(error)}"
        result = Check(name, status, detail)
        checks.append(result)
        if on_check is not None:
            on_check(result)

    check("target", lambda: ("ok", target.source))
    check("aws identity", _identity)
    check("table", lambda: _table(settings.table_name))
    check("bucket", lambda: _bucket(settings.bucket_name))
    for queue, url in ((Queue.ZAPSIGN, settings.zapsign_queue_url), (Queue.ONESHOT, settings.oneshot_queue_url)):
        check(f"{queue.value} queue", lambda queue=queue, url=url: _queue(queue, url))  # type: ignore[misc]
    check("zapsign secret", lambda: (services.secrets.zapsign(), ("ok", f"{settings.zapsign_secret_name}: filled"))[1])
    check("webhook secret", lambda: _webhook_secret(target))
    check("oneshot secret", lambda: (services.secrets.oneshot(), ("ok", f"{settings.oneshot_secret_name}: filled"))[1])
    check("zapsign token", lambda: _zapsign(target))
    check("zapsign webhook", lambda: _webhook(target))
    check("oneshot optimizer", lambda: _oneshot(target))
    check("http api", lambda: _api(target))
    return checks


def _identity() -> tuple[Status, str]:
    identity = boto3.client("sts", config=CLIENT_CONFIG).get_caller_identity()
    return "ok", f"account {identity['Account']} as {identity['Arn']}"


def _table(name: str) -> tuple[Status, str]:
    table = dynamodb_client().describe_table(TableName=name)["Table"]
    return ("ok" if table["TableStatus"] == "ACTIVE" else "warn"), f"{name}: {table['TableStatus']}"


def _bucket(name: str) -> tuple[Status, str]:
    s3_client().head_bucket(Bucket=name)
    return "ok", f"{name}: reachable"


def _queue(queue: Queue, url: str) -> tuple[Status, str]:
    letters = dead_letters(queue, url, client=sqs_client())
    detail = f"{url.rsplit('/', 1)[-1]}: reachable; dead letters {letters.waiting}"
    if letters.waiting:
        return "warn", f"{detail} (see `signbridge dlq show`, then `signbridge dlq redrive {queue.value}`)"
    return "ok", detail


def _webhook_secret(target: Target) -> tuple[Status, str]:
    accepted = target.services().secrets.webhooks().accepted_zapsign()
    name = target.settings.webhook_secret_name
    if len(accepted) > 1:
        return "warn", f"{name}: {len(accepted)} ZapSign secrets accepted (a rotation is under way or unfinished)"
    return "ok", f"{name}: filled, one ZapSign secret accepted"


def _zapsign(target: Target) -> tuple[Status, str]:
    from signbridge_cli.webhooks import zapsign_client  # noqa: PLC0415 - keeps the import graph one-way

    plan = zapsign_client(target).info_plan()
    facts = ", ".join(f"{key} {value}" for key, value in plan.items() if not isinstance(value, dict | list))
    return "ok", f"{target.settings.zapsign_base_url}: token accepted; {facts or 'plan answered'}"


def _webhook(target: Target) -> tuple[Status, str]:
    url = target.webhook_url
    header = api_routes.ZAPSIGN_WEBHOOK_SECRET_HEADER
    if not url:
        return "skip", "SignBridge's webhook URL is not known here (give --stage)"
    return (
        "skip",
        f"ZapSign has no API to list webhooks: check Settings > Integrations > Webhooks for {url} with the header "
        f"{header} (`signbridge webhooks register` sets it from the current secret)",
    )


def _oneshot(target: Target) -> tuple[Status, str]:
    settings = target.settings
    host = urlsplit(settings.oneshot_base_url).hostname or "?"
    environment = f"{settings.oneshot_base_url} (oneshot_env {settings.oneshot_env})"
    tokens = target.services().oneshot().list_tokens()
    if settings.oneshot_env == "prod" and host in TEST_OPTIMIZER_HOSTS:
        return "fail", f"{environment}: a production stage pointed at the public test Optimizer"
    return "ok", f"{environment}: reachable, {len(tokens)} RAO token(s)"


def _api(target: Target) -> tuple[Status, str]:
    if not target.api_url:
        return "skip", "the API's URL is not known here (give --stage)"
    url = target.api_url.rstrip("/") + "/v1/openapi.json"
    response = requests.get(url, timeout=HTTP_TIMEOUT)
    if response.status_code == 200:
        return "ok", f"{url}: 200"
    if response.status_code == 403:
        return "ok", f"{url}: 403 (reachable; the API wants SigV4-signed requests)"
    return "warn", f"{url}: HTTP {response.status_code}"


def _short(error: BaseException) -> str:
    text = str(error)
    return text if len(text) <= 300 else text[:300] + "…"


def summary(checks: list[Check]) -> dict[str, Any]:
    counts = {status: sum(1 for item in checks if item.status == status) for status in ("ok", "warn", "fail", "skip")}
    return {"healthy": counts["fail"] == 0, "counts": counts, "checks": [item.as_dict() for item in checks]}
