"""AWS emulation for the tests: the local stack's moto server (`local.aws.AwsEmulator`) and builders for fresh,
uniquely named resources.

One emulator runs per test session, which with pytest-xdist means one per worker process; every test creates its
own table, bucket, queues and secrets (`unique_name`), so tests never share state and can run in parallel. The
resources are created from the synthesized template by the local stack's own creators (`local.provision`), so a
test table has the keys, indexes and TTL the deployed one has, and a test queue the deployed queue's settings.

Nothing here talks to real AWS: `aws_environment()` points every boto3 client at the local server and gives it fake
credentials, and hides the developer's own AWS configuration files.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local import provision, synth
from local.template.parser import load_template
from local.template.specs import TemplateModel

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


@functools.cache
def template_model() -> TemplateModel:
    """The synthesized template (synthesized again only when its inputs changed): what the resources are built from."""
    return load_template(synth.ensure_template())


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
    """The single table as the template defines it: keys, both GSIs and the TTL attribute."""
    (table,) = template_model().tables.values()
    return provision.create_table(client, name, table)


def create_bucket(client: S3Client, name: str, *, versioned: bool = True) -> str:
    """A private bucket as the template defines SignBridge's; versioned like the deployed one unless told otherwise."""
    bucket = template_model().buckets["Bucket"]
    return provision.create_bucket(client, name, dataclasses.replace(bucket, versioned=versioned), region=REGION)


@dataclass(frozen=True)
class FifoQueue:
    url: str
    dead_letter_url: str


@dataclass(frozen=True)
class Queues:
    zapsign: FifoQueue
    oneshot: FifoQueue


def create_fifo_queue(client: SQSClient, name: str, *, max_receive_count: int = 5) -> FifoQueue:
    """A FIFO queue as the template defines the operation queues (explicit deduplication ids, no content-based
    deduplication) with its FIFO dead-letter queue, visible again after 30 s instead of the deployed timeout."""
    model = template_model()
    queue = model.queues["ZapSignQueue"]
    assert queue.dead_letter_queue is not None
    dead_letter_url = provision.create_queue(
        client, f"{name}-dlq.fifo", model.queues[queue.dead_letter_queue], dead_letter_arn=None
    )
    dead_letter_arn = client.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = provision.create_queue(
        client,
        f"{name}.fifo",
        dataclasses.replace(queue, max_receive_count=max_receive_count),
        dead_letter_arn=dead_letter_arn,
        VisibilityTimeout="30",
    )
    return FifoQueue(url=url, dead_letter_url=dead_letter_url)


def create_secret(client: SecretsManagerClient, name: str, value: Mapping[str, Any] | str) -> str:
    """A secret holding `value` (a JSON document, or a raw string to test malformed secrets); returns the name."""
    provision.create_secret(client, name, value if isinstance(value, str) else json.dumps(value))
    return name


_SUBPROCESS_SERVER = """
import sys
from local.aws import AwsEmulator
emulator = AwsEmulator().start()
print(emulator.port, flush=True)
sys.stdin.read()  # until the parent closes our stdin
emulator.stop()
"""


@contextmanager
def moto_in_subprocess() -> Iterator[MotoEndpoint]:
    """A moto server in a child process, for tests that measure this process's memory: the in-process server would
    count the objects it stores (and the request bodies it parses) against the code under test."""
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-c", _SUBPROCESS_SERVER],
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "functions")])},
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
