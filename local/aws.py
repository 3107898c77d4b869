"""The AWS emulation of the local stack: a moto server on loopback, and the template's resources created in it.

`AwsEmulator` runs moto's server in a thread of this process, bound to 127.0.0.1 (moto binds 0.0.0.0 unless told).
`point_boto3_at(emulator)` makes every boto3 client this process creates afterwards talk to it (endpoint, fake
credentials, region), and gives back a function that undoes it. `provision(...)` creates, from the template model,
the DynamoDB table(s) with their key schema, indexes and TTL, the bucket(s) with versioning and CORS, the SQS queues
with their dead-letter queues, redrive policy and visibility timeout, and the Secrets Manager secrets seeded with the
development values of `local.dev_values`.

moto keeps its state in module globals, shared by every moto server and mock in the process. `provision` therefore
first removes what an earlier run left under the same names (and nothing else: a test's own moto resources in the
same process are left alone). S3 event notifications are not configured here; `local.notifications` owns that wiring.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import requests
from botocore.config import Config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from local import dev_values
from local.template.names import AwsIdentity, LocalNames, Physical
from local.template.parser import referenced_ids
from local.template.resolver import Resolver
from local.template.specs import QueueSpec, SecretSpec, TemplateModel, TemplateWarning

logger = logging.getLogger("signbridge.local.aws")

LOOPBACK = "127.0.0.1"
# Credentials moto accepts; never real ones.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Variables that could send a boto3 client elsewhere than the emulator (a profile, a service-specific endpoint).
_CLEARED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


class _QuietMotoHandler(MotoRequestHandler):
    """moto's request handler, logging each request at debug level instead of to stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s", self.requestline, code)


_moto_fixes_lock = threading.Lock()
_dynamodb_lock = threading.RLock()  # see apply_moto_fixes
_moto_fixes_applied = False


def apply_moto_fixes() -> None:
    """Correct what moto 5.2 does differently from SQS in a way the local stack depends on (idempotent).

    DynamoDB: every request is applied under one lock (see below), as DynamoDB applies each atomically.

    FIFO redelivery order: when in-flight messages of a group become visible again (a failed batch), moto's receive
    skips the group's first message while later ones of the batch are still marked in flight, and so delivers them
    out of order; SQS delivers the group in order. Releasing the messages that are visible again before moto looks
    at the group restores SQS's order (tests/local/test_pollers.py proves it).
    """
    global _moto_fixes_applied  # noqa: PLW0603 - a process-wide patch of a process-wide library
    with _moto_fixes_lock:
        if _moto_fixes_applied:
            return
        from moto.sqs.models import SQSBackend  # noqa: PLC0415 - only the emulator needs moto's internals

        original = SQSBackend.receive_message

        def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            queue = self.get_queue(queue_name)
            if queue.fifo_queue:
                for message in list(queue.pending_messages):
                    if message.visible:
                        queue.pending_messages.discard(message)
            return original(self, queue_name, *args, **kwargs)

        SQSBackend.receive_message = receive_message  # type: ignore[method-assign]

        # DynamoDB atomicity: moto's in-memory tables are not thread-safe, and the server answers requests on
        # concurrent threads (the local stack runs handlers in parallel). A TransactWriteItems deep-copies the tables
        # for its rollback while another request writes them ("dictionary changed size during iteration"), and a
        # write can be lost. DynamoDB applies each request atomically; one lock around moto's DynamoDB actions does
        # the same (they are in-memory and fast, so serializing them costs little).
        from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415

        original_call_action = DynamoHandler.call_action

        def call_action(self: DynamoHandler) -> Any:
            with _dynamodb_lock:
                return original_call_action(self)

        DynamoHandler.call_action = call_action  # type: ignore[method-assign]
        _moto_fixes_applied = True


class AwsEmulator:
    """moto server in a thread of this process, on loopback. `port=0` lets the OS pick a free port."""

    def __init__(self, *, host: str = LOOPBACK, port: int = 0, identity: AwsIdentity | None = None) -> None:
        self.host = host
        self.port = port
        self.identity = identity or AwsIdentity()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    def start(self) -> AwsEmulator:
        apply_moto_fixes()
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=_QuietMotoHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"moto-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget every resource and item (moto's state is per process, shared by every server in it)."""
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()

    def client(self, service: str) -> Any:
        """A boto3 client bound to this emulator explicitly (independent of the process environment).

        Cached per service (boto3 clients are thread-safe; building one costs a service-model load)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._new_client(service)
            return self._clients[service]

    def _new_client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            region_name=self.identity.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )

    def process_environment(self) -> dict[str, str]:
        """The variables that point boto3 (and anything reading the standard AWS variables) at this emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.identity.region,
            "AWS_DEFAULT_REGION": self.identity.region,
            **FAKE_CREDENTIALS,
        }


def point_boto3_at(emulator: AwsEmulator) -> Callable[[], None]:
    """Point this process's boto3 at the emulator; returns the function that restores the previous environment.

    Also drops boto3's default session, which caches credentials resolved before the change.
    """
    wanted: dict[str, str | None] = dict.fromkeys(_CLEARED_VARIABLES)
    wanted.update(emulator.process_environment())
    # Service-specific endpoints (AWS_ENDPOINT_URL_S3, …) would win over AWS_ENDPOINT_URL.
    wanted.update(dict.fromkeys(name for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")))
    previous = {name: os.environ.get(name) for name in wanted}
    _apply(wanted)
    boto3.DEFAULT_SESSION = None

    def restore() -> None:
        _apply(previous)
        boto3.DEFAULT_SESSION = None

    return restore


def _apply(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# -- provisioning -------------------------------------------------------------------------------------------------


@dataclass
class Provisioned:
    """What `provision` created, by logical id."""

    tables: dict[str, str] = field(default_factory=dict)  # logical id -> table name
    buckets: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> queue URL
    secrets: dict[str, str] = field(default_factory=dict)  # logical id -> ARN
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
        created = emulator.client("secretsmanager").create_secret(
            Name=name, Description=secret.description, SecretString=value
        )
        arn = str(created["ARN"])  # moto adds the random suffix AWS adds; register the real one
        names.register(logical_id, Physical(arn, {"Id": arn, "Name": name}))
        result.secrets[logical_id] = arn
    for logical_id, table in model.tables.items():
        name = names.physical(logical_id).ref
        _create_table(emulator, name, table)
        result.tables[logical_id] = name
    for logical_id, bucket in model.buckets.items():
        name = names.physical(logical_id).ref
        _create_bucket(emulator, name, bucket.versioned, bucket.cors_rules)
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


def _empty_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})


def _create_table(emulator: AwsEmulator, name: str, table: Any) -> None:
    client = emulator.client("dynamodb")
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


def _create_bucket(emulator: AwsEmulator, name: str, versioned: bool, cors_rules: tuple[Any, ...]) -> None:
    client = emulator.client("s3")
    if emulator.identity.region == "us-east-1":
        client.create_bucket(Bucket=name)
    else:
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": emulator.identity.region})
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if cors_rules:
        # CloudFormation's CorsRule names differ from the S3 API's.
        rules = []
        for rule in cors_rules:
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


def _create_queue(emulator: AwsEmulator, names: LocalNames, queue: QueueSpec, overrides: Mapping[str, str]) -> str:
    physical = names.physical(queue.logical_id)
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
    if queue.dead_letter_queue is not None:
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": names.physical(queue.dead_letter_queue).attributes["Arn"],
                "maxReceiveCount": queue.max_receive_count,
            }
        )
    attributes.update(overrides)
    url = str(
        emulator.client("sqs").create_queue(QueueName=physical.attributes["QueueName"], Attributes=attributes)[
            "QueueUrl"
        ]
    )
    if url != physical.ref:  # moto names the URL after the request's host; keep what it answers
        names.register(queue.logical_id, Physical(url, {**physical.attributes, "QueueUrl": url}))
    return url


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


__all__ = [
    "FAKE_CREDENTIALS",
    "LOOPBACK",
    "AwsEmulator",
    "Provisioned",
    "dev_secret_value",
    "point_boto3_at",
    "provision",
    "secret_purposes",
]
