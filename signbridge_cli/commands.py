"""The commands: each reads its arguments, does its work through SignBridge's services and prints the outcome.

`run` imports the local stack only when called, so the AWS-facing commands need neither werkzeug nor moto."""

from __future__ import annotations

import argparse
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any, TextIO

from signbridge import api_routes
from signbridge.domain.errors import RequestNotFoundError
from signbridge.domain.models import utc_now
from signbridge.providers.zapsign import ZapSignClient
from signbridge.storage.clients import sqs_client
from signbridge.storage.queues import Queue
from signbridge.wiring import AwsServices as Services
from signbridge.workflow.maintenance import housekeep, reconcile
from signbridge_cli.errors import EXIT_OK, EXIT_USAGE, CommandError
from signbridge_cli.redrive import dead_letter_queue_url, queue_depth, redrive
from signbridge_cli.replay import replay_message
from signbridge_cli.settings import WEBHOOK_URL_OUTPUT, resolve_settings
from signbridge_cli.show import render_summary, request_summary


def _show(arguments: argparse.Namespace, out: TextIO) -> int:
    services = _services(arguments)
    try:
        aggregate = services.records.get_request(arguments.request_id)
    except RequestNotFoundError:
        raise CommandError(f"no request {arguments.request_id}") from None
    summary = request_summary(aggregate)
    print(json.dumps(summary, indent=2) if arguments.json else render_summary(summary), file=out)
    return EXIT_OK


def _replay(arguments: argparse.Namespace, out: TextIO) -> int:
    services = _services(arguments)
    correlation_id = f"replay-{uuid.uuid4().hex}"
    queue, message = replay_message(services, arguments.raw_key, correlation_id=correlation_id)
    # A deduplication id of its own: the original hint's may still be within SQS's five-minute window.
    digest = hashlib.sha256(arguments.raw_key.encode()).hexdigest()[:16]
    services.queues.send(queue, message, deduplication_id=f"replay:{digest}:{correlation_id}")
    target = f"signer {message.signer} of " if message.signer is not None else ""
    print(
        f"replayed {arguments.raw_key}: {message.op} for {target}request {message.request_id} "
        f"on {queue.value}-ops (correlation id {correlation_id})",
        file=out,
    )
    return EXIT_OK


def _redrive(arguments: argparse.Namespace, out: TextIO) -> int:
    settings, _ = resolve_settings(arguments.stage)
    queue = Queue(arguments.queue)
    queue_url = settings.zapsign_queue_url if queue is Queue.ZAPSIGN else settings.oneshot_queue_url
    client = sqs_client()
    dead_letter_url = dead_letter_queue_url(client, queue_url)
    visible, in_flight = queue_depth(client, dead_letter_url)
    dlq_name, queue_name = dead_letter_url.rsplit("/", 1)[-1], queue_url.rsplit("/", 1)[-1]
    print(f"{dlq_name}: {visible} message(s) waiting, {in_flight} in flight", file=out)
    if arguments.dry_run:
        print(f"dry run: would move {visible} message(s) to {queue_name}", file=out)
        return EXIT_OK
    run_id = f"redrive-{utc_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    moved = redrive(client, queue_url=queue_url, dead_letter_url=dead_letter_url, run_id=run_id, limit=arguments.max)
    by_op = ", ".join(f"{op} {count}" for op, count in sorted(moved.items())) or "nothing"
    print(f"moved {sum(moved.values())} message(s) to {queue_name} ({by_op}); deduplication suffix {run_id}", file=out)
    return EXIT_OK


def _register_webhook(arguments: argparse.Namespace, out: TextIO) -> int:
    settings, outputs = resolve_settings(arguments.stage)
    url = arguments.url or outputs.get(WEBHOOK_URL_OUTPUT)
    if not url:
        raise CommandError("give --url (or --stage, whose ZapSignWebhookUrl output is used)", EXIT_USAGE)
    services = Services.from_settings(settings)
    token = services.secrets.zapsign().api_token.get_secret_value()
    current_secret = services.secrets.webhooks().zapsign[0].get_secret_value()  # the first is the current one
    client = ZapSignClient(settings.zapsign_base_url, token)
    header = api_routes.ZAPSIGN_WEBHOOK_SECRET_HEADER
    webhook_id = client.create_webhook(url, type=arguments.type, headers={header: current_secret})
    print(
        f"registered ZapSign webhook {webhook_id} at {settings.zapsign_base_url}: {url} "
        f"(events: {arguments.type or 'default set'}; header {header} set from the current webhook secret, "
        "value not shown)",
        file=out,
    )
    return EXIT_OK


def _trigger(arguments: argparse.Namespace, out: TextIO) -> int:
    services = _services(arguments)
    now = arguments.at or utc_now()
    correlation_id = f"operator-{arguments.schedule}-{uuid.uuid4().hex}"
    if arguments.schedule == "reconciler":
        report: dict[str, Any] = reconcile(services, now=now, correlation_id=correlation_id).as_dict()
    else:
        report = housekeep(services, now=now, correlation_id=correlation_id).as_dict()
    print(json.dumps({"schedule": arguments.schedule, "correlation_id": correlation_id, **report}, indent=2), file=out)
    return EXIT_OK


def _run(arguments: argparse.Namespace, out: TextIO) -> int:
    return _run_local(list(arguments.local_arguments))  # reached only through `--help` listings; see `main`


def _run_local(local_arguments: list[str]) -> int:
    # The local stack's own entry point (simulators, demo, options): one implementation, called as it is.
    from local.__main__ import main as run_local  # noqa: PLC0415 - imports the stack only for this command

    if local_arguments[:1] == ["--"]:
        local_arguments = local_arguments[1:]
    return run_local(local_arguments)


def _services(arguments: argparse.Namespace) -> Services:
    settings, _ = resolve_settings(arguments.stage)
    return Services.from_settings(settings)


def _timestamp(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time with its UTC offset, e.g. 2026-11-22T10:20:00Z")
    return moment
