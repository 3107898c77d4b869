"""The AWS fault injector's errors are the services' own: botocore parses each into the modeled error code, both when
it sees the answer itself (retried) and when the error is handed straight to the caller (surfaced). No socket: the
injected answer replaces the HTTP call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chaos.aws import ERRORS, AwsFaultInjector, AwsFaults

pytestmark = pytest.mark.xdist_group("chaos")

CALLS: dict[str, Callable[[Any], Any]] = {
    "dynamodb": lambda client: client.get_item(TableName="t", Key={"pk": {"S": "x"}}),
    "s3": lambda client: client.get_object(Bucket="b", Key="k"),
    "sqs": lambda client: client.get_queue_attributes(QueueUrl="http://127.0.0.1:9/q", AttributeNames=["All"]),
}


def _client(service: str) -> Any:
    return boto3.session.Session().client(
        service,
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


@pytest.mark.parametrize("how", ["retried", "surfaced"])
@pytest.mark.parametrize("service", sorted(CALLS))
def test_each_injected_error_is_the_services_own(service: str, how: str) -> None:
    rates = {"worker": 1.0}
    faults = AwsFaults(seed=3, retried=rates if how == "retried" else {}, surfaced=rates if how == "surfaced" else {})
    injector = AwsFaultInjector(faults)
    codes = set()
    with injector.installed():
        client = _client(service)
        with injector.acting_as("worker"):
            for _ in range(8):
                with pytest.raises(ClientError) as raised:
                    CALLS[service](client)
                codes.add(
                    (
                        raised.value.response["Error"]["Code"],
                        raised.value.response["ResponseMetadata"]["HTTPStatusCode"],
                    )
                )

    assert codes <= {(error.code, error.status) for error in ERRORS[service]}
    assert codes
    assert injector.tallies()["injected_total"] >= 8


def test_calls_outside_an_invocation_are_never_touched() -> None:
    injector = AwsFaultInjector(AwsFaults(seed=3, retried={"*": 1.0}, surfaced={"*": 1.0}))
    with injector.installed():
        client = _client("dynamodb")
        with pytest.raises(Exception) as raised:  # the dummy endpoint refuses: a connection error, no ClientError
            CALLS["dynamodb"](client)

    assert not isinstance(raised.value, ClientError)
    assert injector.tallies()["injected_total"] == 0
