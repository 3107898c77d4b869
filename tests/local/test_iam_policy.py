"""The IAM evaluator (`local.iam.policy`) and the mapping of API calls to IAM actions and resources
(`local.iam.actions`): wildcards, Allow/Deny, NotAction/NotResource, conditions, and the ARNs of S3 objects,
DynamoDB tables and indexes, SQS queues and Secrets Manager secrets."""

from __future__ import annotations

from typing import Any

import pytest

from local.iam.actions import Arns, authorizations
from local.iam.policy import AuthRequest, Decision, Statement, evaluate, parse_document, resource_matches

BUCKET = "signbridge-local-bucket"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:signbridge/local/zapsign-AbC123"
ARNS = Arns(secrets={"signbridge/local/zapsign": SECRET_ARN})


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def decide(statements: list[dict[str, Any]], action: str, resource: str, **context: str) -> Decision:
    request = AuthRequest(action, resource, {key.replace("_", ":"): (value,) for key, value in context.items()})
    return evaluate(parse_document({"Statement": statements}), request)


# -- the evaluator --------------------------------------------------------------------------------------------------


def test_no_statement_is_an_implicit_deny() -> None:
    assert decide([], "s3:GetObject", f"arn:aws:s3:::{BUCKET}/a") is Decision.IMPLICIT_DENY


def test_an_object_grant_covers_its_prefix_only() -> None:
    grant = [allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}/incoming/*")]
    assert decide(grant, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/incoming/r1/a.pdf").allowed
    assert not decide(grant, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/originals/r1/a.pdf").allowed
    assert not decide(grant, "s3:PutObject", f"arn:aws:s3:::{BUCKET}-other/incoming/a.pdf").allowed
    assert not decide(grant, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/incoming").allowed  # the prefix itself
    assert not decide(grant, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/incoming/a.pdf").allowed


def test_actions_match_case_insensitively_with_wildcards() -> None:
    grant = [allow(["S3:get*", "dynamodb:?etItem"], "*")]
    assert decide(grant, "s3:GetObject", "arn:aws:s3:::b/k").allowed
    assert decide(grant, "s3:GetObjectVersion", "arn:aws:s3:::b/k").allowed
    assert decide(grant, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/t").allowed
    assert not decide(grant, "s3:PutObject", "arn:aws:s3:::b/k").allowed
    assert not decide(grant, "dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:123456789012:table/t").allowed


def test_resources_match_segment_by_segment_and_case_sensitively() -> None:
    assert resource_matches("arn:aws:sqs:*:123456789012:queue-*", "arn:aws:sqs:us-east-1:123456789012:queue-1.fifo")
    assert not resource_matches("arn:aws:sqs:*:123456789012:queue-*", "arn:aws:sqs:us-east-1:210987654321:queue-1")
    assert not resource_matches("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/k")
    assert resource_matches("*", "anything")
    # a wildcard does not reach into the next segment
    assert not resource_matches("arn:aws:dynamodb:us-east-1:*", "arn:aws:dynamodb:us-east-1")


def test_an_explicit_deny_wins_over_any_allow() -> None:
    statements = [
        allow("s3:*", f"arn:aws:s3:::{BUCKET}/*"),
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{BUCKET}/signed/*"},
    ]
    assert decide(statements, "s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/signed/a") is Decision.EXPLICIT_DENY
    assert decide(statements, "s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/incoming/a") is Decision.ALLOW


def test_not_action_and_not_resource() -> None:
    statements = [
        {"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "NotResource": f"arn:aws:s3:::{BUCKET}/*"},
    ]
    assert decide(statements, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/a").allowed
    assert decide(statements, "s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/a") is Decision.IMPLICIT_DENY
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::elsewhere/a") is Decision.EXPLICIT_DENY


def test_string_like_conditions_on_the_listed_prefix() -> None:
    grant = [allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", Condition={"StringLike": {"s3:prefix": ["incoming/*"]}})]
    bucket = f"arn:aws:s3:::{BUCKET}"
    assert decide(grant, "s3:ListBucket", bucket, s3_prefix="incoming/r1/").allowed
    assert not decide(grant, "s3:ListBucket", bucket, s3_prefix="originals/").allowed
    assert not decide(grant, "s3:ListBucket", bucket).allowed  # no prefix: the whole bucket


@pytest.mark.parametrize(
    ("operator", "values", "context", "holds"),
    [
        ("StringEquals", ["a"], ("a",), True),
        ("StringEquals", ["a", "b"], ("b",), True),
        ("StringEquals", ["a"], None, False),
        ("StringEqualsIfExists", ["a"], None, True),
        ("StringNotEquals", ["a"], ("b",), True),
        ("StringNotEquals", ["a"], ("a",), False),
        ("StringNotLike", ["in*"], ("incoming/",), False),
        ("StringEqualsIgnoreCase", ["ABC"], ("abc",), True),
        ("ArnLike", ["arn:aws:sqs:*:*:q*"], ("arn:aws:sqs:us-east-1:1:q1",), True),
        ("Bool", ["true"], ("true",), True),
        ("Bool", ["true"], ("false",), False),
        ("Null", ["true"], None, True),
        ("Null", ["false"], None, False),
        ("NumericLessThanEquals", ["1000"], ("1000",), True),
        ("NumericLessThan", ["1000"], ("1001",), False),
        ("NumericLessThan", ["1000"], ("not-a-number",), False),
        ("ForAnyValue:StringLike", ["a*"], ("x", "ab"), True),
        ("ForAllValues:StringLike", ["a*"], ("x", "ab"), False),
        ("ForAllValues:StringLike", ["a*"], None, True),
        ("DateLessThan", ["2030-01-01T00:00:00Z"], ("2020-01-01T00:00:00Z",), False),  # not known: never holds
    ],
)
def test_condition_operators(operator: str, values: list[str], context: tuple[str, ...] | None, holds: bool) -> None:
    statement = Statement.parse(allow("s3:GetObject", "*", Condition={operator: {"k:key": values}}))
    request = AuthRequest("s3:GetObject", "arn:aws:s3:::b/k", {} if context is None else {"k:key": context})
    assert evaluate([statement], request).allowed is holds


# -- calls to actions and resources ---------------------------------------------------------------------------------


def needs(service: str, operation: str, **params: Any) -> list[tuple[str, str]]:
    return [(r.action, r.resource) for r in authorizations(service, operation, params, ARNS)]


def test_s3_object_calls() -> None:
    key = "originals/r1/d1/contract.pdf"
    obj = f"arn:aws:s3:::{BUCKET}/{key}"
    assert needs("s3", "PutObject", Bucket=BUCKET, Key=key) == [("s3:PutObject", obj)]
    assert needs("s3", "HeadObject", Bucket=BUCKET, Key=key) == [("s3:GetObject", obj)]
    assert needs("s3", "HeadObject", Bucket=BUCKET, Key=key, VersionId="v1") == [("s3:GetObjectVersion", obj)]
    assert needs("s3", "GetObject", Bucket=BUCKET, Key=key, VersionId="v1") == [("s3:GetObjectVersion", obj)]
    assert needs("s3", "DeleteObject", Bucket=BUCKET, Key=key) == [("s3:DeleteObject", obj)]
    assert needs("s3", "DeleteObject", Bucket=BUCKET, Key=key, VersionId="v") == [("s3:DeleteObjectVersion", obj)]
    for multipart in ("CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        assert needs("s3", multipart, Bucket=BUCKET, Key=key, UploadId="u") == [("s3:PutObject", obj)]
    assert needs("s3", "AbortMultipartUpload", Bucket=BUCKET, Key=key, UploadId="u") == [
        ("s3:AbortMultipartUpload", obj)
    ]


def test_s3_copy_reads_the_source_and_writes_the_destination() -> None:
    source = f"{BUCKET}/signed/r1/a.pdf?versionId=v1"
    assert needs("s3", "CopyObject", Bucket=BUCKET, Key="signed/r1/a.pdf", CopySource=source) == [
        ("s3:GetObjectVersion", f"arn:aws:s3:::{BUCKET}/signed/r1/a.pdf"),
        ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/signed/r1/a.pdf"),
    ]
    copy_source = {"Bucket": BUCKET, "Key": "incoming/u.pdf"}
    assert needs("s3", "CopyObject", Bucket=BUCKET, Key="originals/o.pdf", CopySource=copy_source)[0] == (
        "s3:GetObject",
        f"arn:aws:s3:::{BUCKET}/incoming/u.pdf",
    )


def test_s3_listing_is_list_bucket_on_the_bucket_with_the_prefix_as_condition_key() -> None:
    (request,) = authorizations("s3", "ListObjectsV2", {"Bucket": BUCKET, "Prefix": "incoming/"}, ARNS)
    assert (request.action, request.resource) == ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}")
    assert request.context == {"s3:prefix": ("incoming/",)}
    assert needs("s3", "ListObjectVersions", Bucket=BUCKET) == [("s3:ListBucketVersions", f"arn:aws:s3:::{BUCKET}")]


def test_dynamodb_table_and_index_arns() -> None:
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/signbridge"
    assert needs("dynamodb", "GetItem", TableName="signbridge", Key={}) == [("dynamodb:GetItem", table)]
    assert needs("dynamodb", "Query", TableName="signbridge", IndexName="gsi1") == [
        ("dynamodb:Query", f"{table}/index/gsi1")
    ]
    assert needs("dynamodb", "Query", TableName="signbridge") == [("dynamodb:Query", table)]


def test_dynamodb_transactions_need_the_action_of_each_item() -> None:
    items = [
        {"Put": {"TableName": "signbridge", "Item": {}}},
        {"Update": {"TableName": "signbridge", "Key": {}}},
        {"ConditionCheck": {"TableName": "other", "Key": {}}},
        {"Put": {"TableName": "signbridge", "Item": {}}},
    ]
    assert needs("dynamodb", "TransactWriteItems", TransactItems=items) == [
        ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/signbridge"),
        ("dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:123456789012:table/signbridge"),
        ("dynamodb:ConditionCheckItem", "arn:aws:dynamodb:us-east-1:123456789012:table/other"),
    ]


def test_sqs_queue_arns_from_urls_and_batches() -> None:
    url = "http://127.0.0.1:5000/123456789012/signbridge-zapsign.fifo"
    arn = "arn:aws:sqs:us-east-1:123456789012:signbridge-zapsign.fifo"
    assert needs("sqs", "SendMessage", QueueUrl=url, MessageBody="{}") == [("sqs:SendMessage", arn)]
    assert needs("sqs", "SendMessageBatch", QueueUrl=url, Entries=[]) == [("sqs:SendMessage", arn)]
    assert needs("sqs", "DeleteMessageBatch", QueueUrl=url, Entries=[]) == [("sqs:DeleteMessage", arn)]
    assert needs("sqs", "GetQueueUrl", QueueName="signbridge-zapsign.fifo") == [("sqs:GetQueueUrl", arn)]


def test_secret_arns_carry_the_random_suffix_whatever_the_secret_id() -> None:
    full = ARNS.secrets["signbridge/local/zapsign"]
    partial = full.rsplit("-", 1)[0]
    for secret_id in ("signbridge/local/zapsign", full, partial):
        assert needs("secretsmanager", "GetSecretValue", SecretId=secret_id) == [
            ("secretsmanager:GetSecretValue", full)
        ]
    assert needs("secretsmanager", "GetSecretValue", SecretId="unknown") == [
        ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:unknown")
    ]


def test_kms_and_other_services() -> None:
    assert needs("kms", "Decrypt", KeyId="1234") == [("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/1234")]
    assert needs("kms", "Encrypt", KeyId="alias/app") == [
        ("kms:Encrypt", "arn:aws:kms:us-east-1:123456789012:alias/app")
    ]
    assert needs("sts", "GetCallerIdentity") == []
    assert needs("events", "PutEvents", Entries=[]) == [("events:PutEvents", "*")]
