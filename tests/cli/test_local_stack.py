"""`signbridge` against a running local stack with no configuration: `python -m local` in a process of its own
writes its state file, and every command runs as an operator runs it (`python -m signbridge_cli …`, a process with
no `SIGNBRIDGE_*` or `AWS_*` variable), with `--json`."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
import requests

from simulators.pdf import make_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180.0
T = TypeVar("T")


@dataclass(frozen=True)
class Running:
    state: dict[str, Any]
    state_file: Path
    environment: dict[str, str]

    def cli(self, *argv: str, expect: int = 0) -> Any:
        result = subprocess.run(
            [sys.executable, "-m", "signbridge_cli", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
            env=self.environment,
        )
        assert result.returncode == expect, f"{argv}: {result.returncode}\n{result.stdout}\n{result.stderr}"
        return json.loads(result.stdout) if "--json" in argv else result.stdout

    def aws(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.state["aws_endpoint_url"],
            region_name=self.state["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )


def _plain_environment(state_file: Path) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SIGNBRIDGE_", "AWS_")) and name != "PYTHONPATH"
    }
    environment["SIGNBRIDGE_LOCAL_STATE"] = str(state_file)
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "functions")])
    return environment


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    directory = tmp_path_factory.mktemp("local-stack")
    state_file = directory / "local.json"
    environment = _plain_environment(state_file)
    log = (directory / "stack.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local",
            "--no-demo",
            "--port",
            "0",
            "--no-schedules",
            "--function-logs",
            str(directory / "functions.log"),
        ],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not state_file.exists():
            assert process.poll() is None, (directory / "stack.log").read_text()
            assert time.monotonic() < deadline, "the local stack did not write its state file"
            time.sleep(0.3)
        yield Running(json.loads(state_file.read_text()), state_file, environment)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        log.close()
    # The state file goes with the stack
    assert not state_file.exists()


def wait_for(probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def test_doctor_finds_the_local_stack_with_no_configuration(running: Running) -> None:
    report = running.cli("doctor", "--json")
    assert report["healthy"] is True
    checks = {item["check"]: item for item in report["checks"]}
    assert running.state["api_url"] in checks["target"]["detail"]
    assert checks["zapsign token"]["status"] == "ok"
    assert "api_credits" in checks["zapsign token"]["detail"]
    assert checks["oneshot optimizer"]["status"] == "ok"
    assert "oneshot_env sandbox" in checks["oneshot optimizer"]["detail"]
    assert checks["http api"]["status"] == "ok"
    # and a table for people
    assert "zapsign token" in running.cli("doctor")


def test_requests_and_webhooks_commands_on_a_real_request(running: Running) -> None:
    # Given a ZapSign request created through the local API
    pdf = base64.b64encode(make_pdf("Hello")).decode()
    body = {
        "workflow": "zapsign",
        "signers": [{"name": "Ana Example", "email": "ana@example.com"}],
        "documents": [{"name": "contract.pdf", "content_base64": pdf}],
    }
    created = requests.post(
        f"{running.state['api_url']}/v1/requests", json=body, headers={"Idempotency-Key": "cli-1"}, timeout=30
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    # Then `requests show` and `requests list` see it, without personal data
    shown = wait_for(
        lambda: (s := running.cli("requests", "show", request_id, "--json"))["status"] != "submitted" and s
    )
    assert shown["id"] == request_id
    assert "Ana Example" not in json.dumps(shown)
    listed = running.cli("requests", "list", "--json")["requests"]
    assert request_id in {row["id"] for row in listed}
    # And the doc_created webhook ZapSign sent was stored under raw/zapsign/, and can be replayed
    s3 = running.aws("s3")
    bucket = running.state["environment"]["SIGNBRIDGE_BUCKET_NAME"]
    key = wait_for(
        lambda: next(iter(s3.list_objects_v2(Bucket=bucket, Prefix="raw/zapsign/").get("Contents", [])), None)
    )
    replayed = running.cli("webhooks", "replay", key["Key"], "--json")
    assert (replayed["op"], replayed["request_id"]) == ("sync_zapsign_document", request_id)


def test_webhook_register_and_rotate_against_the_simulator(running: Running) -> None:
    registered = running.cli("webhooks", "register", "--json")
    assert registered["url"] == running.state["zapsign_webhook_url"]
    rotated = running.cli("webhooks", "rotate", "--old-webhook-id", registered["webhook_id"], "--wait", "0", "--json")
    assert rotated["old_webhook_id"] == registered["webhook_id"]
    assert rotated["accepted_secrets"] == 1


def test_dlq_show_and_redrive_move_a_dead_letter_back(running: Running) -> None:
    sqs = running.aws("sqs")
    environment = running.state["environment"]
    queue_url = environment["SIGNBRIDGE_ONESHOT_QUEUE_URL"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    dlq_url = sqs.get_queue_url(QueueName=policy["deadLetterTargetArn"].rsplit(":", 1)[-1])["QueueUrl"]
    body = json.dumps({"op": "send_oneshot_otp", "request_id": "no-such-request", "signer": 0, "correlation_id": "c"})
    sqs.send_message(QueueUrl=dlq_url, MessageBody=body, MessageGroupId="no-such-request", MessageDeduplicationId="d1")
    (shown,) = running.cli("dlq", "show", "oneshot", "--json")["queues"]
    assert shown["waiting"] == 1
    dry = running.cli("dlq", "redrive", "oneshot", "--dry-run", "--json")
    assert (dry["dry_run"], dry["waiting"], dry["moved"]) == (True, 1, 0)
    moved = running.cli("dlq", "redrive", "oneshot", "--json")
    assert (moved["status"], moved["moved"], moved["to_move"]) == ("COMPLETED", 1, 1)
    (after,) = running.cli("dlq", "show", "oneshot", "--json")["queues"]
    assert after["last_move_task"]["status"] == "COMPLETED"


def test_schedule_run_and_run_help(running: Running) -> None:
    report = running.cli("schedule", "run", "reconciler", "--json")
    assert report["schedule"] == "reconciler"
    assert report["correlation_id"].startswith("operator-reconciler-")
    assert "python -m local" in running.cli("run", "--help")
