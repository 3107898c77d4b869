"""The whole local stack, wired from the real template: boots, serves, delivers, fires, and stops cleanly."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local import dev_values
from local.stack import LocalStack, LocalStackConfig
from signbridge import api_routes, env_names
from signbridge.config import Settings
from signbridge.domain import keys
from signbridge.domain.credentials import OneShotCredentials, WebhookSecrets, ZapSignCredentials
from tests.local.conftest import FAKE_FUNCTIONS
from tests.local.fake_handlers import recorder

STACK_THREADS = ("esm-", "s3-notify-", "scheduler", "schedule-")


def stack_threads(*ports: int) -> list[str]:
    """Threads of the stack: its loops, and its servers (named after their ports; other tests run their own)."""
    servers = tuple(f"{server}-{port}" for port in ports for server in ("moto-server", "api-gateway"))
    return [t.name for t in threading.enumerate() if t.name.startswith(STACK_THREADS) or t.name in servers]


@pytest.fixture(scope="module")
def stack(real_template: Path) -> Iterator[LocalStack]:
    config = LocalStackConfig(
        template=real_template,
        api_port=0,
        function_overrides=FAKE_FUNCTIONS,
        queue_attributes={"*": {"VisibilityTimeout": "1"}},
        schedules=False,
        overrides={env_names.ALLOW_LOOPBACK_HTTP: "true"},
    )
    with LocalStack(config) as running:
        yield running


def test_the_stack_boots_from_the_template_without_warnings(stack: LocalStack) -> None:
    assert stack.warnings == []
    assert stack.api_url.startswith("http://127.0.0.1:")
    assert stack.aws_endpoint_url.startswith("http://127.0.0.1:")
    assert sorted(stack.runtime.functions) == sorted(api_routes.FUNCTIONS)


def test_every_function_gets_its_template_environment_made_local(stack: LocalStack) -> None:
    for name in api_routes.FUNCTIONS:
        environment = stack.function_environment(name)
        settings = Settings.from_environ(environment)
        assert settings.zapsign_queue_url.startswith(stack.aws_endpoint_url)
        assert settings.api_base_url == f"{stack.api_url}/"
        assert settings.allow_loopback_http is True  # the override layer
        assert environment["AWS_LAMBDA_FUNCTION_NAME"]
        assert environment["POWERTOOLS_SERVICE_NAME"]


def test_the_secrets_hold_the_development_values(stack: LocalStack) -> None:
    secrets = stack.client("secretsmanager")
    settings = Settings.from_environ(stack.function_environment("worker"))
    zapsign = json.loads(secrets.get_secret_value(SecretId=settings.zapsign_secret_name)["SecretString"])
    assert zapsign == {"api_token": dev_values.ZAPSIGN_API_TOKEN}
    oneshot = json.loads(secrets.get_secret_value(SecretId=settings.oneshot_secret_name)["SecretString"])
    assert oneshot["token"] == dev_values.ONESHOT_RAO_TOKEN
    webhook = json.loads(secrets.get_secret_value(SecretId=settings.webhook_secret_name)["SecretString"])
    assert webhook["zapsign"][0] == dev_values.ZAPSIGN_WEBHOOK_SECRET
    # and they have the shapes the functions read
    ZapSignCredentials.model_validate(zapsign)
    OneShotCredentials.model_validate(oneshot)
    assert WebhookSecrets.model_validate(webhook).accepted_oneshot() == (dev_values.ONESHOT_WEBHOOK_SECRET,)


def test_http_requests_reach_the_routed_function(stack: LocalStack) -> None:
    response = requests.get(f"{stack.api_url}/v1/requests/r-42", timeout=10)
    assert response.status_code == 201
    event = response.json()["event"]
    assert event["routeKey"] == "GET /v1/requests/{request_id}"
    assert event["pathParameters"] == {"request_id": "r-42"}
    assert response.json()["facts"]["service"] == "signbridge"

    webhook = requests.post(f"{stack.api_url}/webhooks/oneshot/s3cr3t", json={"x": 1}, timeout=10)
    assert webhook.json()["event"]["pathParameters"] == {"secret": "s3cr3t"}
    assert "authorizer" not in webhook.json()["event"]["requestContext"]  # an unauthenticated route

    assert requests.get(f"{stack.api_url}/v2/nothing", timeout=10).status_code == 404


def test_an_upload_to_incoming_reaches_intake_once(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    bucket = Settings.from_environ(stack.function_environment("intake")).bucket_name
    s3.put_object(Bucket=bucket, Key=keys.incoming_key("r-7", 1), Body=b"%PDF-1.7")
    s3.put_object(Bucket=bucket, Key=keys.original_key("r-7", 1), Body=b"%PDF-1.7")
    assert stack.wait_until_idle(timeout=15)
    keys_seen = [event["Records"][0]["s3"]["object"]["key"] for event, _ in recorder.of("intake")]
    assert keys_seen == [keys.incoming_key("r-7", 1)]


def test_a_queued_step_reaches_the_worker(stack: LocalStack) -> None:
    settings = Settings.from_environ(stack.function_environment("worker"))
    sqs = stack.client("sqs")
    for queue in (settings.zapsign_queue_url, settings.oneshot_queue_url):
        sqs.send_message(
            QueueUrl=queue, MessageBody=f"step for {queue}", MessageGroupId="r-8", MessageDeduplicationId="1"
        )
    assert stack.wait_until_idle(timeout=15)
    assert sorted(record["body"] for record, _ in recorder.of("worker")) == sorted(
        f"step for {queue}" for queue in (settings.zapsign_queue_url, settings.oneshot_queue_url)
    )


def test_schedules_can_be_triggered(stack: LocalStack) -> None:
    (reconciler,) = stack.trigger_schedule("reconciler")
    (housekeeper,) = stack.trigger_schedule("housekeeper")
    assert reconciler.succeeded
    assert housekeeper.succeeded
    assert recorder.of("reconciler")[0][0]["detail-type"] == "Scheduled Event"


def test_direct_invocations_are_recorded(stack: LocalStack) -> None:
    invocation = stack.invoke("reconciler", {"detail": {}})
    assert invocation.succeeded
    assert stack.invocations[-1].request_id == invocation.request_id


def test_one_stack_per_process(stack: LocalStack) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        LocalStack(LocalStackConfig(template=stack.config.template, api_port=0)).start()


def test_a_stack_stops_cleanly(real_template: Path, stack: LocalStack) -> None:
    # Given a second stack, after the module's one (one at a time per process)
    stack.stop()
    original_environ = os.environ
    second = LocalStack(LocalStackConfig(template=real_template, api_port=0, function_overrides=FAKE_FUNCTIONS))
    second.start()
    assert stack_threads() != []
    api_port = int(second.api_url.rsplit(":", 1)[1])
    aws_port = int(second.aws_endpoint_url.rsplit(":", 1)[1])
    assert os.environ is not original_environ
    assert os.environ["AWS_ENDPOINT_URL"] == second.aws_endpoint_url

    # When it stops
    second.stop()

    # Then no thread is left, the ports are closed and the process environment is as before
    assert stack_threads(api_port, aws_port) == []
    for port in (api_port, aws_port):
        with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
            probe.connect(("127.0.0.1", port))
    assert os.environ is original_environ
    assert os.environ.get("AWS_ENDPOINT_URL") != second.aws_endpoint_url
