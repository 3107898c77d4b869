"""Shared fixtures. AWS ones run against a moto server on 127.0.0.1 (see tests/support/aws.py); nothing reaches AWS.

Session scope (one per xdist worker):
    aws               the running moto server (`local.aws.AwsEmulator`: host, port, url); sets AWS_ENDPOINT_URL, fake
                      credentials and AWS_DEFAULT_REGION=us-east-1 for this process while the session lasts
    dynamodb_client, s3_client, sqs_client, secretsmanager_client
                      boto3 clients on that server (made by `signbridge.storage.clients`, like production's)

Function scope (fresh, uniquely named resources per test, so tests can run in parallel):
    table             the single DynamoDB table, keys + GSIs + TTL from `signbridge.storage.schema` (its name)
    bucket            a versioned S3 bucket (its name)
    queues            `Queues(zapsign=FifoQueue(url, dead_letter_url), oneshot=...)`: FIFO queues with FIFO DLQs
    secrets           `SecretNames(zapsign, webhook, oneshot)`: the three secrets, holding the SAMPLE_* documents
    evidence_key      the ARN of a KMS ECC_NIST_P256 signing key (the evidence package's seal), once per session
    settings          `signbridge.config.Settings` read from the environment, with every SIGNBRIDGE_* variable
                      pointing at the resources above (and `get_settings()` returning it during the test)
    record_store, idempotency_store, file_store, queue_sender, secret_store
                      the storage classes wired to those resources
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from local.aws import AwsEmulator
from signbridge import env_names
from signbridge.config import Settings, get_settings, reset_settings_cache
from signbridge.domain.operations import Queue
from signbridge.storage import clients
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.queues import QueueSender
from signbridge.storage.records import RecordStore
from signbridge.storage.secrets import SecretStore
from simulators.signatures.pki import TestPki
from tests.support.aws import (
    AWS_VARIABLES_TO_HIDE,
    SAMPLE_ONESHOT_SECRET,
    SAMPLE_WEBHOOK_SECRET,
    SAMPLE_ZAPSIGN_SECRET,
    Queues,
    aws_environment,
    create_bucket,
    create_fifo_queue,
    create_secret,
    create_table,
    unique_name,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient


@dataclass(frozen=True)
class SecretNames:
    zapsign: str
    webhook: str
    oneshot: str
    signer_page: str


# The signing-page link key of the tests (any 32+ characters; CloudFormation generates the deployed one).
SAMPLE_SIGNER_PAGE_SECRET = {"link_key": "test-signer-page-key-0123456789abcdefghijklmnopqrstuvwxyz"}


# ------------------------------------------------------------------------------------------------ session


@pytest.fixture(scope="session")
def aws() -> Iterator[AwsEmulator]:
    emulator = AwsEmulator().start()
    with pytest.MonkeyPatch.context() as patch:
        for name in AWS_VARIABLES_TO_HIDE:
            patch.delenv(name, raising=False)
        for name, value in aws_environment(emulator.url).items():
            patch.setenv(name, value)
        yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def dynamodb_client(aws: AwsEmulator) -> DynamoDBClient:
    return clients.dynamodb_client()


@pytest.fixture(scope="session")
def s3_client(aws: AwsEmulator) -> S3Client:
    return clients.s3_client()


@pytest.fixture(scope="session")
def sqs_client(aws: AwsEmulator) -> SQSClient:
    return clients.sqs_client()


@pytest.fixture(scope="session")
def secretsmanager_client(aws: AwsEmulator) -> SecretsManagerClient:
    return clients.secretsmanager_client()


# ------------------------------------------------------------------------------------------------ per test


@pytest.fixture
def table(dynamodb_client: DynamoDBClient) -> Iterator[str]:
    name = create_table(dynamodb_client, unique_name("signbridge"))
    yield name
    dynamodb_client.delete_table(TableName=name)


@pytest.fixture
def bucket(s3_client: S3Client) -> str:
    return create_bucket(s3_client, unique_name("signbridge"))


@pytest.fixture
def queues(sqs_client: SQSClient) -> Queues:
    prefix = unique_name("signbridge")
    return Queues(
        zapsign=create_fifo_queue(sqs_client, f"{prefix}-zapsign-ops"),
        oneshot=create_fifo_queue(sqs_client, f"{prefix}-oneshot-ops"),
    )


@pytest.fixture
def secrets(secretsmanager_client: SecretsManagerClient) -> SecretNames:
    prefix = unique_name("signbridge")
    return SecretNames(
        zapsign=create_secret(secretsmanager_client, f"{prefix}/zapsign", SAMPLE_ZAPSIGN_SECRET),
        webhook=create_secret(secretsmanager_client, f"{prefix}/webhooks", SAMPLE_WEBHOOK_SECRET),
        oneshot=create_secret(secretsmanager_client, f"{prefix}/oneshot", SAMPLE_ONESHOT_SECRET),
        signer_page=create_secret(secretsmanager_client, f"{prefix}/signer-page", SAMPLE_SIGNER_PAGE_SECRET),
    )


@pytest.fixture(scope="session")
def evidence_key(aws: AwsEmulator) -> str:
    """The ARN of a KMS key like the stack's evidence key (ECC_NIST_P256, sign and verify), on moto."""
    created = clients.kms_client().create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", Description="evidence")
    return str(created["KeyMetadata"]["Arn"])


@pytest.fixture(scope="session")
def simulator_trust_anchors(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The simulators' test root (their process-wide PKI) as a PEM file: what the functions verify signatures with."""
    path = tmp_path_factory.mktemp("trust") / "trust-anchors.pem"
    path.write_text(TestPki.shared().trust_anchors_pem(), encoding="ascii")
    return str(path)


@pytest.fixture
def settings(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, table: str, bucket: str, queues: Queues
) -> Iterator[Settings]:
    secrets: SecretNames = request.getfixturevalue("secrets")
    simulator_trust_anchors: str = request.getfixturevalue("simulator_trust_anchors")
    evidence_key: str = request.getfixturevalue("evidence_key")
    environment = {
        env_names.STAGE: "test",
        env_names.TABLE_NAME: table,
        env_names.BUCKET_NAME: bucket,
        env_names.ZAPSIGN_QUEUE_URL: queues.zapsign.url,
        env_names.ONESHOT_QUEUE_URL: queues.oneshot.url,
        env_names.ZAPSIGN_SECRET_NAME: secrets.zapsign,
        env_names.WEBHOOK_SECRET_NAME: secrets.webhook,
        env_names.ONESHOT_SECRET_NAME: secrets.oneshot,
        env_names.SIGNER_PAGE_SECRET_NAME: secrets.signer_page,
        env_names.ALLOW_LOOPBACK_HTTP: "true",
        env_names.EVIDENCE_KEY_ID: evidence_key,
        env_names.TRUST_ANCHORS_FILE: simulator_trust_anchors,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    parameters.clear_caches()
    yield get_settings()
    reset_settings_cache()
    parameters.clear_caches()


@pytest.fixture
def record_store(table: str, dynamodb_client: DynamoDBClient) -> RecordStore:
    return RecordStore(table_name=table, client=dynamodb_client)


@pytest.fixture
def idempotency_store(table: str, dynamodb_client: DynamoDBClient) -> IdempotencyStore:
    return IdempotencyStore(table_name=table, client=dynamodb_client)


@pytest.fixture
def file_store(bucket: str, s3_client: S3Client) -> FileStore:
    return FileStore(bucket=bucket, client=s3_client)


@pytest.fixture
def queue_sender(queues: Queues, sqs_client: SQSClient) -> QueueSender:
    return QueueSender(
        client=sqs_client, queue_urls={Queue.ZAPSIGN: queues.zapsign.url, Queue.ONESHOT: queues.oneshot.url}
    )


@pytest.fixture
def secret_store(secrets: SecretNames, secretsmanager_client: SecretsManagerClient) -> SecretStore:
    # A provider of its own per test: no cached value leaks from one test into another.
    return SecretStore(
        zapsign_secret_name=secrets.zapsign,
        webhook_secret_name=secrets.webhook,
        oneshot_secret_name=secrets.oneshot,
        signer_page_secret_name=secrets.signer_page,
        max_age_seconds=300,
        provider=SecretsProvider(boto3_client=secretsmanager_client),
    )
