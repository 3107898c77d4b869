"""Execution environments as processes (`LambdaRuntime(processes=True)`, `local.lambda_process`): concurrent API
invocations run at the same time and each gets its own answer and its own log fields; each process's AWS calls are
checked against its function's role and counted back; a hang past the timeout and a crash end the process, not the
runtime; nothing outlives the runtime."""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from local.aws import FAKE_CREDENTIALS, AwsEmulator
from local.gateway import GatewayRoute, build_event, build_response
from local.iam import Arns, IamEnforcer
from local.iam.policy import parse_document
from local.iam.roles import RolePermissions
from local.runtime import LambdaRuntime
from local.template.names import AwsIdentity
from tests.local.conftest import local_function, unique

ACCOUNT = "123456789012"
API = "tests.local.fake_handlers.process_api.handler"
FAULTS = "tests.local.fake_handlers.process_faults.handler"


@pytest.fixture
def processes() -> Iterator[LambdaRuntime]:
    with LambdaRuntime(processes=True) as opened:
        yield opened


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def api_event(number: int, sleep: float) -> dict[str, Any]:
    return build_event(
        method="POST",
        raw_path="/v1/echo",
        raw_query="",
        headers=[("Content-Type", "application/json")],
        body=json.dumps({"n": number, "sleep": sleep}).encode(),
        source_ip="127.0.0.1",
        route=GatewayRoute(method="POST", path="/v1/echo", function="api"),
        path_parameters={},
        identity=AwsIdentity(),
        api_id="local",
    )


def test_concurrent_api_invocations_run_together_each_with_its_own_event_and_log_fields(
    processes: LambdaRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a Powertools API function with room for six environments
    processes.register(local_function("api", API, max_environments=6))
    answers: dict[int, Any] = {}
    records: dict[int, Any] = {}

    def call(number: int) -> None:
        record = processes.invoke("api", api_event(number, sleep=1.0))
        records[number] = record
        answers[number] = json.loads(build_response(record.raise_for_error()).body)

    # When six invocations arrive at once
    threads = [threading.Thread(target=call, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then each answered with its own body, from an environment process of its own
    assert {number: answer["body"] for number, answer in answers.items()} == {
        number: {"n": number, "sleep": 1.0} for number in range(6)
    }
    assert len({answer["pid"] for answer in answers.values()}) == 6
    assert os.getpid() not in {answer["pid"] for answer in answers.values()}
    # and they ran at the same time (no invocation waited for another): some ran while another one was inside
    spans = sorted((r.started_at, r.started_at + r.duration_ms / 1000) for r in records.values())
    assert any(later_start < earlier_end for (_, earlier_end), (later_start, _) in itertools.pairwise(spans))
    # and each log line carries the fields of its own invocation
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    echoed = {line["function_request_id"]: line["caller"] for line in lines if line.get("message") == "echoing"}
    assert echoed == {record.request_id: number for number, record in records.items()}


def test_each_process_checks_its_calls_against_the_role_and_reports_them(aws: AwsEmulator) -> None:
    bucket = unique("process-bucket")
    aws.client("s3").create_bucket(Bucket=bucket)
    document = {"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/in/*"}]}
    role = RolePermissions("fn", "FnRole", f"arn:aws:iam::{ACCOUNT}:role/fn-role", tuple(parse_document(document)))
    enforcer = IamEnforcer({"fn": role}, Arns(), current_function=lambda: None, function_names={"fn": "SignBridge-fn"})
    environment = {"AWS_ENDPOINT_URL": aws.endpoint_url, "AWS_DEFAULT_REGION": "us-east-1", **FAKE_CREDENTIALS}
    with LambdaRuntime(processes=True) as runtime:
        runtime.iam = enforcer
        runtime.register(local_function("fn", FAULTS, environment=environment))

        # When the function writes where its role allows and where it does not
        record = runtime.invoke("fn", {"action": "write", "bucket": bucket, "keys": ["in/a", "out/b"]})

    # Then the first went through and the second got S3's AccessDenied, decided in the function's process
    result = record.raise_for_error()
    assert result["pid"] != os.getpid()
    assert result["in/a"] == "written"
    assert result["out/b"] == "AccessDenied"
    assert [(d.function, d.action, d.resource) for d in enforcer.denials] == [
        ("fn", "s3:PutObject", f"arn:aws:s3:::{bucket}/out/b")
    ]
    assert enforcer.checked["fn"] == 2
    # and the call it made is counted back with the invocation (the refused one never reached AWS)
    assert record.aws_calls == {"s3.PutObject": 1}


def test_a_hang_past_the_timeout_and_a_crash_end_the_process_not_the_function(processes: LambdaRuntime) -> None:
    processes.register(local_function("fn", FAULTS, timeout_seconds=1))
    first = processes.invoke("fn", {})
    first_pid = first.raise_for_error()["pid"]

    # When an invocation runs past its timeout
    hung = processes.invoke("fn", {"action": "hang"})

    # Then it is a timeout after about the timeout, and its process is gone
    assert (hung.outcome, hung.error_type) == ("timeout", "Sandbox.Timedout")
    assert hung.duration_ms < 10_000
    assert not alive(first_pid)

    # When the next environment's process dies mid-invocation
    crashed = processes.invoke("fn", {"action": "crash"})
    assert (crashed.outcome, crashed.error_type) == ("error", "Runtime.ExitError")
    assert "Runtime exited" in crashed.error_message

    # Then a new environment answers the next invocation (a cold start)
    after = processes.invoke("fn", {})
    assert after.succeeded
    assert after.cold_start
    assert after.result["pid"] != first_pid


def test_closing_the_runtime_ends_every_environment_process() -> None:
    runtime = LambdaRuntime(processes=True).open()
    runtime.register(local_function("fn", FAULTS, max_environments=3))
    pids: set[int] = set()
    lock = threading.Lock()

    def call() -> None:
        pid = runtime.invoke("fn", {}).raise_for_error()["pid"]
        with lock:
            pids.add(pid)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert pids
    assert all(alive(pid) for pid in pids)

    runtime.close()

    assert not any(alive(pid) for pid in pids)
