"""AWS emulation for the tests: a moto server on 127.0.0.1 and builders for fresh, uniquely named resources.

One `MotoServer` runs per test session, which with pytest-xdist means one per worker process; every test creates its
own table, bucket, queues and secrets (`unique_name`), so tests never share state and can run in parallel. The
resources are built from the same definitions the product uses (`signbridge.storage.schema` for the table), so a
test table has the keys and indexes the deployed one has.

Nothing here talks to real AWS: `aws_environment()` points every boto3 client at the local server and gives it fake
credentials, and hides the developer's own AWS configuration files.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from signbridge.storage import schema

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient

REGION = "us-east-1"
LOOPBACK = "127.0.0.1"

# Sample secret documents in the shapes `signbridge.storage.secrets` reads.
SAMPLE_ZAPSIGN_SECRET: Mapping[str, Any] = {"api_token": "zapsign-test-token"}
SAMPLE_WEBHOOK_SECRET: Mapping[str, Any] = {
    "zapsign": ["zapsign-hook-current", "zapsign-hook-previous"],
    "oneshot": ["oneshot-hook-current", ""],
}
SAMPLE_ONESHOT_SECRET: Mapping[str, Any] = {
    "token": "3bf8d8eb-d96c-41ea-83ad-d78a7016c7da",
    "billing_username": "billing-user",
    "billing_password": "YmlsbGluZy1wYXNzd29yZA==",
    "registration_authority": "139",
    "profile": "PFnubeQAFCiudadano",
}


@dataclass(frozen=True)
class MotoEndpoint:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class _OneDynamoDBRequestAtATime:
    """WSGI middleware: DynamoDB requests run one at a time; the other services stay concurrent.

    moto's DynamoDB evaluates a condition and then writes without a lock, so two concurrent TransactWriteItems can
    both pass `version = :expected` (seen in about one run in three of the race test). DynamoDB itself serialises
    conflicting writes; handling DynamoDB requests one at a time gives the emulation that guarantee. S3 and SQS are
    left concurrent (SQS long polls would otherwise hold everything up).
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


class _ThreadedMotoServerWithAtomicDynamoDB(ThreadedMotoServer):
    # Same as moto's `_server_entry` (moto 5.2), with the middleware around the application.
    def _server_entry(self) -> None:
        app = _OneDynamoDBRequestAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class MotoServer:
    """moto's `ThreadedMotoServer` on a free loopback port, in this process (DynamoDB requests serialised)."""

    def __init__(self) -> None:
        self._server = _ThreadedMotoServerWithAtomicDynamoDB(ip_address=LOOPBACK, port=0, verbose=False)
        self._endpoint: MotoEndpoint | None = None

    def start(self) -> MotoEndpoint:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per AWS call
        self._server.start()
        host, port = self._server.get_host_and_port()
        self._endpoint = MotoEndpoint(host, port)
        return self._endpoint

    def stop(self) -> None:
        self._server.stop()


def aws_environment(endpoint_url: str) -> dict[str, str]:
    """Environment variables that send every boto3 client to the emulation, with fake credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


# Variables from the developer's shell that could send a client elsewhere; unset while tests run.
AWS_VARIABLES_TO_HIDE = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


def unique_name(prefix: str) -> str:
    """A name no other test uses: `{prefix}-{12 hex}` (valid for tables, buckets, queues and secrets)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_table(client: DynamoDBClient, name: str) -> str:
    """The single table as `storage/schema.py` defines it: keys, both GSIs (projection ALL) and the TTL attribute."""
    key_attributes = {schema.PK, schema.SK}
    indexes = []
    for index_name, partition, sort in schema.GLOBAL_INDEXES:
        key_attributes |= {partition, sort}
        indexes.append(
            {
                "IndexName": index_name,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": sort, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": schema.INDEX_PROJECTION},
            }
        )
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": schema.PK, "KeyType": "HASH"},
            {"AttributeName": schema.SK, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[{"AttributeName": name_, "AttributeType": "S"} for name_ in sorted(key_attributes)],
        GlobalSecondaryIndexes=indexes,
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.TTL_ATTRIBUTE}
    )
    return name


def create_bucket(client: S3Client, name: str, *, versioned: bool = True) -> str:
    """A private bucket; versioned like the deployed one unless told otherwise."""
    client.create_bucket(Bucket=name)
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@dataclass(frozen=True)
class FifoQueue:
    url: str
    dead_letter_url: str


@dataclass(frozen=True)
class Queues:
    zapsign: FifoQueue
    oneshot: FifoQueue


def create_fifo_queue(client: SQSClient, name: str, *, max_receive_count: int = 5) -> FifoQueue:
    """A FIFO queue (explicit deduplication ids, no content-based deduplication) with its FIFO dead-letter queue."""
    dead_letter_url = client.create_queue(QueueName=f"{name}-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dead_letter_arn = client.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = client.create_queue(
        QueueName=f"{name}.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "false",
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receive_count}),
        },
    )["QueueUrl"]
    return FifoQueue(url=url, dead_letter_url=dead_letter_url)


def create_secret(client: SecretsManagerClient, name: str, value: Mapping[str, Any] | str) -> str:
    """A secret holding `value` (a JSON document, or a raw string to test malformed secrets); returns the name."""
    client.create_secret(Name=name, SecretString=value if isinstance(value, str) else json.dumps(value))
    return name


_SUBPROCESS_SERVER = """
import logging, sys
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the parent closes our stdin
server.stop()
"""


@contextmanager
def moto_in_subprocess() -> Iterator[MotoEndpoint]:
    """A moto server in a child process, for tests that measure this process's memory: the in-process server would
    count the objects it stores (and the request bodies it parses) against the code under test."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SUBPROCESS_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield MotoEndpoint(LOOPBACK, port)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
