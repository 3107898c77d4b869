"""The in-process Lambda runtime: each function sees its own environment and settings, a real context object, and
concurrent invocations of one function never share a handler module."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import pytest

from local.environ import LayeredEnviron
from local.runtime import LambdaRuntime, PayloadTooLargeError
from signbridge import env_names
from tests.local.conftest import local_function

HANDLER = "tests.local.fake_handlers.environment.handler"


def settings_environment(table: str) -> dict[str, str]:
    return {
        env_names.TABLE_NAME: table,
        env_names.BUCKET_NAME: "bucket",
        env_names.ZAPSIGN_QUEUE_URL: "http://127.0.0.1:1/q1.fifo",
        env_names.ONESHOT_QUEUE_URL: "http://127.0.0.1:1/q2.fifo",
        env_names.ZAPSIGN_SECRET_NAME: "s1",
        env_names.WEBHOOK_SECRET_NAME: "s2",
        env_names.ONESHOT_SECRET_NAME: "s3",
        "POWERTOOLS_SERVICE_NAME": f"service-of-{table}",
    }


def test_concurrent_functions_each_see_their_own_environment_and_settings(runtime: LambdaRuntime) -> None:
    # Given two functions whose environments differ
    runtime.register(local_function("first", HANDLER, environment=settings_environment("table-one")))
    runtime.register(local_function("second", HANDLER, environment=settings_environment("table-two")))
    results: dict[str, Any] = {}

    def call(name: str) -> None:
        results[name] = runtime.invoke(name, {"wait_for": "together"}).raise_for_error()

    # When they run at the same time on two threads
    threads = [threading.Thread(target=call, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    # Then each saw its own variables and its own cached settings
    assert results["first"]["table_env"] == results["first"]["table_settings"] == "table-one"
    assert results["second"]["table_env"] == results["second"]["table_settings"] == "table-two"
    assert results["first"]["lambda_function_name"] == "test-first"
    # and the process environment outside an invocation has none of them
    assert env_names.TABLE_NAME not in os.environ
    assert isinstance(os.environ, LayeredEnviron)


def test_the_handler_module_is_imported_inside_the_function_environment(runtime: LambdaRuntime) -> None:
    handler = "tests.local.fake_handlers.import_time.handler"
    runtime.register(local_function("first", handler, environment=settings_environment("t")))
    result = runtime.invoke("first", {}).raise_for_error()
    assert result["service_at_import"] == "service-of-t"


def test_writes_to_the_environment_stay_in_the_function(runtime: LambdaRuntime) -> None:
    runtime.register(local_function("first", HANDLER, environment=settings_environment("a")))
    runtime.register(local_function("second", HANDLER, environment=settings_environment("b")))
    assert runtime.invoke("first", {"set": "mine"}).result["scratch"] == "mine"
    assert runtime.invoke("first", {}).result["scratch"] == "mine"  # a warm environment keeps it, as in Lambda
    assert runtime.invoke("second", {}).result["scratch"] is None
    assert "SIGNBRIDGE_SCRATCH" not in os.environ


def test_a_shell_variable_of_signbridge_does_not_leak_into_a_function(runtime: LambdaRuntime) -> None:
    runtime.register(local_function("first", HANDLER, environment=settings_environment("a")))
    os.environ["SIGNBRIDGE_SCRATCH"] = "from-the-shell"
    try:
        assert runtime.invoke("first", {}).result["scratch"] is None
    finally:
        del os.environ["SIGNBRIDGE_SCRATCH"]


def test_the_context_object_is_lambdas(runtime: LambdaRuntime) -> None:
    runtime.register(local_function("first", HANDLER, environment=settings_environment("a"), timeout_seconds=3))
    first = runtime.invoke("first", {}).raise_for_error()
    second = runtime.invoke("first", {}).raise_for_error()
    context = first["context"]
    assert context["function_name"] == "test-first"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"].endswith(":function:test-first")
    assert context["memory_limit_in_mb"] == "256"  # a string, as in the Lambda Python runtime
    assert context["log_group_name"] == "/aws/lambda/test-first"
    assert "[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining_ms"] <= 3000
    assert context["aws_request_id"] != second["context"]["aws_request_id"]
    assert first["trace"].startswith("Root=1-")


def test_concurrent_invocations_of_one_function_get_separate_environments(runtime: LambdaRuntime) -> None:
    runtime.register(local_function("first", HANDLER, environment=settings_environment("a")))
    modules: list[str] = []

    def call() -> None:
        modules.append(runtime.invoke("first", {"wait_for": "pair"}).raise_for_error()["module"])

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(set(modules)) == 2  # the module itself, and a private copy for the second environment
    cold = [invocation.cold_start for invocation in runtime.invocations]
    assert cold == [True, True]
    assert runtime.invoke("first", {}).cold_start is False


def test_errors_timeouts_and_oversized_payloads(runtime: LambdaRuntime) -> None:
    def failing(event: Any, context: Any) -> Any:
        raise ValueError("nope")

    def unserializable(event: Any, context: Any) -> Any:
        return {"at": object()}

    runtime.register(local_function("failing", failing))
    runtime.register(local_function("unserializable", unserializable))
    runtime.register(local_function("slow", HANDLER, environment=settings_environment("a"), timeout_seconds=0.1))

    failed = runtime.invoke("failing", {})
    assert (failed.outcome, failed.error_type, failed.error_message) == ("error", "ValueError", "nope")
    assert runtime.invoke("unserializable", {}).outcome == "error"
    slow = runtime.invoke("slow", {"sleep": 0.3})
    assert slow.outcome == "timeout"
    assert slow.result is None
    assert "timed out" in slow.error_message
    with pytest.raises(PayloadTooLargeError):
        runtime.invoke("failing", {"blob": "x" * (6 * 1024 * 1024)})
    assert [i.function for i in runtime.invocations] == ["failing", "unserializable", "slow"]
    assert all(i.duration_ms >= 0 for i in runtime.invocations)


def test_closing_the_runtime_restores_the_process() -> None:
    from signbridge import config  # noqa: PLC0415

    original_environ, original_settings = os.environ, config.get_settings
    with LambdaRuntime():
        assert os.environ is not original_environ
        assert config.get_settings is not original_settings
    assert os.environ is original_environ
    assert config.get_settings is original_settings


def test_a_powertools_http_handler_understands_the_gateway_event(runtime: LambdaRuntime) -> None:
    from local.gateway import GatewayRoute, build_event, build_response  # noqa: PLC0415
    from local.template.names import AwsIdentity  # noqa: PLC0415

    environment = {"POWERTOOLS_SERVICE_NAME": "signbridge", "POWERTOOLS_METRICS_NAMESPACE": "SignBridge"}
    runtime.register(local_function("api", "tests.local.fake_handlers.powertools_api.handler", environment=environment))
    route = GatewayRoute(method="GET", path="/v1/requests/{request_id}", function="api", authorization_type="AWS_IAM")
    event = build_event(
        method="GET",
        raw_path="/v1/requests/r-1",
        raw_query="status=completed",
        headers=[("Host", "127.0.0.1:8000")],
        body=b"",
        source_ip="127.0.0.1",
        route=route,
        path_parameters={"request_id": "r-1"},
        identity=AwsIdentity(),
        api_id="local",
    )
    response = build_response(runtime.invoke("api", event).raise_for_error())
    assert response.status == 200
    body = json.loads(response.body)
    assert body["id"] == "r-1"
    assert body["query"] == {"status": "completed"}
    assert body["caller"].endswith(":user/local-developer")

    post = build_event(
        method="POST",
        raw_path="/v1/requests",
        raw_query="",
        headers=[("Content-Type", "application/json")],
        body=b'{"workflow": "zapsign"}',
        source_ip="127.0.0.1",
        route=GatewayRoute(method="POST", path="/v1/requests", function="api"),
        path_parameters={},
        identity=AwsIdentity(),
        api_id="local",
    )
    created = build_response(runtime.invoke("api", post).raise_for_error())
    assert (created.status, json.loads(created.body)) == (201, {"received": {"workflow": "zapsign"}})


def test_a_powertools_fifo_batch_processor_reports_partial_failures(runtime: LambdaRuntime) -> None:
    runtime.register(local_function("worker", "tests.local.fake_handlers.powertools_worker.handler"))

    def record(message_id: str, body: str) -> dict[str, Any]:
        return {
            "messageId": message_id,
            "receiptHandle": f"rh-{message_id}",
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1700000000000",
                "SenderId": "LOCAL",
                "ApproximateFirstReceiveTimestamp": "1700000000001",
                "SequenceNumber": "1",
                "MessageGroupId": "r-1",
                "MessageDeduplicationId": message_id,
            },
            "messageAttributes": {},
            "md5OfBody": "x",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo",
            "awsRegion": "us-east-1",
        }

    event = {"Records": [record("m1", "ok"), record("m2", "fail"), record("m3", "later")]}
    result = runtime.invoke("worker", event).raise_for_error()
    # FIFO: the failed step and every later one of the batch are reported, so they are retried in order
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}


def test_concurrent_powertools_api_invocations_each_answer_their_own_event(runtime: LambdaRuntime) -> None:
    # Powertools keeps the resolver's current event on its router *class*, which every copy of the handler module
    # shares: two API invocations running at once must not see each other's event.
    from local.gateway import GatewayRoute, build_event, build_response  # noqa: PLC0415
    from local.template.names import AwsIdentity  # noqa: PLC0415
    from tests.local.fake_handlers import rendezvous  # noqa: PLC0415

    rendezvous.clear()
    runtime.register(local_function("api", "tests.local.fake_handlers.powertools_api.handler"))

    def event(number: int) -> dict[str, Any]:
        return build_event(
            method="POST",
            raw_path="/v1/slow-echo",
            raw_query="",
            headers=[("Content-Type", "application/json")],
            body=json.dumps({"n": number}).encode(),
            source_ip="127.0.0.1",
            route=GatewayRoute(method="POST", path="/v1/slow-echo", function="api"),
            path_parameters={},
            identity=AwsIdentity(),
            api_id="local",
        )

    answers: dict[int, Any] = {}

    def call(number: int) -> None:
        answers[number] = json.loads(build_response(runtime.invoke("api", event(number)).raise_for_error()).body)

    # Given a first invocation inside its route
    first = threading.Thread(target=call, args=(1,))
    first.start()
    assert rendezvous.event("slow-echo-entered").wait(timeout=10)
    # When a second one arrives while the first still runs
    second = threading.Thread(target=call, args=(2,))
    second.start()
    second.join(timeout=0.5)
    rendezvous.event("slow-echo-release").set()
    first.join(timeout=10)
    second.join(timeout=10)

    # Then each answered with its own body
    assert answers == {1: {"body": {"n": 1}}, 2: {"body": {"n": 2}}}
