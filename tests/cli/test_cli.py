"""The `signbridge` command line against moto (and the ZapSign simulator for `webhooks register|rotate`): each
command runs through `main(argv)` as an operator would run it, configured by the `SIGNBRIDGE_*` variables of the
`settings` fixture or by the outputs of a CloudFormation stack."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

import signbridge_cli as cli
from signbridge import env_names
from signbridge.config import Settings
from signbridge.domain.changes import Lookup, SignerChange
from signbridge.domain.models import Cause, DocumentStatus, RequestStatus, SignerStatus, Workflow, utc_now
from signbridge.storage.records import RecordStore
from simulators.zapsign.simulator import ZapSignSimulator
from tests.conftest import SecretNames
from tests.simulators.conftest_zapsign import (  # noqa: F401 - fixtures
    ZAPSIGN_TOKEN,
    _zapsign_simulator_process,
    zapsign_simulator,
)
from tests.support.aws import SAMPLE_WEBHOOK_SECRET, Queues
from tests.support.events import load_event
from tests.support.samples import PDF_BYTES
from tests.support.stored import drain, place

R = RequestStatus
D = DocumentStatus
PERSONAL = ("Signer 0", "signer0@example.com", "+34600111222", "Ana", "Souza", "12345678Z", "document-0.pdf")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


# ------------------------------------------------------------------------------------------------ show


def test_show_prints_where_a_request_stands_with_personal_data_masked(
    settings: Settings, record_store: RecordStore
) -> None:
    # Given a ZapSign request whose signer has a signing link and a ZapSign document token
    request = place(
        record_store,
        Workflow.ZAPSIGN,
        R.SUBMITTED,
        since=utc_now() - timedelta(minutes=3),
        request={"external_id": "order-42"},
        signer=lambda _: {
            "sign_url": "https://app.zapsign.example/verificar/secret-link",
            "zapsign_signer_token": "st",
        },
    )
    record_store.move_request(
        record_store.get_request(request.id),
        R.ZAPSIGN_PENDING,
        cause=Cause.WORKER,
        correlation_id="corr-create",
        detail="ZapSign document created",
        updates={"zapsign_doc_token": "doc-token-secretish"},
    )
    # When an operator shows it
    code, output = run("requests", "show", request.id)
    # Then the status, the documents and signers by index and status, and the timeline are printed
    assert code == 0
    assert f"request {request.id}  (zapsign)" in output
    assert "status      zapsign_pending" in output
    assert "#0  received" in output
    assert "#0  pending" in output
    assert "submitted -> zapsign_pending" in output
    assert "ZapSign document created" in output
    assert "external id order-42" in output
    # And nothing personal, no signing link and no provider token
    for secret in (*PERSONAL, "secret-link", "doc-token-secretish", "sales"):
        assert secret not in output
    # And the same as JSON
    code, output = run("requests", "show", request.id, "--json")
    summary = json.loads(output)
    assert summary["status"] == "zapsign_pending"
    assert [signer["status"] for signer in summary["signers"]] == ["pending"]
    assert summary["metadata_keys"] == ["department"]
    for secret in (*PERSONAL, "secret-link", "doc-token-secretish", "sales"):
        assert secret not in output


def test_show_an_unknown_request_says_so(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("requests", "show", "no-such-request")
    assert code == cli.EXIT_FAILED
    assert "no request no-such-request" in capsys.readouterr().err


def test_resource_names_come_from_the_stack_outputs_with_a_stage(
    settings: Settings,
    record_store: RecordStore,
    monkeypatch: pytest.MonkeyPatch,
    cloudformation_stack: str,
) -> None:
    # Given a request, a stack whose outputs name the resources, and no SIGNBRIDGE_* variable naming them
    request = place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=utc_now())
    for name in env_names.ALL:
        monkeypatch.delenv(name, raising=False)
    # When shown with --stage
    code, output = run("requests", "show", request.id, "--stage", cloudformation_stack)
    # Then the stack's table was read
    assert code == 0
    assert request.id in output


def test_without_a_stage_or_variables_the_cli_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in env_names.ALL:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIGNBRIDGE_LOCAL_STATE", "/nonexistent/signbridge-local.json")
    code, _ = run("requests", "show", "any")
    assert code == cli.EXIT_USAGE
    error = capsys.readouterr().err
    assert "give --stage STAGE" in error
    assert "start the local stack" in error
    assert env_names.TABLE_NAME in error


@pytest.fixture
def cloudformation_stack(settings: Settings, secrets: SecretNames, aws: Any) -> str:
    """A CloudFormation stack `SignBridge-{stage}` in moto whose outputs name this test's resources."""
    import boto3  # noqa: PLC0415

    stage = f"t{uuid.uuid4().hex[:10]}"
    outputs = {
        "TableName": settings.table_name,
        "BucketName": settings.bucket_name,
        "ZapSignQueueUrl": settings.zapsign_queue_url,
        "OneShotQueueUrl": settings.oneshot_queue_url,
        "ZapSignSecretName": secrets.zapsign,
        "WebhookSecretName": secrets.webhook,
        "OneShotSecretName": secrets.oneshot,
        "ZapSignWebhookUrl": "https://api.example.test/webhooks/zapsign",
    }
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"signbridge-{stage}"}}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=f"SignBridge-{stage}", TemplateBody=json.dumps(template))
    return stage


# ------------------------------------------------------------------------------------------------ redrive


def send(sqs_client: Any, url: str, body: str, group: str, deduplication_id: str) -> None:
    sqs_client.send_message(
        QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=deduplication_id
    )


def operation(op: str, request_id: str, generation: int = 0) -> str:
    return json.dumps({"op": op, "request_id": request_id, "generation": generation, "correlation_id": "corr-x"})


def test_redrive_moves_dead_letters_back_with_their_groups_and_new_deduplication_ids(
    settings: Settings, queues: Queues, sqs_client: Any
) -> None:
    # Given a step that ran minutes ago (so SQS still remembers its deduplication id) and then went to the DLQ,
    first = operation("create_zapsign_document", "req-a")
    send(sqs_client, queues.zapsign.url, first, "req-a", "req-a:create_zapsign_document:-:-:0")
    drain(sqs_client, queues.zapsign.url)
    send(sqs_client, queues.zapsign.dead_letter_url, first, "req-a", "req-a:create_zapsign_document:-:-:0")
    # and two more dead letters, one of them a webhook hint grouped by its ZapSign token
    second = operation("archive_zapsign_document", "req-a", 1)
    send(sqs_client, queues.zapsign.dead_letter_url, second, "req-a", "req-a:archive_zapsign_document:-:-:1")
    hint = json.dumps({"op": "sync_zapsign_document", "correlation_id": "c", "payload": {"doc_token": "t"}})
    send(sqs_client, queues.zapsign.dead_letter_url, hint, "doc-token-1", "raw-digest")
    # When an operator redrives the ZapSign queue
    code, output = run("dlq", "redrive", "zapsign")
    # Then SQS's message-move task put every message back on the queue, in order within its group, with its group
    # id kept and a deduplication id of its own (the first would otherwise have been dropped by SQS as a repeat)
    assert code == 0
    moved = drain(sqs_client, queues.zapsign.url)
    assert [(item.group_id, item.op) for item in moved if item.group_id == "req-a"] == [
        ("req-a", "create_zapsign_document"),
        ("req-a", "archive_zapsign_document"),
    ]
    assert {item.group_id for item in moved} == {"req-a", "doc-token-1"}
    assert len({item.deduplication_id for item in moved}) == 3
    assert not {item.deduplication_id for item in moved} & {
        "req-a:create_zapsign_document:-:-:0",
        "req-a:archive_zapsign_document:-:-:1",
        "raw-digest",
    }
    # And the DLQ is empty, the counts printed, and the task is what `dlq show` reports as the last redrive
    assert drain(sqs_client, queues.zapsign.dead_letter_url) == []
    assert "redrive COMPLETED: moved 3 of 3 message(s)" in output
    code, shown = run("dlq", "show", "zapsign", "--json")
    assert code == 0
    (queue,) = json.loads(shown)["queues"]
    assert (queue["queue"], queue["waiting"]) == ("zapsign", 0)
    assert queue["last_move_task"]["status"] == "COMPLETED"
    assert queue["last_move_task"]["moved"] == 3


def test_a_dry_run_redrive_only_counts(settings: Settings, queues: Queues, sqs_client: Any) -> None:
    # Given two dead letters on the One-Shot DLQ
    for generation in (0, 1):
        body = operation("send_oneshot_otp", "req-b", generation)
        send(sqs_client, queues.oneshot.dead_letter_url, body, "req-b", f"req-b:send_oneshot_otp:0:-:{generation}")
    # When redriven with --dry-run
    code, output = run("dlq", "redrive", "oneshot", "--dry-run")
    # Then the counts are printed and nothing moved
    assert code == 0
    assert "2 message(s) waiting" in output
    assert "would move 2" in output
    assert drain(sqs_client, queues.oneshot.url) == []
    assert len(drain(sqs_client, queues.oneshot.dead_letter_url)) == 2


# ------------------------------------------------------------------------------------------------ replay


def put_raw(s3_client: Any, bucket: str, provider: str, body: dict[str, Any]) -> str:
    key = f"raw/{provider}/2026-11-22/{uuid.uuid4().hex}.json"
    s3_client.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode())
    return key


def test_replaying_a_stored_zapsign_webhook_reenqueues_its_hint_for_the_request(
    *, settings: Settings, record_store: RecordStore, queues: Queues, sqs_client: Any, s3_client: Any, bucket: str
) -> None:
    # Given a request waiting at ZapSign, whose doc_signed webhook body is stored under raw/zapsign/
    request = place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=utc_now())
    record_store.move_request(
        record_store.get_request(request.id),
        R.ZAPSIGN_PENDING,
        cause=Cause.WORKER,
        correlation_id="corr-create",
        updates={"zapsign_doc_token": "doc-token-7"},
        lookups=[Lookup.zapsign_doc("doc-token-7")],
    )
    raw_key = put_raw(s3_client, bucket, "zapsign", load_event("zapsign/doc_signed.json", token="doc-token-7"))
    # When an operator replays it, twice
    first_code, output = run("webhooks", "replay", raw_key)
    second_code, _ = run("webhooks", "replay", raw_key)
    # Then the sync hint is on the ZapSign queue for that request each time (a replay is never deduplicated away)
    assert (first_code, second_code) == (0, 0)
    replayed = drain(sqs_client, queues.zapsign.url)
    assert len(replayed) == 2
    for item in replayed:
        assert item.op == "sync_zapsign_document"
        assert item.message.request_id == request.id
        assert item.group_id == request.id
        assert item.message.payload == {"doc_token": "doc-token-7", "event_type": "doc_signed"}
        assert item.message.correlation_id.startswith("replay-")
    assert f"sync_zapsign_document for request {request.id}" in output
    assert "doc-token-7" not in output


def test_replaying_a_stored_oneshot_callback_asks_to_confirm_the_signers_signature(
    *, settings: Settings, record_store: RecordStore, queues: Queues, sqs_client: Any, s3_client: Any, bucket: str
) -> None:
    # Given a One-Shot request whose signer 0 has One-Shot request 388141, and its stored callback
    request = place(record_store, Workflow.ONESHOT, R.ONESHOT_PENDING, since=utc_now())
    record_store.move_part(
        record_store.get_request(request.id),
        SignerChange(0, SignerStatus.PENDING, SignerStatus.ONESHOT_REQUESTED, {"oneshot_request_pk": "388141"}),
        cause=Cause.WORKER,
        correlation_id="corr-create",
        lookups=[Lookup.oneshot_request("388141", signer=0)],
    )
    raw_key = put_raw(s3_client, bucket, "oneshot", load_event("oneshot/request_enrolled.json"))
    # When replayed
    code, _ = run("webhooks", "replay", raw_key)
    # Then the Optimizer is to be asked about signer 0's signature
    assert code == 0
    (replayed,) = drain(sqs_client, queues.oneshot.url)
    assert (replayed.op, replayed.message.request_id, replayed.message.signer) == (
        "confirm_oneshot_signature",
        request.id,
        0,
    )
    assert replayed.message.payload == {"oneshot_pk": "388141"}


def test_replaying_a_webhook_of_no_request_of_ours_enqueues_nothing(
    *,
    settings: Settings,
    queues: Queues,
    sqs_client: Any,
    s3_client: Any,
    bucket: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    raw_key = put_raw(s3_client, bucket, "zapsign", load_event("zapsign/doc_signed.json", token="someone-elses"))
    code, _ = run("webhooks", "replay", raw_key)
    assert code == cli.EXIT_FAILED
    assert "nothing to replay" in capsys.readouterr().err
    assert drain(sqs_client, queues.zapsign.url) == []
    # And a key outside raw/ is refused as a usage error
    assert run("webhooks", "replay", "originals/x/000.pdf")[0] == cli.EXIT_USAGE


@pytest.fixture
def zapsign_at_simulator(
    secrets: SecretNames,
    secretsmanager_client: Any,
    zapsign_simulator: ZapSignSimulator,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> ZapSignSimulator:
    """The simulator's ZapSign token in Secrets Manager, and the ZapSign base URL pointing at the simulator."""
    secretsmanager_client.put_secret_value(
        SecretId=secrets.zapsign, SecretString=json.dumps({"api_token": ZAPSIGN_TOKEN})
    )
    parameters.clear_caches()
    monkeypatch.setenv(env_names.ZAPSIGN_BASE_URL, zapsign_simulator.api_base_url)
    return zapsign_simulator


# ------------------------------------------------------------------------------------------------ webhooks register


def test_register_webhook_registers_the_url_with_the_current_secret_header_and_never_prints_it(
    *,
    settings: Settings,
    secrets: SecretNames,
    secretsmanager_client: Any,
    zapsign_at_simulator: ZapSignSimulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the ZapSign token of the simulator in Secrets Manager, and the ZapSign base URL pointing at it
    # When an operator registers the webhook
    code, output = run("webhooks", "register", "--url", "https://api.example.test/webhooks/zapsign")
    # Then ZapSign holds one registration for the URL with the current webhook secret in SignBridge's header
    assert code == 0
    (registration,) = zapsign_at_simulator.registrations.values()
    assert registration.url == "https://api.example.test/webhooks/zapsign"
    assert registration.type == ""
    assert registration.headers == [{"name": "X-Webhook-Token", "value": "zapsign-hook-current"}]
    # And the id is printed, the secret and the token never
    assert f"registered ZapSign webhook {registration.id}" in output
    printed = output + capsys.readouterr().err
    assert "zapsign-hook-current" not in printed
    assert ZAPSIGN_TOKEN not in printed


def test_register_webhook_defaults_to_the_stacks_webhook_url(
    *,
    settings: Settings,
    secrets: SecretNames,
    secretsmanager_client: Any,
    zapsign_at_simulator: ZapSignSimulator,
    cloudformation_stack: str,
) -> None:
    code, _ = run("webhooks", "register", "--stage", cloudformation_stack)
    assert code == 0
    (registration,) = zapsign_at_simulator.registrations.values()
    assert registration.url == "https://api.example.test/webhooks/zapsign"


def test_rotate_registers_the_new_secret_deletes_the_old_webhook_and_retires_the_old_secret(
    *,
    settings: Settings,
    secrets: SecretNames,
    secretsmanager_client: Any,
    zapsign_at_simulator: ZapSignSimulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given SignBridge's webhook registered at ZapSign with the current secret
    url = "https://api.example.test/webhooks/zapsign"
    code, output = run("webhooks", "register", "--url", url, "--json")
    assert code == 0
    old_id = json.loads(output)["webhook_id"]
    # When an operator rotates the secret in one command
    code, output = run("webhooks", "rotate", "--old-webhook-id", old_id, "--url", url, "--wait", "0", "--json")
    # Then ZapSign holds one registration, a new one, whose header carries a new secret
    assert code == 0
    result = json.loads(output)
    (registration,) = zapsign_at_simulator.registrations.values()
    assert str(registration.id) == result["webhook_id"] != old_id
    ((header,),) = [registration.headers]
    assert header["name"] == "X-Webhook-Token"
    assert header["value"] != "zapsign-hook-current"
    # And the webhook secret accepts the new value only (the old one is retired), the One-Shot part untouched
    stored = json.loads(secretsmanager_client.get_secret_value(SecretId=secrets.webhook)["SecretString"])
    assert stored["zapsign"] == [header["value"]]
    assert stored["oneshot"] == list(SAMPLE_WEBHOOK_SECRET["oneshot"])
    # And the new secret is never printed
    assert header["value"] not in output + capsys.readouterr().err


def test_a_rotation_that_cannot_delete_the_old_webhook_leaves_both_secrets_accepted(
    *,
    settings: Settings,
    secrets: SecretNames,
    secretsmanager_client: Any,
    zapsign_at_simulator: ZapSignSimulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When the old webhook id is wrong
    code, _ = run("webhooks", "rotate", "--old-webhook-id", "999", "--url", "https://api.example.test/w", "--wait", "0")
    # Then the command fails saying so, and both the new and the current secret are accepted: nothing is refused
    assert code == cli.EXIT_FAILED
    assert "both secrets accepted" in capsys.readouterr().err
    stored = json.loads(secretsmanager_client.get_secret_value(SecretId=secrets.webhook)["SecretString"])
    assert len(stored["zapsign"]) == 2
    assert stored["zapsign"][1] == "zapsign-hook-current"


# ------------------------------------------------------------------------------------------------ requests list


def test_requests_list_shows_unfinished_requests_and_filters_by_status_or_external_id(
    settings: Settings, record_store: RecordStore
) -> None:
    waiting = place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=utc_now(), request={"external_id": "order-7"})
    done = place(record_store, Workflow.ONESHOT, R.COMPLETED, since=utc_now())
    code, output = run("requests", "list", "--json")
    assert code == 0
    listed = {row["id"]: row for row in json.loads(output)["requests"]}
    assert waiting.id in listed
    assert done.id not in listed
    assert listed[waiting.id]["status"] == "submitted"
    code, output = run("requests", "list", "--status", "completed", "--json")
    assert [row["id"] for row in json.loads(output)["requests"]] == [done.id]
    code, output = run("requests", "list", "--external-id", "order-7")
    assert code == 0
    assert waiting.id in output
    assert "1 request(s)" in output


# ------------------------------------------------------------------------------------------------ trigger and run


def test_trigger_runs_the_reconciler_once_and_prints_its_report(
    settings: Settings, record_store: RecordStore, queues: Queues, sqs_client: Any
) -> None:
    # Given a request submitted an hour ago whose first step was lost
    request = place(record_store, Workflow.ZAPSIGN, R.SUBMITTED, since=utc_now() - timedelta(hours=1))
    # When an operator triggers the reconciler
    code, output = run("schedule", "run", "reconciler", "--json")
    # Then its report is printed and the step is enqueued again, correlated with the operator's run
    assert code == 0
    report = json.loads(output)
    assert report["schedule"] == "reconciler"
    assert report["reconciled"] == {"submitted": 1}
    (step,) = drain(sqs_client, queues.zapsign.url)
    assert (step.op, step.message.request_id) == ("create_zapsign_document", request.id)
    assert step.message.correlation_id == report["correlation_id"]


def test_trigger_runs_the_housekeeper_at_a_given_time(
    settings: Settings, record_store: RecordStore, s3_client: Any, bucket: str
) -> None:
    # Given an object under incoming/ of a request that does not exist
    s3_client.put_object(Bucket=bucket, Key="incoming/gone/000.pdf", Body=PDF_BYTES)
    # When the housekeeper is triggered as if three hours from now
    at = (utc_now() + timedelta(hours=3)).isoformat()
    code, output = run("schedule", "run", "housekeeper", "--at", at, "--json")
    # Then the abandoned upload is removed and the report says so
    assert code == 0
    assert json.loads(output)["incoming_deleted"] == 1
    assert s3_client.list_objects_v2(Bucket=bucket, Prefix="incoming/").get("KeyCount", 0) == 0


def test_run_hands_its_options_to_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    import local.__main__ as local_main  # noqa: PLC0415

    received: list[list[str]] = []
    monkeypatch.setattr(local_main, "main", lambda argv: received.append(list(argv)) or 0)
    assert cli.main(["run", "--port", "0", "--no-demo"]) == 0
    assert received == [["--port", "0", "--no-demo"]]


def test_the_cli_runs_as_a_module() -> None:
    root = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "functions")])}
    result = subprocess.run(
        [sys.executable, "-m", "signbridge_cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=root,
        env=environment,
    )
    assert result.returncode == 0
    for command in ("run", "requests", "webhooks", "dlq", "schedule", "doctor"):
        assert command in result.stdout


def test_the_aws_facing_commands_need_neither_werkzeug_nor_moto() -> None:
    # `run` imports the local stack only when called; every other command works with the runtime dependencies alone.
    root = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "functions")])}
    probe = (
        "import sys, signbridge_cli.main, signbridge_cli.app; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'werkzeug', 'moto', 'local', 'simulators', 'demo'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True, cwd=root, env=environment
    )
    assert result.stdout.strip() == "[]"


def test_run_says_what_to_install_when_the_local_stack_cannot_be_imported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As after `pip install .` without the development dependencies (werkzeug, moto)
    monkeypatch.setitem(sys.modules, "local.__main__", None)
    assert cli.main(["run", "--no-demo"]) == cli.EXIT_USAGE
    error = capsys.readouterr().err
    assert "pip install -e '.[dev]'" in error
    assert "Traceback" not in error


# ------------------------------------------------------------------------------------------------ verification


def test_retry_verification_moves_a_held_request_back_and_plans_the_archive_again(
    settings: Settings, record_store: RecordStore, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a ZapSign request held after its signed file failed verification
    request = place(
        record_store,
        Workflow.ZAPSIGN,
        R.VERIFICATION_FAILED,
        since=utc_now(),
        request={"verification_held_from": R.ZAPSIGN_SIGNED, "verification_problem": "document 0 (zapsign) …"},
        document=lambda _: {"status": D.ZAPSIGN_PENDING},
    )
    # When an operator accepts a file the request holds no failed verification of
    code, _ = run("requests", "accept-verification", request.id, "--sha256", "0" * 64)
    # Then nothing moves, and the operator is told why
    assert code == cli.EXIT_FAILED
    assert "failed verification with that sha256" in capsys.readouterr().err
    assert record_store.get_request(request.id).request.status is R.VERIFICATION_FAILED
    # When the operator retries instead
    code, output = run("requests", "retry-verification", request.id, "--json")
    # Then the request is back in zapsign_signed, the problem cleared, the move the operator's
    assert code == 0
    assert json.loads(output)["status"] == "zapsign_signed"
    after = record_store.get_request(request.id)
    assert (after.request.status, after.request.verification_problem) == (R.ZAPSIGN_SIGNED, None)
    assert after.timeline[-1].cause is Cause.OPERATOR
    # And a second retry is refused: it is no longer held
    code, _ = run("requests", "retry-verification", request.id)
    assert code == cli.EXIT_FAILED
    assert "not waiting after a verification" in capsys.readouterr().err
