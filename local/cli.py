"""`signbridge`: the operators' and developers' command line.

    signbridge run [--port 0 --no-demo ...]            the local stack (`python -m local`, same options)
    signbridge show REQUEST_ID [--json]                where a request stands: status, documents, signers, timeline
    signbridge replay RAW_KEY                          re-enqueue the hint of a stored webhook body (raw/...)
    signbridge redrive zapsign|oneshot [--dry-run]     move a queue's dead letters back onto it
    signbridge register-webhook [--url URL]            register SignBridge's webhook at ZapSign with its secret header
    signbridge trigger reconciler|housekeeper [--at T] run a schedule's work once and print its report

Also `python -m local.cli …`. Every command but `run` works against whatever AWS endpoint boto3 is configured for:
real AWS with the operator's credentials, or the local stack's moto (`AWS_ENDPOINT_URL`). Resource names come from
the CloudFormation outputs of `SignBridge-{stage}` with `--stage`, or else from the `SIGNBRIDGE_*` environment
variables the functions read (`signbridge.env_names`); variables also fill what the outputs do not give (the
provider base URLs, `SIGNBRIDGE_ONESHOT_ENV`, ...). docs/operations.md has the operator's walkthroughs.

What is printed never carries personal data (names, e-mails, phones, ID numbers, document names, signing links) nor
a secret or a provider token: signers and documents are shown by index and status.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from signbridge import api_routes, env_names
from signbridge.config import Settings
from signbridge.domain.errors import RequestNotFoundError, StoredFileNotFoundError, StoreError
from signbridge.domain.keys import RAW_PREFIX
from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import RequestAggregate, utc_now
from signbridge.domain.operations import Op, Queue
from signbridge.domain.provider_errors import ProviderError, UncertainOutcomeError
from signbridge.providers.zapsign import ZapSignClient
from signbridge.storage.clients import CLIENT_CONFIG, sqs_client
from signbridge.storage.queues import sqs_safe_id
from signbridge.wiring import AwsServices as Services
from signbridge.workflow.maintenance import housekeep, reconcile

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1  # the command ran and could not do what was asked (nothing to replay, a provider refused)
EXIT_USAGE: Final = 2  # configuration or arguments: nothing was done

STACK_NAME: Final = "SignBridge-{stage}"
# CloudFormation outputs of the stack (infra/stack.py `_outputs`) and the setting each one gives.
OUTPUT_SETTINGS: Final[Mapping[str, str]] = {
    "TableName": env_names.TABLE_NAME,
    "BucketName": env_names.BUCKET_NAME,
    "ZapSignQueueUrl": env_names.ZAPSIGN_QUEUE_URL,
    "OneShotQueueUrl": env_names.ONESHOT_QUEUE_URL,
    "ZapSignSecretName": env_names.ZAPSIGN_SECRET_NAME,
    "WebhookSecretName": env_names.WEBHOOK_SECRET_NAME,
    "OneShotSecretName": env_names.ONESHOT_SECRET_NAME,
}
WEBHOOK_URL_OUTPUT: Final = "ZapSignWebhookUrl"
MAX_RAW_BYTES: Final = 1024 * 1024  # a webhook body is a few KB; anything bigger is not one


class CommandError(Exception):
    """A failure explained to the operator (printed as `error: …`), with the exit code to return."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------------------------------------ configuration


def resolve_settings(
    stage: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    cloudformation: Any = None,
) -> tuple[Settings, dict[str, str]]:
    """The settings to work with, and the stack's outputs (empty without `--stage`).

    With a stage, the stack's outputs give the resource names (they win over variables for those: a stale variable in
    the operator's shell must not point a production command at another table); the `SIGNBRIDGE_*` variables give
    the rest. Without one, the variables give everything.
    """
    environment = dict(os.environ if environ is None else environ)
    outputs: dict[str, str] = {}
    if stage:
        outputs = stack_outputs(stage, cloudformation=cloudformation)
        environment[env_names.STAGE] = stage
        for output, variable in OUTPUT_SETTINGS.items():
            if output in outputs:
                environment[variable] = outputs[output]
    try:
        return Settings.from_environ(environment), outputs
    except ValidationError as error:
        missing = [str(item["loc"][0]) for item in error.errors() if item["type"] == "missing"]
        if missing:
            hint = "give --stage, or set " + ", ".join(_variable_of(field) for field in missing)
            raise CommandError(f"missing configuration: {hint}", EXIT_USAGE) from None
        problems = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
        raise CommandError(f"invalid configuration: {problems}", EXIT_USAGE) from None


def stack_outputs(stage: str, *, cloudformation: Any = None) -> dict[str, str]:
    name = STACK_NAME.format(stage=stage)
    client = cloudformation or boto3.client("cloudformation", config=CLIENT_CONFIG)
    try:
        stacks = client.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        raise CommandError(
            f"stack {name}: {error.response.get('Error', {}).get('Message', error)}", EXIT_USAGE
        ) from None
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}


def _variable_of(field: str) -> str:
    variable = f"SIGNBRIDGE_{field.upper()}"
    return variable if variable in env_names.ALL else field


# ------------------------------------------------------------------------------------------------ show


def request_summary(aggregate: RequestAggregate) -> dict[str, Any]:
    """What `show` prints, masked: no names, e-mails, phones, ID numbers, document names, links, tokens or metadata
    values (a client may put anything there)."""
    request = aggregate.request
    return {
        "id": request.id,
        "workflow": request.workflow.value,
        "status": request.status.value,
        "status_since": _iso(request.status_since),
        "version": request.version,
        "created_at": _iso(request.created_at),
        "deadline": _iso(request.deadline),
        "external_id": request.external_id,
        "metadata_keys": sorted(request.metadata),
        "failure_reason": request.failure_reason,
        "current_signer": request.current_signer,
        "zapsign_document": request.zapsign_doc_token is not None,
        "documents": [
            {
                "index": document.index,
                "status": document.status.value,
                "status_since": _iso(document.status_since),
                "size": document.size,
                "sha256": document.sha256,
                "original": document.original_key is not None,
                "signed_stages": sorted(document.signed_keys),
                "final": document.final_key is not None,
                "rejection_reason": document.rejection_reason,
            }
            for document in aggregate.documents
        ],
        "signers": [
            {
                "index": signer.index,
                "status": signer.status.value,
                "status_since": _iso(signer.status_since),
                "oneshot_request": signer.oneshot_request_pk is not None,
                "evidence": sorted(kind.value for kind in signer.evidence_keys),
                "contract": signer.contract_key is not None,
                "otp_sent_at": _iso(signer.otp_sent_at),
                "oneshot_deleted_at": _iso(signer.oneshot_deleted_at),
                "failure_reason": signer.failure_reason,
            }
            for signer in aggregate.signers
        ],
        "timeline": [
            {
                "at": _iso(entry.at),
                "subject": entry.subject.value
                if entry.subject_index is None
                else f"{entry.subject}:{entry.subject_index}",
                "from": entry.from_status,
                "to": entry.to_status,
                "cause": entry.cause.value,
                "correlation_id": entry.correlation_id,
                "detail": entry.detail,
            }
            for entry in aggregate.timeline
        ],
    }


def render_summary(summary: Mapping[str, Any]) -> str:
    lines = [
        f"request {summary['id']}  ({summary['workflow']})",
        f"  status      {summary['status']} since {summary['status_since']} (version {summary['version']})",
        f"  created     {summary['created_at']}    deadline {summary['deadline'] or '-'}",
    ]
    if summary["external_id"]:
        lines.append(f"  external id {summary['external_id']}")
    if summary["metadata_keys"]:
        lines.append(f"  metadata    {', '.join(summary['metadata_keys'])} (values not shown)")
    if summary["failure_reason"]:
        lines.append(f"  reason      {summary['failure_reason']}")
    if summary["current_signer"] is not None:
        lines.append(f"  One-Shot turn of signer {summary['current_signer']}")
    lines.append(f"  documents ({len(summary['documents'])}; names not shown)")
    for document in summary["documents"]:
        stored = ", ".join(
            part
            for part in (
                "original" if document["original"] else "",
                *(f"signed:{stage}" for stage in document["signed_stages"]),
                "final" if document["final"] else "",
            )
            if part
        )
        lines.append(
            f"    #{document['index']}  {document['status']:<17} since {document['status_since']}  "
            f"{document['size'] or '-'} B  sha256 {(document['sha256'] or '-')[:12]}  [{stored or 'nothing stored'}]"
        )
        if document["rejection_reason"]:
            lines.append(f"        rejected: {document['rejection_reason']}")
    lines.append(f"  signers ({len(summary['signers'])}; personal data not shown)")
    for signer in summary["signers"]:
        facts = [
            "one-shot request" if signer["oneshot_request"] else "",
            f"evidence {len(signer['evidence'])}/3" if signer["evidence"] else "",
            "contract" if signer["contract"] else "",
            f"SMS {signer['otp_sent_at']}" if signer["otp_sent_at"] else "",
            f"deleted at the Optimizer {signer['oneshot_deleted_at']}" if signer["oneshot_deleted_at"] else "",
        ]
        described = ", ".join(fact for fact in facts if fact)
        lines.append(
            f"    #{signer['index']}  {signer['status']:<17} since {signer['status_since']}"
            + (f"  [{described}]" if described else "")
        )
        if signer["failure_reason"]:
            lines.append(f"        failed: {signer['failure_reason']}")
    lines.append("  timeline")
    for entry in summary["timeline"]:
        moved = f"{entry['from'] or '(new)'} -> {entry['to']}"
        detail = f"  {entry['detail']}" if entry["detail"] else ""
        lines.append(
            f"    {entry['at']}  {entry['subject']:<10} {moved:<36} {entry['cause']:<8} "
            f"[{entry['correlation_id']}]{detail}"
        )
    return "\n".join(lines)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------------------------------------ replay


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
    # New format: {"request": {"pk": 388141, ...}}; legacy: {"request": 46760} (contracts/oneshot.md §6.2).
    request = body.get("request")
    value = request.get("pk") if isinstance(request, Mapping) else request
    if isinstance(value, bool) or value is None:
        return None
    text = str(value)
    return text if text.isdigit() else None


# ------------------------------------------------------------------------------------------------ redrive


def dead_letter_queue_url(client: Any, queue_url: str) -> str:
    """The DLQ of `queue_url`, from its redrive policy (works the same with stack outputs and with variables)."""
    attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    policy = attributes.get("RedrivePolicy")
    if not policy:
        raise CommandError("the queue has no dead-letter queue (no redrive policy)")
    arn = str(json.loads(policy)["deadLetterTargetArn"])
    account, name = arn.split(":")[4], arn.split(":")[5]
    return str(client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def redrive(
    client: Any, *, queue_url: str, dead_letter_url: str, run_id: str, limit: int | None = None
) -> dict[str, int]:
    """Move messages from the DLQ back to the queue, in order, each with its `MessageGroupId` and a new
    `MessageDeduplicationId` (`{original}:{run_id}`): SQS would drop the original id if the message had been sent
    within the last five minutes, and the operations are no-ops when their work is done, so a message moved twice
    (a run interrupted between the send and the delete) is harmless. Returns the count per operation."""
    moved: dict[str, int] = {}
    while limit is None or sum(moved.values()) < limit:
        received = client.receive_message(
            QueueUrl=dead_letter_url,
            MaxNumberOfMessages=10 if limit is None else max(1, min(10, limit - sum(moved.values()))),
            WaitTimeSeconds=0,
            VisibilityTimeout=120,
            MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
        ).get("Messages", [])
        if not received:
            break
        for message in received:
            attributes = message.get("Attributes", {})
            original = attributes.get("MessageDeduplicationId") or hashlib.sha256(message["Body"].encode()).hexdigest()
            client.send_message(
                QueueUrl=queue_url,
                MessageBody=message["Body"],  # as it was: a message that cannot be parsed goes back as it is
                MessageGroupId=attributes["MessageGroupId"],
                MessageDeduplicationId=sqs_safe_id(f"{original}:{run_id}"),
            )
            client.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            op = _op_of(message["Body"])
            moved[op] = moved.get(op, 0) + 1
    return moved


def queue_depth(client: Any, url: str) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(attributes.get(names[0], 0)), int(attributes.get(names[1], 0))


def _op_of(body: str) -> str:
    try:
        return OperationMessage.from_body(body).op
    except ValueError:
        return "(unreadable)"


# ------------------------------------------------------------------------------------------------ commands


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


# ------------------------------------------------------------------------------------------------ parser


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


if __name__ == "__main__":
    raise SystemExit(main())
