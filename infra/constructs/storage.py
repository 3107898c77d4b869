"""The state store (one DynamoDB table) and the file store (one S3 bucket, plus its access-log bucket).

Key names, index names and the TTL attribute come from `signbridge.storage.schema`; prefixes from
`signbridge.domain.keys`. The local stack rebuilds the table from the synthesized template, so the table that is
deployed, the one the local stack creates and the code that queries them cannot disagree.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.common import pin_logical_id
from signbridge.domain import keys
from signbridge.storage import schema

# Incomplete multipart uploads are never resumed by SignBridge (presigned POSTs are single-part): drop them quickly.
ABORT_INCOMPLETE_UPLOAD_DAYS = 1
# A previous version exists only after an overwrite or a delete; keep it long enough to recover from an operator
# mistake, not forever.
NONCURRENT_VERSION_EXPIRY_DAYS = 30
ACCESS_LOG_RETENTION_DAYS = 365
# Pinned logical ids (cdk-nag findings and the local stack name them).
TABLE_ID = "Table"
BUCKET_ID = "Bucket"
ACCESS_LOG_BUCKET_ID = "AccessLogBucket"


class Storage(Construct):
    """`table` (logical id `Table`), `bucket` (`Bucket`) and its server access log bucket (`AccessLogBucket`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        retain: bool,
        incoming_expiry_days: int,
        raw_retention_days: int,
        evidence_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY

        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=schema.PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=schema.SK, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=schema.TTL_ATTRIBUTE,
            deletion_protection=retain,
            removal_policy=removal,
        )
        # Projection from the schema (ALL): both indexes are sparse (only request items carry their keys) and serve
        # list pages and the reconciler, which need the whole request item; fewer attributes would cost a GetItem
        # per hit.
        for index_name, partition, sort in schema.GLOBAL_INDEXES:
            self.table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType[schema.INDEX_PROJECTION],
            )
        pin_logical_id(self.table, TABLE_ID)

        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,  # server access logging cannot deliver to SSE-KMS buckets
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(ACCESS_LOG_RETENTION_DAYS))
            ],
            removal_policy=removal,
        )
        # No access logging on the log bucket itself: cdk-nag (S1) recognises a log destination and does not ask.
        pin_logical_id(self.access_log_bucket, ACCESS_LOG_BUCKET_ID)

        lifecycle = [
            s3.LifecycleRule(
                id="expire-incoming",
                prefix=keys.INCOMING_PREFIX,
                expiration=Duration.days(incoming_expiry_days),
                abort_incomplete_multipart_upload_after=Duration.days(ABORT_INCOMPLETE_UPLOAD_DAYS),
            ),
            s3.LifecycleRule(
                id="expire-raw-events",
                prefix=keys.RAW_PREFIX,
                expiration=Duration.days(raw_retention_days),
            ),
            s3.LifecycleRule(
                id="expire-noncurrent-versions",
                noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_EXPIRY_DAYS),
                expired_object_delete_marker=True,
                abort_incomplete_multipart_upload_after=Duration.days(ABORT_INCOMPLETE_UPLOAD_DAYS),
            ),
        ]
        if evidence_retention_days:
            lifecycle.append(
                s3.LifecycleRule(
                    id="expire-evidence",
                    prefix=keys.EVIDENCE_PREFIX,
                    expiration=Duration.days(evidence_retention_days),
                )
            )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="file-bucket/",
            lifecycle_rules=lifecycle,
            removal_policy=removal,
        )
        pin_logical_id(self.bucket, BUCKET_ID)
