"""The template's resources created in the AWS emulation, one code path for the local stack and the tests.

`provision(emulator, model, names)` creates, from the template model, the DynamoDB table(s) with their key schema,
indexes and TTL, the bucket(s) with versioning and CORS, the SQS queues with their dead-letter queues, redrive policy
and visibility timeout, the Secrets Manager secrets seeded with the development values of `local.dev_values`, and the
KMS keys (the evidence package's signing key) with their aliases.
Each kind has one creator (`create_table`, `create_bucket`, `create_queue`, `create_secret`) that takes the spec the
template gives; the tests build their per-test resources with the same creators and the same specs.

moto keeps its state in module globals, shared by every moto server and mock in the process. `provision` therefore
first removes what an earlier run left under the same names (and nothing else: a test's own moto resources in the
same process are left alone). S3 event notifications are not configured here; `local.notifications` owns that wiring.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local import dev_values
from local.aws import AwsEmulator
from local.template.names import LocalNames, Physical
from local.template.parser import referenced_ids
from local.template.resolver import Resolver
from local.template.specs import (
    BucketSpec,
    KmsKeySpec,
    QueueSpec,
    SecretSpec,
    TableSpec,
    TemplateModel,
    TemplateWarning,
)


@dataclass
class Provisioned:
    """What `provision` created, by logical id."""

    tables: dict[str, str] = field(default_factory=dict)  # logical id -> table name
    buckets: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> queue URL
    secrets: dict[str, str] = field(default_factory=dict)  # logical id -> ARN
    kms_keys: dict[str, str] = field(default_factory=dict)  # logical id -> key ARN
    warnings: list[TemplateWarning] = field(default_factory=list)


def provision(
    emulator: AwsEmulator,
    model: TemplateModel,
    names: LocalNames,
    *,
    queue_attributes: Mapping[str, Mapping[str, str]] | None = None,
    secret_values: Mapping[str, Mapping[str, Any]] | None = None,
) -> Provisioned:
    """Create the template's stateful resources in the emulator and register their real names/ARNs in `names`.

    `queue_attributes` overrides SQS attributes per queue logical id (or `"*"` for every queue), e.g. a short
    `VisibilityTimeout` in tests. `secret_values` maps the environment variable that names a secret to the
    development value put in it (default: `local.dev_values.SECRET_VALUES`).
    """
    result = Provisioned()
    resolver = Resolver(model, names)
    remove_leftovers(emulator, model, names)
    purposes = secret_purposes(model, names)
    for logical_id, secret in model.secrets.items():
        name = names.physical(logical_id).attributes["Name"]
        value, problems = dev_secret_value(
            secret, resolver, purposes.get(logical_id), secret_values or dev_values.SECRET_VALUES
        )
        result.warnings.extend(problems)
        # moto adds the random suffix AWS adds to the ARN; register the real one
        arn = create_secret(emulator.client("secretsmanager"), name, value, description=secret.description)
        names.register(logical_id, Physical(arn, {"Id": arn, "Name": name}))
        result.secrets[logical_id] = arn
    for logical_id, key in model.kms_keys.items():
        arn = create_kms_key(emulator.client("kms"), key)
        key_id = arn.rsplit("/", 1)[-1]
        names.register(logical_id, Physical(key_id, {"Arn": arn, "KeyId": key_id}))
        result.kms_keys[logical_id] = arn
    for logical_id, table in model.tables.items():
        name = names.physical(logical_id).ref
        create_table(emulator.client("dynamodb"), name, table)
        result.tables[logical_id] = name
    for logical_id, bucket in model.buckets.items():
        name = names.physical(logical_id).ref
        create_bucket(emulator.client("s3"), name, bucket, region=emulator.identity.region)
        result.buckets[logical_id] = name
    # Dead-letter queues first: a redrive policy names an existing queue.
    ordered = sorted(model.queues.values(), key=lambda queue: queue.dead_letter_queue is not None)
    for queue in ordered:
        overrides = {**(queue_attributes or {}).get("*", {}), **(queue_attributes or {}).get(queue.logical_id, {})}
        result.queues[queue.logical_id] = _create_queue(emulator, names, queue, overrides)
    result.warnings.extend(resolver.warnings)
    return result


def remove_leftovers(emulator: AwsEmulator, model: TemplateModel, names: LocalNames) -> None:
    """Delete the resources an earlier local stack in this process left under the names about to be created."""
    dynamodb, s3, sqs, secrets = (emulator.client(s) for s in ("dynamodb", "s3", "sqs", "secretsmanager"))
    existing_tables = set(dynamodb.list_tables().get("TableNames", []))
    for logical_id in model.tables:
        if (name := names.physical(logical_id).ref) in existing_tables:
            dynamodb.delete_table(TableName=name)
    existing_buckets = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    for logical_id in model.buckets:
        if (name := names.physical(logical_id).ref) in existing_buckets:
            _empty_bucket(s3, name)
            s3.delete_bucket(Bucket=name)
    existing_queues = set(sqs.list_queues().get("QueueUrls", []))
    for logical_id in model.queues:
        url = names.physical(logical_id).ref
        if url in existing_queues:
            sqs.delete_queue(QueueUrl=url)
    for logical_id in model.secrets:
        name = names.physical(logical_id).attributes["Name"]
        with contextlib.suppress(secrets.exceptions.ResourceNotFoundException):
            secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    if model.kms_keys:
        kms = emulator.client("kms")
        wanted = {alias for key in model.kms_keys.values() for alias in key.aliases}
        for alias in kms.list_aliases().get("Aliases", []):
            if alias["AliasName"] in wanted:  # the key it named stays (keys are not reused by name)
                kms.delete_alias(AliasName=alias["AliasName"])


def _empty_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})


def create_kms_key(client: Any, key: KmsKeySpec) -> str:
    """The key as `key` describes it (moto signs with ECC_NIST_P256 keys as KMS does, see `local.aws`), with its
    aliases; answers its ARN."""
    created = client.create_key(KeySpec=key.key_spec, KeyUsage=key.key_usage, Description=key.description)
    arn = str(created["KeyMetadata"]["Arn"])
    for alias in key.aliases:
        client.create_alias(AliasName=alias, TargetKeyId=created["KeyMetadata"]["KeyId"])
    return arn


def create_table(client: Any, name: str, table: TableSpec) -> str:
    """The table `name` as `table` describes it: keys, indexes, billing, stream, TTL and point-in-time recovery."""
    arguments: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": a, "KeyType": k} for a, k in table.key_schema],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t} for a, t in table.attribute_definitions],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.global_indexes:
        arguments["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": a, "KeyType": k} for a, k in index.key_schema],
                "Projection": dict(index.projection) or {"ProjectionType": "ALL"},
            }
            for index in table.global_indexes
        ]
    if table.local_indexes:
        arguments["LocalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": a, "KeyType": k} for a, k in index.key_schema],
                "Projection": dict(index.projection) or {"ProjectionType": "ALL"},
            }
            for index in table.local_indexes
        ]
    if table.stream_view_type:
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
    client.create_table(**arguments)
    if table.ttl_attribute:
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
        )
    if table.point_in_time_recovery:
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return name


def create_bucket(client: Any, name: str, bucket: BucketSpec, *, region: str) -> str:
    """The bucket `name` as `bucket` describes it: versioning and CORS."""
    if region == "us-east-1":
        client.create_bucket(Bucket=name)
    else:
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if bucket.versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if bucket.cors_rules:
        # CloudFormation's CorsRule names differ from the S3 API's.
        rules = []
        for rule in bucket.cors_rules:
            converted: dict[str, Any] = {
                "AllowedMethods": list(rule.get("AllowedMethods", [])),
                "AllowedOrigins": list(rule.get("AllowedOrigins", [])),
            }
            for cfn_name, api_name in (("AllowedHeaders", "AllowedHeaders"), ("ExposedHeaders", "ExposeHeaders")):
                if rule.get(cfn_name):
                    converted[api_name] = list(rule[cfn_name])
            if rule.get("MaxAge") is not None:
                converted["MaxAgeSeconds"] = int(rule["MaxAge"])
            if rule.get("Id"):
                converted["ID"] = str(rule["Id"])
            rules.append(converted)
        client.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    return name


def _create_queue(emulator: AwsEmulator, names: LocalNames, queue: QueueSpec, overrides: Mapping[str, str]) -> str:
    physical = names.physical(queue.logical_id)
    dead_letter_arn = (
        names.physical(queue.dead_letter_queue).attributes["Arn"] if queue.dead_letter_queue is not None else None
    )
    url = create_queue(
        emulator.client("sqs"), physical.attributes["QueueName"], queue, dead_letter_arn=dead_letter_arn, **overrides
    )
    if url != physical.ref:  # moto names the URL after the request's host; keep what it answers
        names.register(queue.logical_id, Physical(url, {**physical.attributes, "QueueUrl": url}))
    return url


def create_queue(client: Any, name: str, queue: QueueSpec, *, dead_letter_arn: str | None, **overrides: str) -> str:
    """The queue `name` as `queue` describes it (FIFO settings, timeouts, the redrive policy to `dead_letter_arn`),
    with the SQS attributes in `overrides` set instead; returns its URL."""
    attributes = {
        "VisibilityTimeout": str(queue.visibility_timeout),
        "MessageRetentionPeriod": str(queue.message_retention_period),
        "DelaySeconds": str(queue.delay_seconds),
        "ReceiveMessageWaitTimeSeconds": str(queue.receive_wait_seconds),
    }
    if queue.fifo:
        attributes["FifoQueue"] = "true"
        attributes["ContentBasedDeduplication"] = "true" if queue.content_based_deduplication else "false"
        if queue.deduplication_scope:
            attributes["DeduplicationScope"] = queue.deduplication_scope
        if queue.fifo_throughput_limit:
            attributes["FifoThroughputLimit"] = queue.fifo_throughput_limit
    if dead_letter_arn is not None:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": queue.max_receive_count}
        )
    attributes.update(overrides)
    return str(client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def create_secret(client: Any, name: str, value: str, *, description: str = "") -> str:
    """The secret `name` holding `value`; returns its ARN (with the random suffix Secrets Manager adds)."""
    return str(client.create_secret(Name=name, Description=description, SecretString=value)["ARN"])


def secret_purposes(model: TemplateModel, names: LocalNames) -> dict[str, str]:
    """Secret logical id -> the environment variable through which the functions find it (by reference, or by the
    secret's name or ARN written out literally)."""
    resolver = Resolver(model, names)
    purposes: dict[str, str] = {}
    for function in model.functions.values():
        for variable, value in function.environment.items():
            resolved = resolver.resolve_str(value, where=f"{function.logical_id}.Environment.{variable}")
            for logical_id in model.secrets:
                physical = names.physical(logical_id)
                if logical_id in referenced_ids(value) or resolved in (physical.ref, physical.attributes["Name"]):
                    purposes.setdefault(logical_id, variable)
    return purposes


def dev_secret_value(
    spec: SecretSpec,
    resolver: Resolver,
    purpose: str | None,
    secret_values: Mapping[str, Mapping[str, Any]],
) -> tuple[str, list[TemplateWarning]]:
    """The local value of a secret: the template's placeholder JSON with the development values of its purpose."""
    problems: list[TemplateWarning] = []
    placeholder_text = spec.secret_string_template or resolver.resolve_str(spec.secret_string) or "{}"
    try:
        placeholder = json.loads(placeholder_text)
    except ValueError:
        placeholder = None
    dev = secret_values.get(purpose or "")
    if not isinstance(placeholder, dict):
        problems.append(TemplateWarning("secret-shape", spec.logical_id, "not a JSON object; kept as in the template"))
        return placeholder_text, problems
    if dev is None:
        problems.append(
            TemplateWarning("secret-shape", spec.logical_id, f"no development value for {purpose or 'this secret'}")
        )
        return json.dumps(placeholder), problems
    missing = sorted(set(placeholder) - set(dev))
    if missing:
        problems.append(TemplateWarning("secret-shape", spec.logical_id, f"no development value for keys {missing}"))
    if spec.generate_string_key and spec.generate_string_key not in dev:
        placeholder[spec.generate_string_key] = f"local-{spec.generate_string_key}"
    return json.dumps({**placeholder, **dev}), problems
