"""The `signbridge` commands (typer): each resolves its target, does its work and answers through `Output`."""

from __future__ import annotations

import contextlib
import hashlib
import io
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from signbridge.domain.errors import RequestNotFoundError
from signbridge.domain.lifecycle import TERMINAL_REQUEST_STATUSES
from signbridge.domain.models import RequestAggregate, RequestStatus, utc_now
from signbridge.domain.operations import Queue
from signbridge.workflow.maintenance import housekeep, reconcile
from signbridge.workflow.verification import VerificationNotHeldError, accept_verification, retry_verification
from signbridge_cli import dlq as dead_letter_queues
from signbridge_cli import doctor as doctor_checks
from signbridge_cli import webhooks as zapsign_webhooks
from signbridge_cli.errors import EXIT_FAILED, EXIT_USAGE, CommandError
from signbridge_cli.evidence import evidence_app
from signbridge_cli.output import Output, table
from signbridge_cli.replay import replay_message
from signbridge_cli.show import render_summary, request_summary
from signbridge_cli.target import Target, resolve_target

HELP = """Operate SignBridge: inspect requests, replay webhooks, manage the ZapSign webhook, redrive dead letters, run a schedule, check a deployment.

Where it works: --stage STAGE (the CloudFormation outputs of SignBridge-STAGE, with your AWS credentials); else the SIGNBRIDGE_* variables; else the running local stack, found through its state file (no configuration).

Every command prints tables for people and one JSON document with --json. Personal data, secrets and provider tokens are never printed. Exit codes: 0 done, 1 could not do it, 2 usage or configuration.
"""  # noqa: E501 - rich re-wraps help text; one line per paragraph

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="markdown", add_completion=False)
requests_app = typer.Typer(help="Signature requests: where one stands, which are waiting.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhooks: replay a stored one; register or rotate ZapSign's.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-letter queues: what waits there, and moving it back.", no_args_is_help=True)
schedule_app = typer.Typer(help="The scheduled work (reconciler, housekeeper), run now.", no_args_is_help=True)
app.add_typer(requests_app, name="requests")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(dlq_app, name="dlq")
app.add_typer(schedule_app, name="schedule")
app.add_typer(evidence_app, name="evidence")

StageOption = Annotated[
    str | None,
    typer.Option("--stage", "-s", help="A deployed stage: resources from the outputs of stack SignBridge-STAGE."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]


def _output(ctx: typer.Context, json_mode: bool) -> Output:
    streams = ctx.obj or {}
    output = Output(json_mode=json_mode, out=streams.get("out"), err=streams.get("err"))
    # What SignBridge's code prints while the command runs is its metrics (EMF lines for CloudWatch, meaningless on
    # an operator's machine): kept out of the answer, which goes to the stream captured above.
    ctx.with_resource(contextlib.redirect_stdout(io.StringIO()))
    return output


def _target(stage: str | None) -> Target:
    return resolve_target(stage)


# ------------------------------------------------------------------------------------------------ requests


@requests_app.command("show")
def requests_show(ctx: typer.Context, request_id: str, stage: StageOption = None, json: JsonOption = False) -> None:
    """Where a request stands: status, documents and signers (by index and status only), timeline.

    **Examples**

        signbridge requests show 9f2c4e0b6a0d4d4fa8a3c1e0c2a1b7de
        signbridge requests show 9f2c4e0b6a0d4d4fa8a3c1e0c2a1b7de --stage prod --json
    """
    out = _output(ctx, json)
    services = _target(stage).services()
    try:
        aggregate = services.records.get_request(request_id)
    except RequestNotFoundError:
        raise CommandError(f"no request {request_id}") from None
    summary = request_summary(aggregate)
    out.result(summary, lambda console: console.print(render_summary(summary), markup=False, highlight=False))


@requests_app.command("list")
def requests_list(
    ctx: typer.Context,
    *,
    status: Annotated[
        list[RequestStatus] | None,
        typer.Option("--status", help="Only this status (repeat for several). Default: every unfinished status."),
    ] = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="The requests with this external id.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 50,
    stage: StageOption = None,
    json: JsonOption = False,
) -> None:
    """Requests by status (longest waiting first) or by external id (newest first).

    **Examples**

        signbridge requests list                              # every unfinished request
        signbridge requests list --status awaiting_otp --status zapsign_pending
        signbridge requests list --external-id order-42 --stage prod --json
    """
    out = _output(ctx, json)
    services = _target(stage).services()
    found: list[Any] = []
    if external_id is not None:
        if status:
            raise CommandError("give --status or --external-id, not both", EXIT_USAGE)
        found.extend(services.records.list_by_external_id(external_id, limit=limit, cursor=None).items)
    else:
        wanted = status or [item for item in RequestStatus if item not in TERMINAL_REQUEST_STATUSES]
        for item in wanted:
            cursor: str | None = None
            while len(found) < limit:
                page = services.records.list_by_status(item, limit=limit - len(found), cursor=cursor)
                found.extend(page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
    rows = [
        {
            "id": request.id,
            "workflow": request.workflow.value,
            "status": request.status.value,
            "status_since": request.status_since.isoformat(),
            "created_at": request.created_at.isoformat(),
            "external_id": request.external_id,
        }
        for request in found[:limit]
    ]

    def render(console: Console) -> None:
        columns = ["id", "workflow", "status", "status_since", "created_at", "external_id"]
        console.print(table(f"{len(rows)} request(s)", columns, ([row[c] for c in columns] for row in rows)))

    out.result({"requests": rows}, render)


# ------------------------------------------------------------------------------------------------ webhooks


@requests_app.command("retry-verification")
def requests_retry_verification(
    ctx: typer.Context, request_id: str, stage: StageOption = None, json: JsonOption = False
) -> None:
    """A request in verification_failed: fetch its signed files from the provider and verify them again.

    For a provider that served a bad file once (docs/evidence.md, "When a file fails"). A file that fails again
    holds the request again.

    **Examples**

        signbridge requests retry-verification 9f2c4e0b6a0d4d4fa8a3c1e0c2a1b7de --stage prod
    """
    out = _output(ctx, json)
    services = _target(stage).services()
    correlation_id = f"operator-{uuid.uuid4().hex}"
    aggregate = _operator_verification(lambda: retry_verification(services, request_id, correlation_id=correlation_id))
    _moved(out, request_id, aggregate.request.status, correlation_id)


@requests_app.command("accept-verification")
def requests_accept_verification(
    ctx: typer.Context,
    request_id: str,
    sha256: Annotated[str, typer.Option("--sha256", help="The sha256 of the file accepted, as its verification shows")],
    stage: StageOption = None,
    json: JsonOption = False,
) -> None:
    """A request in verification_failed: accept the signed file with this sha256 although it did not pass, and go on.

    The file is fetched again and archived only if it is still that very file; its verification records that an
    operator accepted it. Read the report first (`GET /v1/requests/{id}`, documents[].verifications).

    **Examples**

        signbridge requests accept-verification 9f2c4e0b6a0d4d4fa8a3c1e0c2a1b7de --sha256 3b1f…e9 --stage prod
    """
    out = _output(ctx, json)
    services = _target(stage).services()
    correlation_id = f"operator-{uuid.uuid4().hex}"
    aggregate = _operator_verification(
        lambda: accept_verification(services, request_id, sha256, correlation_id=correlation_id)
    )
    _moved(out, request_id, aggregate.request.status, correlation_id)


def _operator_verification(command: Callable[[], RequestAggregate]) -> RequestAggregate:
    try:
        return command()
    except RequestNotFoundError:
        raise CommandError("no such request") from None
    except VerificationNotHeldError as error:
        raise CommandError(str(error)) from None


def _moved(out: Output, request_id: str, status: RequestStatus, correlation_id: str) -> None:
    data = {"request_id": request_id, "status": status.value, "correlation_id": correlation_id}
    out.result(
        data,
        lambda console: console.print(
            f"request {request_id} is {status.value} (correlation id {correlation_id})", markup=False
        ),
    )


@webhooks_app.command("replay")
def webhooks_replay(ctx: typer.Context, raw_key: str, stage: StageOption = None, json: JsonOption = False) -> None:
    """Re-enqueue the hint a stored webhook body stands for (raw/zapsign/… or raw/oneshot/…).

    The worker then re-reads the provider, as for the original delivery: the body itself is never trusted. A body of
    a document that is not SignBridge's enqueues nothing (exit 1).

    **Examples**

        signbridge webhooks replay raw/zapsign/2026-11-22/3b1f…e9.json --stage prod
        signbridge webhooks replay raw/oneshot/2026-11-22/77aa…01.json --json
    """
    out = _output(ctx, json)
    services = _target(stage).services()
    correlation_id = f"replay-{uuid.uuid4().hex}"
    queue, message = replay_message(services, raw_key, correlation_id=correlation_id)
    # A deduplication id of its own: the original hint's may still be within SQS's five-minute window.
    digest = hashlib.sha256(raw_key.encode()).hexdigest()[:16]
    services.queues.send(queue, message, deduplication_id=f"replay:{digest}:{correlation_id}")
    data = {
        "raw_key": raw_key,
        "op": message.op,
        "request_id": message.request_id,
        "signer": message.signer,
        "queue": f"{queue.value}-ops",
        "correlation_id": correlation_id,
    }
    target = f"signer {message.signer} of " if message.signer is not None else ""
    out.result(
        data,
        lambda console: console.print(
            f"replayed {raw_key}: {message.op} for {target}request {message.request_id} on {queue.value}-ops "
            f"(correlation id {correlation_id})",
            markup=False,
        ),
    )


WebhookType = Annotated[
    str, typer.Option("--type", help="One ZapSign event type; default: ZapSign's default set (document events).")
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="The webhook URL. Default: SignBridge's own (stack output, or the local stack)."),
]


@webhooks_app.command("register")
def webhooks_register(
    ctx: typer.Context,
    url: UrlOption = None,
    type: WebhookType = "",
    stage: StageOption = None,
    json: JsonOption = False,
) -> None:
    """Register SignBridge's webhook at ZapSign with the current secret in its X-Webhook-Token header.

    Prints the webhook id (keep it: `webhooks rotate` needs it), never the secret. ZapSign's create is not
    idempotent: each run registers one more webhook, and an uncertain answer (timeout, 5xx) may have registered it.

    **Examples**

        signbridge webhooks register --stage prod
        signbridge webhooks register --stage prod --type email_bounce
        signbridge webhooks register --url https://api.example.com/webhooks/zapsign
    """
    out = _output(ctx, json)
    target = _target(stage)
    registration = zapsign_webhooks.register(target, zapsign_webhooks.webhook_url(target, url), type=type)
    data = registration.as_dict()
    out.result(
        data,
        lambda console: console.print(
            f"registered ZapSign webhook {registration.webhook_id} at {registration.base_url}: {registration.url} "
            f"(events: {type or 'default set'}; header {zapsign_webhooks.HEADER} set from the current webhook "
            "secret, value not shown)",
            markup=False,
        ),
    )


@webhooks_app.command("rotate")
def webhooks_rotate(
    ctx: typer.Context,
    *,
    old_webhook_id: Annotated[
        str, typer.Option("--old-webhook-id", help="The id of the registration to replace (printed by `register`).")
    ],
    url: UrlOption = None,
    type: WebhookType = "",
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait", min=0, help="Seconds to let the functions' secret caches expire. Default: secrets_cache_seconds."
        ),
    ] = None,
    stage: StageOption = None,
    json: JsonOption = False,
) -> None:
    """Rotate the ZapSign webhook secret: accept both, register with the new one, delete the old, retire it.

    Nothing is refused at any point: the new secret is accepted before ZapSign sends it, and the old one until its
    registration is gone. If a step fails, both stay accepted and the error says what is left.

    **Examples**

        signbridge webhooks rotate --old-webhook-id 4521 --stage prod
        signbridge webhooks rotate --old-webhook-id 7 --wait 0          # the local stack
    """
    out = _output(ctx, json)
    target = _target(stage)
    seconds = float(target.settings.secrets_cache_seconds if wait is None else wait)

    def waiter(total: float) -> None:
        with out.progress("waiting for the secret caches", total=total) as update:
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < total:
                update(completed=elapsed)
                time.sleep(min(1.0, total - elapsed))

    result = zapsign_webhooks.rotate(
        target,
        zapsign_webhooks.webhook_url(target, url),
        old_webhook_id=old_webhook_id,
        type=type,
        wait_seconds=seconds,
        waiter=waiter,
        step=out.note,
    )
    out.result(
        result,
        lambda console: console.print(
            f"rotated: ZapSign webhook {result['webhook_id']} carries the new secret, {old_webhook_id} is deleted, "
            "the old secret is retired",
            markup=False,
        ),
    )


# ------------------------------------------------------------------------------------------------ dlq


def _queues(target: Target, queue: Queue | None) -> list[tuple[Queue, str]]:
    settings = target.settings
    every = [(Queue.ZAPSIGN, settings.zapsign_queue_url), (Queue.ONESHOT, settings.oneshot_queue_url)]
    return [item for item in every if queue is None or item[0] is queue]


@dlq_app.command("show")
def dlq_show(
    ctx: typer.Context,
    queue: Annotated[Queue | None, typer.Argument(help="zapsign or oneshot; default both.")] = None,
    stage: StageOption = None,
    json: JsonOption = False,
) -> None:
    """How many steps wait in the dead-letter queues, and the last redrive of each.

    **Examples**

        signbridge dlq show
        signbridge dlq show zapsign --stage prod --json
    """
    out = _output(ctx, json)
    target = _target(stage)
    found = [dead_letter_queues.dead_letters(item, url) for item, url in _queues(target, queue)]
    data = {"queues": [item.as_dict() for item in found]}

    def render(console: Console) -> None:
        rows = []
        for item in found:
            task = item.last_task
            last = f"{task['status']}: {task['moved']}/{task['to_move']}" if task else None
            rows.append([item.queue, item.dlq_url.rsplit("/", 1)[-1], item.waiting, item.in_flight, last])
        console.print(table("dead letters", ["queue", "DLQ", "waiting", "in flight", "last redrive"], rows))

    out.result(data, render)


@dlq_app.command("redrive")
def dlq_redrive(
    ctx: typer.Context,
    *,
    queue: Annotated[Queue, typer.Argument(help="zapsign or oneshot.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would move.")] = False,
    rate: Annotated[
        int | None, typer.Option("--rate", min=1, max=500, help="Messages per second (SQS default: as fast as it can).")
    ] = None,
    stage: StageOption = None,
    json: JsonOption = False,
) -> None:
    """Move a queue's dead letters back onto it with SQS's StartMessageMoveTask, and follow the task to its end.

    SQS moves them oldest first, keeps each message's group (a request's steps stay in order) and gives each a
    deduplication id of its own. The operations are no-ops where their work is done: redriving is safe.

    **Examples**

        signbridge dlq redrive zapsign --dry-run
        signbridge dlq redrive zapsign --stage prod
        signbridge dlq redrive oneshot --stage prod --rate 5
    """
    out = _output(ctx, json)
    target = _target(stage)
    ((_, url),) = _queues(target, queue)
    letters = dead_letter_queues.dead_letters(queue, url)
    if dry_run or letters.waiting == 0:
        data = {**letters.as_dict(), "dry_run": dry_run, "moved": 0}
        outcome = f"would move {letters.waiting} message(s)" if dry_run else "nothing to move"
        out.result(
            data,
            lambda console: console.print(
                f"{letters.as_dict()['dlq_name']}: {letters.waiting} message(s) waiting, {letters.in_flight} in "
                f"flight; {outcome}",
                markup=False,
            ),
        )
        return
    with out.progress(f"redriving {queue.value}", total=letters.waiting) as update:
        task = dead_letter_queues.redrive(
            letters, rate=rate, on_progress=lambda moved, total: update(completed=moved, total=total or None)
        )
    data = {**letters.as_dict(), "dry_run": False, **task}
    out.result(
        data,
        lambda console: console.print(
            f"redrive {task['status']}: moved {task['moved']} of {task['to_move']} message(s) from "
            f"{letters.as_dict()['dlq_name']} to {letters.as_dict()['queue_name']}",
            markup=False,
        ),
    )
    if task["status"] not in ("COMPLETED", None) and "note" not in task:
        raise CommandError(f"the move task ended {task['status']}: {task.get('failure_reason') or 'no reason given'}")


# ------------------------------------------------------------------------------------------------ schedule


def _timestamp(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise typer.BadParameter("give a time with its UTC offset, e.g. 2026-11-22T10:20:00Z")
    return moment


@schedule_app.command("run")
def schedule_run(
    ctx: typer.Context,
    schedule: Annotated[str, typer.Argument(help="reconciler or housekeeper.")],
    at: Annotated[
        str | None, typer.Option("--at", help="The time the run measures from (default: now), e.g. 2026-11-23T03:15Z.")
    ] = None,
    stage: StageOption = None,
    json: JsonOption = False,
) -> None:
    """Run a schedule's work once from here (the same code as the scheduled function) and print its report.

    Safe next to the scheduled runs. What it writes carries the correlation id operator-….

    **Examples**

        signbridge schedule run reconciler --stage prod
        signbridge schedule run housekeeper --at 2026-11-23T03:15:00Z --json
    """
    if schedule not in ("reconciler", "housekeeper"):
        raise CommandError("the schedules are reconciler and housekeeper", EXIT_USAGE)
    out = _output(ctx, json)
    now = _timestamp(at) if at else utc_now()
    services = _target(stage).services()
    correlation_id = f"operator-{schedule}-{uuid.uuid4().hex}"
    with out.progress(f"running the {schedule}"):
        if schedule == "reconciler":
            report: dict[str, Any] = reconcile(services, now=now, correlation_id=correlation_id).as_dict()
        else:
            report = housekeep(services, now=now, correlation_id=correlation_id).as_dict()
    data = {"schedule": schedule, "correlation_id": correlation_id, **report}

    def render(console: Console) -> None:
        rows = [[key, _flat(value)] for key, value in report.items()]
        console.print(table(f"{schedule} ({correlation_id})", ["", "count"], rows))

    out.result(data, render)


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {_flat(item)}" for key, item in value.items()) or "0"
    return str(value)


# ------------------------------------------------------------------------------------------------ doctor


@app.command("doctor")
def doctor(ctx: typer.Context, stage: StageOption = None, json: JsonOption = False) -> None:
    """Check a SignBridge: AWS resources, secrets filled, the ZapSign token and plan, the webhook secret, the
    One-Shot Optimizer and its environment, the HTTP API. Exit 1 when a check fails.

    **Examples**

        signbridge doctor                  # the local stack
        signbridge doctor --stage prod --json
    """
    out = _output(ctx, json)
    target = _target(stage)
    with out.progress("checking", total=12) as update:
        done: list[doctor_checks.Check] = []

        def on_check(check: doctor_checks.Check) -> None:
            done.append(check)
            update(completed=len(done), description=check.name)

        checks = doctor_checks.run_checks(target, on_check=on_check)
    data = doctor_checks.summary(checks)
    styles = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}

    def render(console: Console) -> None:
        grid = table(None, ["check", "status", "detail"], [])
        for item in checks:
            grid.add_row(item.name, f"[{styles[item.status]}]{item.status}[/]", item.detail.replace("[", r"\["))
        console.print(grid)

    out.result(data, render)
    if not data["healthy"]:
        raise typer.Exit(EXIT_FAILED)


# ------------------------------------------------------------------------------------------------ run


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def run(ctx: typer.Context) -> None:
    """All of SignBridge on this machine (python -m local): every option is passed on (`signbridge run --help`).

    The local stack runs from a clone of SignBridge, with the development install (moto, werkzeug): `make install`
    there, then `.venv/bin/signbridge run` or `make run`. The installed package carries the operator's commands only.

    **Examples**

        signbridge run                       # simulators, API on 127.0.0.1:8000, one demo request
        signbridge run --no-demo --port 0    # any option of python -m local (docs/local.md)
    """
    raise typer.Exit(run_local(list(ctx.args)))


def find_checkout(candidates: Iterable[Path]) -> Path | None:
    """The first of `candidates` that is a clone of SignBridge (its local stack beside the Lambda code), or None."""
    for candidate in candidates:
        if (candidate / "local" / "__main__.py").is_file() and (candidate / "functions" / "signbridge").is_dir():
            return candidate
    return None


def _checkout_candidates() -> list[Path]:
    # An editable install (`make install`) runs this package from the clone itself; else the working directory.
    return [Path(__file__).resolve().parent.parent, Path.cwd()]


def run_local(arguments: list[str]) -> int:
    """`python -m local` with `arguments`, from the clone this tool runs from (or the working directory). The wheel
    ships `signbridge` and `signbridge_cli` only: the local stack, the simulators and the demo stay in the clone."""
    checkout = find_checkout(_checkout_candidates())
    if checkout is None:
        raise CommandError(
            "the local stack runs from a clone of SignBridge, not from the installed package: in a clone, "
            "`make install`, then `make run` (or `.venv/bin/signbridge run`)",
            EXIT_USAGE,
        )
    if str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    try:
        from local.__main__ import main as run_local_stack  # noqa: PLC0415 - imports the stack only for this command
    except ModuleNotFoundError as error:
        raise CommandError(
            f"the local stack needs the development dependencies ({error.name} is missing): "
            f"`make install` in {checkout} (or pip install -e '.[dev]' there)",
            EXIT_USAGE,
        ) from None
    return run_local_stack(arguments)
