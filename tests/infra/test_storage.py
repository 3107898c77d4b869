"""The table matches signbridge.storage.schema; the bucket is private, TLS-only, versioned, with lifecycle rules."""

from __future__ import annotations

import pytest

from signbridge.domain import keys
from signbridge.storage import schema

from .conftest import Synth, ref

pytestmark = pytest.mark.infra


def test_table_keys_indexes_and_ttl_match_the_schema(synth: Synth) -> None:
    (logical_id,) = synth.of_type("AWS::DynamoDB::Table")
    assert logical_id == "Table"
    table = synth.props("Table")
    assert table["KeySchema"] == [
        {"AttributeName": schema.PK, "KeyType": "HASH"},
        {"AttributeName": schema.SK, "KeyType": "RANGE"},
    ]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {name for name, _, _ in schema.GLOBAL_INDEXES}
    for name, partition, sort in schema.GLOBAL_INDEXES:
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": sort, "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"] == {"ProjectionType": schema.INDEX_PROJECTION}
    key_attributes = {schema.PK, schema.SK} | {a for _, p, s in schema.GLOBAL_INDEXES for a in (p, s)}
    assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
        (name, "S") for name in key_attributes
    }
    assert table["TimeToLiveSpecification"] == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}


def test_table_is_on_demand_encrypted_with_point_in_time_recovery(synth: Synth) -> None:
    table = synth.props("Table")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_stateful_resources_are_destroyed_outside_prod_and_retained_in_prod(synth: Synth, full_synth: Synth) -> None:
    stateful = ("Table", "Bucket", "AccessLogBucket", "ZapSignSecret", "WebhookSecret", "OneShotSecret")
    for logical_id in stateful:
        assert synth.resources[logical_id]["DeletionPolicy"] == "Delete", logical_id
        assert full_synth.resources[logical_id]["DeletionPolicy"] == "Retain", logical_id
        assert full_synth.resources[logical_id]["UpdateReplacePolicy"] == "Retain", logical_id
    assert full_synth.props("Table")["DeletionProtectionEnabled"] is True


@pytest.mark.parametrize("bucket", ["Bucket", "AccessLogBucket"])
def test_bucket_blocks_public_access_and_is_encrypted(synth: Synth, bucket: str) -> None:
    props = synth.props(bucket)
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}


@pytest.mark.parametrize("bucket", ["Bucket", "AccessLogBucket"])
def test_bucket_policy_denies_requests_without_tls(synth: Synth, bucket: str) -> None:
    (policy,) = [
        p["Properties"]
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if ref(p["Properties"]["Bucket"]) == bucket
    ]
    assert any(
        s["Effect"] == "Deny"
        and s["Action"] == "s3:*"
        and s["Principal"] == {"AWS": "*"}
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["PolicyDocument"]["Statement"]
    )


def test_file_bucket_is_versioned_and_logs_access_to_the_log_bucket(synth: Synth) -> None:
    props = synth.props("Bucket")
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert ref(props["LoggingConfiguration"]["DestinationBucketName"]) == "AccessLogBucket"


def test_lifecycle_expires_incoming_and_raw_and_old_versions(synth: Synth) -> None:
    rules = {rule["Id"]: rule for rule in synth.props("Bucket")["LifecycleConfiguration"]["Rules"]}
    incoming = rules["expire-incoming"]
    assert incoming["Prefix"] == keys.INCOMING_PREFIX
    assert incoming["ExpirationInDays"] == 2
    assert incoming["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    raw = rules["expire-raw-events"]
    assert raw["Prefix"] == keys.RAW_PREFIX
    assert raw["ExpirationInDays"] == 90
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    assert all(rule["Status"] == "Enabled" for rule in rules.values())
    # Evidence is kept by default (evidence_retention_days = 0).
    assert "expire-evidence" not in rules


def test_uploads_under_incoming_trigger_intake(synth: Synth) -> None:
    (notification,) = synth.of_type("Custom::S3BucketNotifications").values()
    props = notification["Properties"]
    assert ref(props["BucketName"]) == "Bucket"
    (config,) = props["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert config["Filter"] == {"Key": {"FilterRules": [{"Name": "prefix", "Value": keys.INCOMING_PREFIX}]}}
    assert ref(config["LambdaFunctionArn"]) == "IntakeFunction"
