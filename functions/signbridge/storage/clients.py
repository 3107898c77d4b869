"""The one place boto3 clients are made: one retry policy, one timeout policy, for every AWS service SignBridge uses.

The endpoint comes from the standard AWS configuration (`AWS_ENDPOINT_URL`, the region, the credentials chain), which
is how the local stack and the tests point everything at the moto server without a code path of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient

# Standard retry mode: exponential backoff with jitter, retries throttling and transient errors, 3 attempts in all.
# Timeouts stay well inside a Lambda's budget; S3 parts are at most a few MiB.
CLIENT_CONFIG: Final = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=30,
)
# Presigned links must be SigV4 (SigV2 is deprecated and refused in newer regions) and carry X-Amz-Expires.
S3_CONFIG: Final = CLIENT_CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "auto"}))


def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


def s3_client() -> S3Client:
    return boto3.client("s3", config=S3_CONFIG)


def sqs_client() -> SQSClient:
    return boto3.client("sqs", config=CLIENT_CONFIG)


def secretsmanager_client() -> SecretsManagerClient:
    return boto3.client("secretsmanager", config=CLIENT_CONFIG)


def kms_client() -> Any:
    """KMS (the evidence package's seal). Typed by its one user, `signbridge.storage.seal` (no stubs installed)."""
    return boto3.client("kms", config=CLIENT_CONFIG)
