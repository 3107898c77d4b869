"""The `signbridge` entry point: the argument parser and the mapping of failures to messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from signbridge.domain.errors import StoreError
from signbridge.providers.http import ProviderError, UncertainOutcomeError
from signbridge.storage.queues import Queue
from signbridge_cli.commands import _redrive, _register_webhook, _replay, _run, _run_local, _show, _timestamp, _trigger
from signbridge_cli.errors import EXIT_FAILED, CommandError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signbridge",
        description="Operate SignBridge: run it locally, inspect requests, replay webhooks, redrive queues.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--stage",
        help="read resource names from the outputs of the CloudFormation stack SignBridge-STAGE "
        "(default: the SIGNBRIDGE_* environment variables)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="start the local stack (python -m local)",
        description="Start the local stack; options as python -m local.",
    )
    run.add_argument("local_arguments", nargs=argparse.REMAINDER, help="options for python -m local (see --help there)")
    run.set_defaults(handler=_run)

    show = commands.add_parser("show", parents=[common], help="where a request stands (personal data masked)")
    show.add_argument("request_id")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(handler=_show)

    replay = commands.add_parser(
        "replay", parents=[common], help="re-enqueue the hint of a stored webhook body (raw/zapsign/…, raw/oneshot/…)"
    )
    replay.add_argument("raw_key", help="S3 key of the stored body, e.g. raw/zapsign/2026-11-22/<sha256>.json")
    replay.set_defaults(handler=_replay)

    redrive_command = commands.add_parser(
        "redrive", parents=[common], help="move a queue's dead-letter messages back onto it"
    )
    redrive_command.add_argument("queue", choices=[queue.value for queue in Queue])
    redrive_command.add_argument("--dry-run", action="store_true", help="only count what would move")
    redrive_command.add_argument("--max", type=int, help="move at most this many messages")
    redrive_command.set_defaults(handler=_redrive)

    register = commands.add_parser(
        "register-webhook", parents=[common], help="register SignBridge's webhook at ZapSign with its secret header"
    )
    register.add_argument("--url", help="the webhook URL (default with --stage: the ZapSignWebhookUrl output)")
    register.add_argument(
        "--type", default="", help="a single ZapSign event type; default: ZapSign's default set (all document events)"
    )
    register.set_defaults(handler=_register_webhook)

    trigger = commands.add_parser("trigger", parents=[common], help="run a schedule's work once, print its report")
    trigger.add_argument("schedule", choices=["reconciler", "housekeeper"])
    trigger.add_argument("--at", type=_timestamp, help="the time the run measures from (default: now)")
    trigger.set_defaults(handler=_trigger)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        # Everything after `run` belongs to the local stack's own parser (argparse cannot pass options like
        # `--port` through a sub-command untouched).
        return _run_local(argv[1:])
    arguments = build_parser().parse_args(argv)
    stream = out or sys.stdout
    handler: Callable[[argparse.Namespace, TextIO], int] = arguments.handler
    try:
        return handler(arguments, stream)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    except UncertainOutcomeError as error:
        # Not idempotent upstream (a webhook registration): it may have happened. Look before trying again.
        print(
            f"error: {error.provider} {error.operation}: {error.message}; it may or may not have happened: check at "
            "the provider (ZapSign: Settings > Integrations > Webhooks) before trying again",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except ProviderError as error:
        # Typed provider errors carry the provider's answer, never the token or the secret header.
        print(f"error: {error.provider} {error.operation}: {error.message}", file=sys.stderr)
        return EXIT_FAILED
    except (StoreError, ClientError, BotoCoreError) as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED
