"""The typed model of a template: one spec per emulated resource (plain dataclasses whose cross-references are logical
ids), the resource types the reader knows, and `TemplateWarning`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Resource types the local stack emulates (each has a spec below).
EMULATED_TYPES = frozenset(
    {
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Stage",
        "AWS::SQS::Queue",
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
        "AWS::Events::Rule",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
        "Custom::S3BucketNotifications",
    }
)


# Resource types that exist in AWS but have no local counterpart: permissions (roles and policies are read by
# `local.iam`, which checks every call of a function against its role, but nothing is created),
# observability, and CDK bookkeeping. Recognised so that an unexpected type still stands out.
RECOGNISED_NOT_EMULATED_TYPES = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Lambda::Permission",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::Lambda::Alias",
        "AWS::Lambda::Version",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::Url",
        "AWS::ApiGatewayV2::Authorizer",
        "AWS::ApiGatewayV2::ApiMapping",
        "AWS::ApiGatewayV2::DomainName",
        "AWS::Logs::LogGroup",
        "AWS::Logs::MetricFilter",
        "AWS::Logs::ResourcePolicy",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::SNS::Topic",
        "AWS::SNS::TopicPolicy",
        "AWS::SNS::Subscription",
        "AWS::SQS::QueuePolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SecretsManager::ResourcePolicy",
        "AWS::SecretsManager::RotationSchedule",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::CDK::Metadata",
    }
)


# The CDK's own helper resources: custom resource providers and their functions and roles. Skipped by name, because
# their types (a Lambda function, an IAM role) are also types SignBridge uses.
CDK_HELPER_LOGICAL_ID_PREFIXES = (
    "BucketNotificationsHandler050a0587b7544547bf325f094a3db834",  # writes S3 notifications (Custom::S3BucketNotif…)
    "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a",  # Custom::LogRetention provider
    "CustomS3AutoDeleteObjectsCustomResourceProvider",  # autoDeleteObjects on the bucket
    "AWS679f53fac002430cb0da5b7982bd2287",  # AwsCustomResource singleton
    "CustomCDKBucketDeployment",  # BucketDeployment provider
    "CustomVpcRestrictDefaultSGCustomResourceProvider",
    "CDKMetadata",
)


# Custom resource types the CDK creates for itself (the notifications one is read, not skipped).
CDK_HELPER_TYPES = frozenset(
    {
        "Custom::S3AutoDeleteObjects",
        "Custom::LogRetention",
        "Custom::AWS",
        "Custom::CDKBucketDeployment",
        "Custom::VpcRestrictDefaultSG",
        "Custom::CrossRegionExportReader",
        "Custom::CrossRegionExportWriter",
    }
)


@dataclass(frozen=True)
class TemplateWarning:
    """Something in the template the local stack does not emulate faithfully."""

    code: str  # unknown-resource-type | unsupported-intrinsic | unresolved-reference | unsupported-property | ...
    logical_id: str
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.logical_id}: {self.message}"


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str  # the SignBridge function name (`api`, `worker`, …) from the handler path; else the logical id
    handler: str  # "signbridge.handlers.worker.handler"
    runtime: str
    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, Any]  # raw CloudFormation values, resolved by `Resolver`
    function_name: Any = None  # raw `FunctionName`, when the template sets one
    architectures: tuple[str, ...] = ("x86_64",)
    reserved_concurrency: int | None = None
    log_group: Any = None  # raw `LoggingConfig.LogGroup`
    log_format: str | None = None  # `LoggingConfig.LogFormat`: Text | JSON
    application_log_level: str | None = None  # `LoggingConfig.ApplicationLogLevel`


@dataclass(frozen=True)
class RouteSpec:
    logical_id: str
    method: str  # "GET", "POST", …, or "ANY"; "$default" routes have method "" and path "$default"
    path: str  # "/v1/requests/{request_id}"
    route_key: str  # "GET /v1/requests/{request_id}"
    function: str  # logical id of the target function
    authorization_type: str  # NONE | AWS_IAM | JWT | CUSTOM (not enforced locally)
    payload_format_version: str = "2.0"
    timeout_ms: int = 30000


@dataclass(frozen=True)
class CorsSpec:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None


@dataclass(frozen=True)
class HttpApiSpec:
    logical_id: str
    name: str
    cors: CorsSpec | None = None


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    queue_name: Any  # raw `QueueName`, or None (CloudFormation generates one)
    fifo: bool
    content_based_deduplication: bool
    visibility_timeout: int
    message_retention_period: int
    delay_seconds: int
    receive_wait_seconds: int
    dead_letter_queue: str | None  # logical id of the DLQ
    max_receive_count: int | None
    deduplication_scope: str | None = None
    fifo_throughput_limit: str | None = None


@dataclass(frozen=True)
class EventSourceMappingSpec:
    logical_id: str
    queue: str  # logical id
    function: str  # logical id
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    max_concurrency: int | None
    enabled: bool = True


@dataclass(frozen=True)
class BucketNotificationSpec:
    logical_id: str  # of the Custom::S3BucketNotifications resource
    bucket: str  # logical id
    function: str  # logical id
    events: tuple[str, ...]  # "s3:ObjectCreated:*", …
    prefix: str = ""
    suffix: str = ""
    configuration_id: str = ""


@dataclass(frozen=True)
class ScheduleTargetSpec:
    target_id: str
    function: str  # logical id
    input: str | None = None  # constant JSON the rule sends instead of the event


@dataclass(frozen=True)
class ScheduleSpec:
    logical_id: str
    rule_name: Any  # raw `Name` or None
    expression: str  # "rate(10 minutes)" | "cron(0 3 * * ? *)"
    enabled: bool
    targets: tuple[ScheduleTargetSpec, ...]
    description: str = ""


@dataclass(frozen=True)
class IndexSpec:
    name: str
    key_schema: tuple[tuple[str, str], ...]  # (attribute, HASH|RANGE)
    projection: Mapping[str, Any]


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    table_name: Any
    key_schema: tuple[tuple[str, str], ...]
    attribute_definitions: tuple[tuple[str, str], ...]  # (attribute, S|N|B)
    global_indexes: tuple[IndexSpec, ...]
    local_indexes: tuple[IndexSpec, ...]
    ttl_attribute: str | None
    stream_view_type: str | None
    point_in_time_recovery: bool


@dataclass(frozen=True)
class BucketSpec:
    logical_id: str
    bucket_name: Any
    versioned: bool
    cors_rules: tuple[Mapping[str, Any], ...] = ()
    lifecycle_rules: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class SecretSpec:
    logical_id: str
    name: Any
    description: str
    secret_string: Any = None  # a literal SecretString, when the template sets one
    secret_string_template: str | None = None  # GenerateSecretString.SecretStringTemplate (JSON text)
    generate_string_key: str | None = None
    password_length: int = 32


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str
    default: Any = None


@dataclass
class KmsKeySpec:
    """An AWS KMS key (SignBridge's: the evidence package's asymmetric signing key) and the aliases naming it."""

    logical_id: str
    key_spec: str = "SYMMETRIC_DEFAULT"
    key_usage: str = "ENCRYPT_DECRYPT"
    description: str = ""
    aliases: list[str] = field(default_factory=list)


@dataclass
class TemplateModel:
    stack_name: str
    resources: Mapping[str, Mapping[str, Any]]  # the raw template resources, for the resolver
    parameters: dict[str, ParameterSpec] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # by logical id
    apis: dict[str, HttpApiSpec] = field(default_factory=dict)
    routes: list[RouteSpec] = field(default_factory=list)
    queues: dict[str, QueueSpec] = field(default_factory=dict)
    event_source_mappings: list[EventSourceMappingSpec] = field(default_factory=list)
    notifications: list[BucketNotificationSpec] = field(default_factory=list)
    schedules: dict[str, ScheduleSpec] = field(default_factory=dict)
    tables: dict[str, TableSpec] = field(default_factory=dict)
    buckets: dict[str, BucketSpec] = field(default_factory=dict)
    secrets: dict[str, SecretSpec] = field(default_factory=dict)
    kms_keys: dict[str, KmsKeySpec] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # logical id -> why (CDK helper, not emulated)
    warnings: list[TemplateWarning] = field(default_factory=list)

    def function(self, name: str) -> FunctionSpec:
        """A function by its SignBridge name (`worker`) or logical id."""
        for spec in self.functions.values():
            if name in (spec.name, spec.logical_id):
                return spec
        raise KeyError(f"no function {name!r} in the template (have {sorted(self.function_names())})")

    def function_names(self) -> list[str]:
        return [spec.name for spec in self.functions.values()]
