"""Which IAM actions on which resources an AWS API call needs: `authorizations(service, operation, params, arns)`.

The rules are IAM's (the "Actions, resources, and condition keys" pages of the Service Authorization Reference), for
the services SignBridge's functions call — S3, DynamoDB, SQS, Secrets Manager, KMS — and a default for the rest
(`<service>:<Operation>` on `*`). A call can need several authorisations (a CopyObject reads its source and writes its
destination; a TransactWriteItems needs the action of each of its items on each table); all must be allowed.

- S3: the object ARN `arn:aws:s3:::<bucket>/<key>` for object operations; HeadObject is `s3:GetObject`; reading or
  deleting a given version is `s3:GetObjectVersion` / `s3:DeleteObjectVersion`; the multipart operations are
  `s3:PutObject` (AbortMultipartUpload and ListParts have their own actions); listing objects is `s3:ListBucket` on
  the bucket ARN with the `s3:prefix`, `s3:delimiter` and `s3:max-keys` condition keys; HeadBucket is
  `s3:ListBucket`.
- DynamoDB: the table ARN, or `table/<name>/index/<index>` for a Query or Scan of an index; the transactions need
  the item action (`PutItem`, `UpdateItem`, `DeleteItem`, `ConditionCheckItem`, `GetItem`) on each table named.
- SQS: the queue ARN built from the queue URL (`…/<account>/<name>`) or the queue name; the batch calls need the
  single-message action (`SendMessageBatch` is `sqs:SendMessage`).
- Secrets Manager: the secret's full ARN, with the six random characters AWS appends, resolved from a name or a
  partial ARN through the secrets the stack knows (`Arns.secret_arn`).
- KMS: the key ARN (a key id becomes `key/<id>`, an alias `alias/<name>`).
- STS `GetCallerIdentity` needs no permission (IAM does not evaluate it); it gets no authorisation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from local.iam.policy import AuthRequest


@dataclass(frozen=True)
class Arns:
    """Builds the ARNs IAM evaluates, in the local stack's account and region."""

    region: str = "us-east-1"
    account_id: str = "123456789012"
    partition: str = "aws"
    secrets: Mapping[str, str] = field(default_factory=dict)  # secret name -> full ARN (with the random suffix)

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account_id if account else ''}:{resource}"
        )

    def s3(self, bucket: str, key: str | None = None) -> str:
        return f"arn:{self.partition}:s3:::{bucket}" + ("" if key is None else f"/{key}")

    def table(self, name: str, index: str | None = None) -> str:
        if name.startswith("arn:"):
            return name if index is None else f"{name}/index/{index}"
        return self.arn("dynamodb", f"table/{name}" + ("" if index is None else f"/index/{index}"))

    def queue_from_url(self, url: str) -> str:
        parts = [p for p in urlsplit(url).path.split("/") if p]
        if len(parts) >= 2:  # /<account>/<name>
            return f"arn:{self.partition}:sqs:{self.region}:{parts[-2]}:{parts[-1]}"
        return self.arn("sqs", parts[-1] if parts else url)

    def secret_arn(self, secret_id: str) -> str:
        """A secret's full ARN from its name, full ARN or partial ARN (the name without the random suffix)."""
        if secret_id in self.secrets:
            return self.secrets[secret_id]
        for arn in self.secrets.values():
            if secret_id == arn or (secret_id.startswith("arn:") and arn.startswith(secret_id + "-")):
                return arn
        return secret_id if secret_id.startswith("arn:") else self.arn("secretsmanager", f"secret:{secret_id}")

    def kms_key(self, key_id: str) -> str:
        if key_id.startswith("arn:"):
            return key_id
        if key_id.startswith("alias/"):
            return self.arn("kms", key_id)
        return self.arn("kms", f"key/{key_id}")


Rule = Callable[[str, Mapping[str, Any], Arns], list[AuthRequest]]

# Calls IAM does not authorise.
UNAUTHORISED_CALLS = frozenset({("sts", "GetCallerIdentity")})


def authorizations(service: str, operation: str, params: Mapping[str, Any], arns: Arns) -> list[AuthRequest]:
    """The authorisations `service.operation(**params)` needs (`service` is the IAM prefix: `s3`, `dynamodb`, …)."""
    if (service, operation) in UNAUTHORISED_CALLS:
        return []
    rule = _RULES.get(service)
    if rule is not None:
        return rule(operation, params, arns)
    return [AuthRequest(f"{service}:{operation}", "*")]


# -- S3 -------------------------------------------------------------------------------------------------------------

_S3_OBJECT_ACTIONS = {
    "HeadObject": "GetObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListParts": "ListMultipartUploadParts",
}
_S3_VERSIONED = {
    "GetObject",
    "DeleteObject",
    "GetObjectTagging",
    "PutObjectTagging",
    "DeleteObjectTagging",
    "GetObjectAcl",
    "PutObjectAcl",
}
_S3_BUCKET_ACTIONS = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketCors": "PutBucketCORS",
    "DeleteBucketPolicy": "DeleteBucketPolicy",
    "GetBucketLocation": "GetBucketLocation",
}
_S3_NO_BUCKET = {"ListBuckets": "ListAllMyBuckets"}


def _s3_object(action: str, params: Mapping[str, Any], arns: Arns) -> AuthRequest:
    return AuthRequest(f"s3:{action}", arns.s3(str(params["Bucket"]), str(params["Key"])))


def _s3(operation: str, params: Mapping[str, Any], arns: Arns) -> list[AuthRequest]:
    if operation in _S3_NO_BUCKET:
        return [AuthRequest(f"s3:{_S3_NO_BUCKET[operation]}", "*")]
    if operation in ("CopyObject", "UploadPartCopy"):
        source_bucket, source_key, source_version = _copy_source(params["CopySource"])
        read = "GetObjectVersion" if source_version else "GetObject"
        return [
            AuthRequest(f"s3:{read}", arns.s3(source_bucket, source_key)),
            _s3_object("PutObject", params, arns),
        ]
    if operation == "DeleteObjects":
        objects = params.get("Delete", {}).get("Objects", [])
        return [
            AuthRequest(
                "s3:DeleteObjectVersion" if item.get("VersionId") else "s3:DeleteObject",
                arns.s3(str(params["Bucket"]), str(item["Key"])),
            )
            for item in objects
        ] or [AuthRequest("s3:DeleteObject", arns.s3(str(params["Bucket"]), ""))]
    if "Key" in params:
        action = _S3_OBJECT_ACTIONS.get(operation, operation)
        if operation == "HeadObject" and params.get("VersionId"):
            action = "GetObjectVersion"
        elif operation in _S3_VERSIONED and params.get("VersionId"):
            action = f"{operation}Version"  # GetObjectVersion, DeleteObjectVersion, GetObjectVersionTagging, …
            action = action.replace("ObjectTaggingVersion", "ObjectVersionTagging").replace(
                "ObjectAclVersion", "ObjectVersionAcl"
            )
        return [_s3_object(action, params, arns)]
    action = _S3_BUCKET_ACTIONS.get(operation, operation)
    context: dict[str, tuple[str, ...]] = {}
    if action == "ListBucket" and operation != "HeadBucket":
        for key, condition in (("Prefix", "s3:prefix"), ("Delimiter", "s3:delimiter"), ("MaxKeys", "s3:max-keys")):
            if params.get(key) is not None:
                context[condition] = (str(params[key]),)
    return [AuthRequest(f"s3:{action}", arns.s3(str(params.get("Bucket", "*"))), context)]


def _copy_source(source: Any) -> tuple[str, str, str | None]:
    if isinstance(source, Mapping):
        return str(source["Bucket"]), str(source["Key"]), source.get("VersionId")
    text = unquote(str(source)).lstrip("/")
    path, _, query = text.partition("?versionId=")
    bucket, _, key = path.partition("/")
    return bucket, key, query or None


# -- DynamoDB -------------------------------------------------------------------------------------------------------

_TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _dynamodb(operation: str, params: Mapping[str, Any], arns: Arns) -> list[AuthRequest]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        needed: dict[tuple[str, str], None] = {}
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                needed[(_TRANSACT_ITEM_ACTIONS.get(kind, kind), str(body["TableName"]))] = None
        return [AuthRequest(f"dynamodb:{action}", arns.table(table)) for action, table in needed]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [
            AuthRequest(f"dynamodb:{operation}", arns.table(str(table))) for table in params.get("RequestItems", {})
        ]
    if operation in ("ListTables", "DescribeLimits", "DescribeEndpoints"):
        return [AuthRequest(f"dynamodb:{operation}", "*")]
    table = params.get("TableName") or params.get("ResourceArn") or "*"
    index = params.get("IndexName") if operation in ("Query", "Scan") else None
    return [AuthRequest(f"dynamodb:{operation}", arns.table(str(table), index and str(index)))]


# -- SQS ------------------------------------------------------------------------------------------------------------

_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _sqs(operation: str, params: Mapping[str, Any], arns: Arns) -> list[AuthRequest]:
    action = f"sqs:{_SQS_BATCH.get(operation, operation)}"
    if "QueueUrl" in params:
        return [AuthRequest(action, arns.queue_from_url(str(params["QueueUrl"])))]
    if "QueueName" in params:
        owner = params.get("QueueOwnerAWSAccountId") or arns.account_id
        return [AuthRequest(action, f"arn:{arns.partition}:sqs:{arns.region}:{owner}:{params['QueueName']}")]
    return [AuthRequest(action, "*")]


# -- Secrets Manager, KMS -------------------------------------------------------------------------------------------


def _secretsmanager(operation: str, params: Mapping[str, Any], arns: Arns) -> list[AuthRequest]:
    action = f"secretsmanager:{operation}"
    if "SecretId" in params:
        return [AuthRequest(action, arns.secret_arn(str(params["SecretId"])))]
    if operation == "BatchGetSecretValue":
        return [AuthRequest(action, "*")] + [
            AuthRequest("secretsmanager:GetSecretValue", arns.secret_arn(str(s)))
            for s in params.get("SecretIdList", [])
        ]
    return [AuthRequest(action, "*")]


def _kms(operation: str, params: Mapping[str, Any], arns: Arns) -> list[AuthRequest]:
    key = params.get("KeyId")
    return [AuthRequest(f"kms:{operation}", arns.kms_key(str(key)) if key else "*")]


_RULES: Mapping[str, Rule] = {
    "s3": _s3,
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "secretsmanager": _secretsmanager,
    "kms": _kms,
}
