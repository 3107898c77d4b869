"""Read the synthesized CloudFormation template into a typed model of what the local stack must emulate.

The local stack is wired from `cdk.out/SignBridge-<stage>.template.json`, never from a second description of the
infrastructure, so that local and cloud cannot drift: a route, queue, event source mapping, S3 notification,
schedule, table index or environment variable exists locally because the template says so.

Two steps, because some values are only known once the emulated resources exist (a Secrets Manager ARN carries a
random suffix, the gateway's port is picked by the OS):

1. `load_template(path)` parses the template into a `TemplateModel`: plain dataclasses whose cross-references are
   logical ids, and whose free-form values (environment variables, names) stay raw CloudFormation.
2. `Resolver(model, names)` turns raw values into local ones: `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`,
   `Fn::Select`, `Fn::Split`, `Fn::If`, `Fn::FindInMap`, `Fn::Base64`, `Fn::GetAZs` and the pseudo parameters, each
   resource mapped to its local name, ARN or URL by `LocalNames`.

Nothing is ignored silently: a resource type, property or intrinsic function the reader does not understand becomes a
`TemplateWarning` that the stack prints (and the tests assert the real template produces none). The CDK's own helper
resources are recognised and skipped, all listed in `CDK_HELPER_LOGICAL_ID_PREFIXES` / `CDK_HELPER_TYPES`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HANDLER_PACKAGE = "signbridge.handlers."

# -- what the reader knows ----------------------------------------------------------------------------------------

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
        "Custom::S3BucketNotifications",
    }
)

# Resource types that exist in AWS but have no local counterpart: permissions (nothing is enforced locally),
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
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
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

PSEUDO_PARAMETERS = (
    "AWS::Region",
    "AWS::AccountId",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::NoValue",
    "AWS::NotificationARNs",
)

NO_VALUE = object()  # what `Ref: AWS::NoValue` resolves to; dropped from lists and mappings


@dataclass(frozen=True)
class TemplateWarning:
    """Something in the template the local stack does not emulate faithfully."""

    code: str  # unknown-resource-type | unsupported-intrinsic | unresolved-reference | unsupported-property | ...
    logical_id: str
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.logical_id}: {self.message}"


# -- the model ----------------------------------------------------------------------------------------------------


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


def template_path(cdk_out: Path, stage: str) -> Path:
    return cdk_out / f"SignBridge-{stage}.template.json"


def load_template(path: Path, *, stack_name: str | None = None) -> TemplateModel:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    name = stack_name or Path(path).name.removesuffix(".template.json")
    return parse_template(document, stack_name=name)


# -- parsing ------------------------------------------------------------------------------------------------------


def parse_template(document: Mapping[str, Any], *, stack_name: str) -> TemplateModel:
    resources: Mapping[str, Mapping[str, Any]] = document.get("Resources", {})
    model = TemplateModel(
        stack_name=stack_name,
        resources=resources,
        conditions=document.get("Conditions", {}),
        mappings=document.get("Mappings", {}),
    )
    for name, parameter in document.get("Parameters", {}).items():
        model.parameters[name] = ParameterSpec(name, str(parameter.get("Type", "String")), parameter.get("Default"))

    # Functions first: routes, mappings, notifications and rules refer to them.
    ordered = sorted(resources.items(), key=lambda item: item[1].get("Type") != "AWS::Lambda::Function")
    for logical_id, resource in ordered:
        kind = str(resource.get("Type", ""))
        reason = _helper_reason(logical_id, kind)
        if reason:
            model.skipped[logical_id] = reason
            continue
        parser = _PARSERS.get(kind)
        if parser is not None:
            parser(model, logical_id, resource.get("Properties", {}) or {})
        elif kind in RECOGNISED_NOT_EMULATED_TYPES:
            model.skipped[logical_id] = f"{kind}: not emulated locally"
        else:
            model.warnings.append(
                TemplateWarning("unknown-resource-type", logical_id, f"{kind} is not understood by the local stack")
            )
    _link_routes(model)
    return model


def _helper_reason(logical_id: str, kind: str) -> str:
    if kind in CDK_HELPER_TYPES:
        return f"CDK helper resource ({kind})"
    if logical_id.startswith(CDK_HELPER_LOGICAL_ID_PREFIXES):
        return "CDK helper resource"
    return ""


def _parse_function(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    handler = str(props.get("Handler", ""))
    if not handler.startswith(HANDLER_PACKAGE):
        # A function that is not SignBridge's and not a known CDK helper: worth a look.
        model.warnings.append(
            TemplateWarning(
                "unknown-function",
                logical_id,
                f"handler {handler!r} is not under {HANDLER_PACKAGE}; add it to CDK_HELPER_LOGICAL_ID_PREFIXES if it "
                "is a CDK helper",
            )
        )
        return
    module = handler.removeprefix(HANDLER_PACKAGE).rsplit(".", 1)[0]
    env = (props.get("Environment") or {}).get("Variables") or {}
    logging_config = props.get("LoggingConfig") or {}
    for unsupported in ("FileSystemConfigs", "ImageConfig", "SnapStartConfig"):
        if unsupported in props:
            model.warnings.append(TemplateWarning("unsupported-property", logical_id, f"{unsupported} not emulated"))
    model.functions[logical_id] = FunctionSpec(
        logical_id=logical_id,
        name=module,
        handler=handler,
        runtime=str(props.get("Runtime", "")),
        timeout_seconds=int(props.get("Timeout", 3)),
        memory_mb=int(props.get("MemorySize", 128)),
        environment=dict(env),
        function_name=props.get("FunctionName"),
        architectures=tuple(props.get("Architectures", ["x86_64"])),
        reserved_concurrency=_optional_int(props.get("ReservedConcurrentExecutions")),
        log_group=logging_config.get("LogGroup"),
        log_format=logging_config.get("LogFormat"),
        application_log_level=logging_config.get("ApplicationLogLevel"),
    )


def _parse_api(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    protocol = props.get("ProtocolType", "HTTP")
    if protocol != "HTTP":
        model.warnings.append(TemplateWarning("unsupported-property", logical_id, f"ProtocolType {protocol}"))
        return
    cors = props.get("CorsConfiguration")
    model.apis[logical_id] = HttpApiSpec(
        logical_id=logical_id,
        name=str(props.get("Name", logical_id)),
        cors=None
        if not cors
        else CorsSpec(
            allow_origins=tuple(cors.get("AllowOrigins", ())),
            allow_methods=tuple(cors.get("AllowMethods", ())),
            allow_headers=tuple(cors.get("AllowHeaders", ())),
            expose_headers=tuple(cors.get("ExposeHeaders", ())),
            allow_credentials=bool(cors.get("AllowCredentials", False)),
            max_age=_optional_int(cors.get("MaxAge")),
        ),
    )


def _parse_noop(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    """Routes and integrations are read while linking routes; nothing to keep on their own."""


def _parse_stage(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    # The local gateway serves the `$default` stage (paths without a stage prefix) only.
    if props.get("StageName", "$default") != "$default":
        model.warnings.append(
            TemplateWarning("unsupported-property", logical_id, f"stage {props.get('StageName')!r} is not $default")
        )


def _link_routes(model: TemplateModel) -> None:
    for logical_id, resource in model.resources.items():
        if resource.get("Type") != "AWS::ApiGatewayV2::Route" or logical_id in model.skipped:
            continue
        props = resource.get("Properties", {}) or {}
        route_key = str(props.get("RouteKey", ""))
        if route_key == "$default":
            method, path = "", "$default"
        else:
            method, _, path = route_key.partition(" ")
        integration_ids = [
            ref
            for ref in referenced_ids(props.get("Target"))
            if model.resources.get(ref, {}).get("Type") == "AWS::ApiGatewayV2::Integration"
        ]
        if not integration_ids:
            model.warnings.append(
                TemplateWarning("unresolved-reference", logical_id, f"route {route_key!r} has no integration target")
            )
            continue
        integration = model.resources[integration_ids[0]].get("Properties", {}) or {}
        if integration.get("IntegrationType") != "AWS_PROXY":
            model.warnings.append(
                TemplateWarning(
                    "unsupported-property", logical_id, f"integration type {integration.get('IntegrationType')}"
                )
            )
            continue
        function = _function_of(model, integration.get("IntegrationUri"))
        if function is None:
            model.warnings.append(
                TemplateWarning("unresolved-reference", logical_id, f"route {route_key!r}: target is not a function")
            )
            continue
        model.routes.append(
            RouteSpec(
                logical_id=logical_id,
                method=method.upper(),
                path=path,
                route_key=route_key,
                function=function,
                authorization_type=str(props.get("AuthorizationType", "NONE")),
                payload_format_version=str(integration.get("PayloadFormatVersion", "2.0")),
                timeout_ms=int(integration.get("TimeoutInMillis", 30000)),
            )
        )
        if str(integration.get("PayloadFormatVersion", "2.0")) != "2.0":
            model.warnings.append(
                TemplateWarning("unsupported-property", logical_id, "only payload format version 2.0 is emulated")
            )


def _parse_queue(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    redrive = props.get("RedrivePolicy") or {}
    if isinstance(redrive, str):
        redrive = json.loads(redrive)
    dead_letter = None
    if redrive:
        dead_letter = next(iter(referenced_ids(redrive.get("deadLetterTargetArn"))), None)
        if dead_letter is None:
            model.warnings.append(
                TemplateWarning("unresolved-reference", logical_id, "RedrivePolicy target is not a queue here")
            )
    model.queues[logical_id] = QueueSpec(
        logical_id=logical_id,
        queue_name=props.get("QueueName"),
        fifo=_bool(props.get("FifoQueue", False)),
        content_based_deduplication=_bool(props.get("ContentBasedDeduplication", False)),
        visibility_timeout=int(props.get("VisibilityTimeout", 30)),
        message_retention_period=int(props.get("MessageRetentionPeriod", 345600)),
        delay_seconds=int(props.get("DelaySeconds", 0)),
        receive_wait_seconds=int(props.get("ReceiveMessageWaitTimeSeconds", 0)),
        dead_letter_queue=dead_letter,
        max_receive_count=_optional_int(redrive.get("maxReceiveCount")) if redrive else None,
        deduplication_scope=props.get("DeduplicationScope"),
        fifo_throughput_limit=props.get("FifoThroughputLimit"),
    )


def _parse_event_source_mapping(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    source = next(iter(referenced_ids(props.get("EventSourceArn"))), None)
    function = _function_of(model, props.get("FunctionName"))
    source_type = model.resources.get(source or "", {}).get("Type")
    if source is None or source_type != "AWS::SQS::Queue" or function is None:
        model.warnings.append(
            TemplateWarning(
                "unsupported-property", logical_id, "only SQS event source mappings to a template function are emulated"
            )
        )
        return
    for unsupported in ("FilterCriteria", "DestinationConfig"):
        if props.get(unsupported):
            model.warnings.append(TemplateWarning("unsupported-property", logical_id, f"{unsupported} not emulated"))
    scaling = props.get("ScalingConfig") or {}
    model.event_source_mappings.append(
        EventSourceMappingSpec(
            logical_id=logical_id,
            queue=source,
            function=function,
            batch_size=int(props.get("BatchSize", 10)),
            batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            max_concurrency=_optional_int(scaling.get("MaximumConcurrency")),
            enabled=_bool(props.get("Enabled", True)),
        )
    )


def _parse_bucket_notifications(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    bucket = next(iter(referenced_ids(props.get("BucketName"))), None)
    configuration = props.get("NotificationConfiguration") or {}
    if bucket is None:
        model.warnings.append(TemplateWarning("unresolved-reference", logical_id, "BucketName is not a bucket here"))
        return
    for other in ("QueueConfigurations", "TopicConfigurations", "EventBridgeConfiguration"):
        if configuration.get(other):
            model.warnings.append(TemplateWarning("unsupported-property", logical_id, f"{other} not emulated"))
    for index, item in enumerate(configuration.get("LambdaFunctionConfigurations") or []):
        function = _function_of(model, item.get("LambdaFunctionArn"))
        if function is None:
            model.warnings.append(
                TemplateWarning("unresolved-reference", logical_id, "notification target is not a template function")
            )
            continue
        rules = {
            str(rule.get("Name", "")).lower(): str(rule.get("Value", ""))
            for rule in ((item.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
        }
        model.notifications.append(
            BucketNotificationSpec(
                logical_id=logical_id,
                bucket=bucket,
                function=function,
                events=tuple(item.get("Events") or ()),
                prefix=rules.get("prefix", ""),
                suffix=rules.get("suffix", ""),
                configuration_id=str(item.get("Id") or f"{logical_id}-{index}"),
            )
        )


def _parse_rule(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    expression = props.get("ScheduleExpression")
    if not expression:
        model.warnings.append(TemplateWarning("unsupported-property", logical_id, "only schedule rules are emulated"))
        return
    targets = []
    for target in props.get("Targets") or []:
        function = _function_of(model, target.get("Arn"))
        if function is None:
            model.warnings.append(
                TemplateWarning("unsupported-property", logical_id, "a rule target that is not a template function")
            )
            continue
        for unsupported in ("InputPath", "InputTransformer"):
            if unsupported in target:
                model.warnings.append(
                    TemplateWarning("unsupported-property", logical_id, f"{unsupported} not emulated")
                )
        targets.append(ScheduleTargetSpec(str(target.get("Id", "")), function, target.get("Input")))
    model.schedules[logical_id] = ScheduleSpec(
        logical_id=logical_id,
        rule_name=props.get("Name"),
        expression=str(expression),
        enabled=str(props.get("State", "ENABLED")).upper() == "ENABLED",
        targets=tuple(targets),
        description=str(props.get("Description", "")),
    )


def _parse_table(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    def keys(schema: Any) -> tuple[tuple[str, str], ...]:
        return tuple((str(key["AttributeName"]), str(key["KeyType"])) for key in schema or ())

    def indexes(items: Any) -> tuple[IndexSpec, ...]:
        return tuple(
            IndexSpec(str(item["IndexName"]), keys(item.get("KeySchema")), dict(item.get("Projection") or {}))
            for item in items or ()
        )

    ttl = props.get("TimeToLiveSpecification") or {}
    stream = props.get("StreamSpecification") or {}
    pitr = (props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled", False)
    for replica in props.get("Replicas") or ():  # AWS::DynamoDB::GlobalTable keeps PITR per replica
        pitr = pitr or (replica.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
    model.tables[logical_id] = TableSpec(
        logical_id=logical_id,
        table_name=props.get("TableName"),
        key_schema=keys(props.get("KeySchema")),
        attribute_definitions=tuple(
            (str(item["AttributeName"]), str(item["AttributeType"])) for item in props.get("AttributeDefinitions") or ()
        ),
        global_indexes=indexes(props.get("GlobalSecondaryIndexes")),
        local_indexes=indexes(props.get("LocalSecondaryIndexes")),
        ttl_attribute=str(ttl["AttributeName"]) if _bool(ttl.get("Enabled", False)) else None,
        stream_view_type=stream.get("StreamViewType"),
        point_in_time_recovery=_bool(pitr),
    )


def _parse_bucket(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    if props.get("NotificationConfiguration"):
        model.warnings.append(
            TemplateWarning("unsupported-property", logical_id, "inline NotificationConfiguration not emulated")
        )
    model.buckets[logical_id] = BucketSpec(
        logical_id=logical_id,
        bucket_name=props.get("BucketName"),
        versioned=(props.get("VersioningConfiguration") or {}).get("Status") == "Enabled",
        cors_rules=tuple((props.get("CorsConfiguration") or {}).get("CorsRules") or ()),
        lifecycle_rules=tuple((props.get("LifecycleConfiguration") or {}).get("Rules") or ()),
    )


def _parse_secret(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    generate = props.get("GenerateSecretString") or {}
    model.secrets[logical_id] = SecretSpec(
        logical_id=logical_id,
        name=props.get("Name"),
        description=str(props.get("Description", "")),
        secret_string=props.get("SecretString"),
        secret_string_template=generate.get("SecretStringTemplate"),
        generate_string_key=generate.get("GenerateStringKey"),
        password_length=int(generate.get("PasswordLength", 32)),
    )


_PARSERS = {
    "AWS::Lambda::Function": _parse_function,
    "AWS::ApiGatewayV2::Api": _parse_api,
    "AWS::ApiGatewayV2::Route": _parse_noop,  # linked after every resource is known
    "AWS::ApiGatewayV2::Integration": _parse_noop,
    "AWS::ApiGatewayV2::Stage": _parse_stage,
    "AWS::SQS::Queue": _parse_queue,
    "AWS::Lambda::EventSourceMapping": _parse_event_source_mapping,
    "Custom::S3BucketNotifications": _parse_bucket_notifications,
    "AWS::Events::Rule": _parse_rule,
    "AWS::DynamoDB::Table": _parse_table,
    "AWS::DynamoDB::GlobalTable": _parse_table,
    "AWS::S3::Bucket": _parse_bucket,
    "AWS::SecretsManager::Secret": _parse_secret,
}
assert set(_PARSERS) == EMULATED_TYPES


def referenced_ids(value: Any) -> Iterator[str]:
    """Logical ids named by `Ref` / `Fn::GetAtt` anywhere inside a raw value, in order."""
    if isinstance(value, Mapping):
        if set(value) == {"Ref"} and isinstance(value["Ref"], str):
            yield value["Ref"]
            return
        if set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            yield str(target[0] if isinstance(target, list) else str(target).split(".", 1)[0])
            return
        for item in value.values():
            yield from referenced_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from referenced_ids(item)


def _function_of(model: TemplateModel, value: Any) -> str | None:
    """The logical id of the template function a raw value points at (directly, or through an alias/version)."""
    for ref in referenced_ids(value):
        kind = model.resources.get(ref, {}).get("Type")
        if kind == "AWS::Lambda::Function":
            return ref if ref in model.functions else None
        if kind in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
            return _function_of(model, (model.resources[ref].get("Properties") or {}).get("FunctionName"))
    return None


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


# -- local names and the resolver ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwsIdentity:
    region: str = "us-east-1"
    account_id: str = "123456789012"  # moto's default account
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"


@dataclass
class Physical:
    """What a resource is called locally: its `Ref` value and its `Fn::GetAtt` attributes."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


class LocalNames:
    """Local physical names, ARNs and URLs for every resource, the way CloudFormation would name them.

    Names the template sets are kept. Generated names are deterministic (`<stack>-<logical id>`, shaped to each
    service's rules), so two boots of the same template name things the same. Values only known after a resource
    exists (a secret's ARN, the gateway URL) are registered with `register`.
    """

    def __init__(
        self,
        model: TemplateModel,
        *,
        identity: AwsIdentity,
        aws_endpoint_url: str,
        api_url: str = "",
    ) -> None:
        self.model = model
        self.identity = identity
        self.aws_endpoint_url = aws_endpoint_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self._registered: dict[str, Physical] = {}
        self.warnings: list[TemplateWarning] = []  # shared by every `Resolver` over these names

    def localize(self, text: str) -> str:
        """Replace an HTTP API's execute-api address (what the CDK builds a stage URL from) with the local gateway's."""
        if not self.api_url or ".execute-api." not in text:
            return text
        ident = self.identity
        for logical_id in self.model.apis:
            api_id = self.physical(logical_id).ref
            text = text.replace(f"https://{api_id}.execute-api.{ident.region}.{ident.url_suffix}", self.api_url)
        return text

    def register(self, logical_id: str, physical: Physical) -> None:
        self._registered[logical_id] = physical

    def physical(self, logical_id: str) -> Physical:
        if logical_id in self._registered:
            return self._registered[logical_id]
        resource = self.model.resources.get(logical_id)
        if resource is None:
            raise KeyError(logical_id)
        physical = self._derive(logical_id, str(resource.get("Type", "")), resource.get("Properties") or {})
        self._registered[logical_id] = physical
        return physical

    # Names -------------------------------------------------------------------------------------------------------

    def generated_name(self, logical_id: str, *, max_length: int, lower: bool = False, suffix: str = "") -> str:
        digest = hashlib.sha256(f"{self.model.stack_name}/{logical_id}".encode()).hexdigest()[:8].upper()
        base = f"{self.model.stack_name}-{logical_id}"
        room = max_length - len(suffix) - len(digest) - 1
        name = f"{base[:room]}-{digest}{suffix}"
        if lower:
            name = re.sub(r"[^a-z0-9-]", "-", name.lower())
        return name

    def _given_name(self, value: Any) -> str | None:
        if value is None:
            return None
        return str(Resolver(self.model, self).resolve(value))

    def _arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        ident = self.identity
        return (
            f"arn:{ident.partition}:{service}:{ident.region if region else ''}:"
            f"{ident.account_id if account else ''}:{resource}"
        )

    def _derive(self, logical_id: str, kind: str, props: Mapping[str, Any]) -> Physical:  # noqa: PLR0911 - per type
        ident = self.identity
        if kind == "AWS::SQS::Queue":
            fifo = _bool(props.get("FifoQueue", False))
            name = self._given_name(props.get("QueueName")) or self.generated_name(
                logical_id, max_length=80, suffix=".fifo" if fifo else ""
            )
            url = f"{self.aws_endpoint_url}/{ident.account_id}/{name}"
            arn = self._arn("sqs", name)
            return Physical(url, {"Arn": arn, "QueueUrl": url, "QueueName": name})
        if kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            name = self._given_name(props.get("TableName")) or self.generated_name(logical_id, max_length=255)
            arn = self._arn("dynamodb", f"table/{name}")
            return Physical(name, {"Arn": arn, "StreamArn": f"{arn}/stream/local", "TableId": name})
        if kind == "AWS::S3::Bucket":
            name = self._given_name(props.get("BucketName")) or self.generated_name(
                logical_id, max_length=63, lower=True
            )
            return Physical(
                name,
                {
                    "Arn": self._arn("s3", name, region=False, account=False),
                    "DomainName": f"{name}.s3.{ident.url_suffix}",
                    "RegionalDomainName": f"{name}.s3.{ident.region}.{ident.url_suffix}",
                    "DualStackDomainName": f"{name}.s3.dualstack.{ident.region}.{ident.url_suffix}",
                    "WebsiteURL": f"http://{name}.s3-website-{ident.region}.{ident.url_suffix}",
                },
            )
        if kind == "AWS::SecretsManager::Secret":
            name = self._given_name(props.get("Name")) or self.generated_name(logical_id, max_length=256)
            arn = self._arn("secretsmanager", f"secret:{name}")  # replaced by moto's real ARN once created
            return Physical(arn, {"Id": arn, "Name": name})
        if kind == "AWS::Lambda::Function":
            name = self._given_name(props.get("FunctionName")) or self.generated_name(logical_id, max_length=64)
            return Physical(name, {"Arn": self._arn("lambda", f"function:{name}")})
        if kind == "AWS::ApiGatewayV2::Api":
            api_id = hashlib.sha256(logical_id.encode()).hexdigest()[:10]
            return Physical(api_id, {"ApiEndpoint": self.api_url, "ApiId": api_id})
        if kind == "AWS::ApiGatewayV2::Stage":
            return Physical(str(props.get("StageName", "$default")))
        if kind == "AWS::Events::Rule":
            name = self._given_name(props.get("Name")) or self.generated_name(logical_id, max_length=64)
            return Physical(name, {"Arn": self._arn("events", f"rule/{name}")})
        if kind == "AWS::Logs::LogGroup":
            name = self._given_name(props.get("LogGroupName")) or self.generated_name(logical_id, max_length=512)
            return Physical(name, {"Arn": self._arn("logs", f"log-group:{name}:*")})
        if kind == "AWS::SNS::Topic":
            name = self._given_name(props.get("TopicName")) or self.generated_name(logical_id, max_length=256)
            arn = self._arn("sns", name)
            return Physical(arn, {"TopicArn": arn, "TopicName": name})
        if kind == "AWS::IAM::Role":
            name = self.generated_name(logical_id, max_length=64)
            return Physical(name, {"Arn": self._arn("iam", f"role/{name}", region=False), "RoleId": name})
        if kind == "AWS::KMS::Key":
            key_id = hashlib.sha256(logical_id.encode()).hexdigest()[:32]
            return Physical(key_id, {"Arn": self._arn("kms", f"key/{key_id}"), "KeyId": key_id})
        # Anything else: a stable dummy. Only reached for recognised, non-emulated resources.
        name = self.generated_name(logical_id, max_length=128)
        return Physical(name, {"Arn": self._arn(kind.split("::")[1].lower() if "::" in kind else "local", name)})


class Resolver:
    """Turns raw CloudFormation values into local values. Problems become warnings, never exceptions."""

    def __init__(self, model: TemplateModel, names: LocalNames) -> None:
        self.model = model
        self.names = names
        self.warnings = names.warnings

    def resolve(self, value: Any, *, where: str = "") -> Any:
        result = self._resolve(value, where)
        return None if result is NO_VALUE else result

    def resolve_str(self, value: Any, *, where: str = "") -> str:
        result = self.resolve(value, where=where)
        if isinstance(result, bool):
            return "true" if result else "false"
        if isinstance(result, (dict, list)):
            return json.dumps(result)
        return "" if result is None else str(result)

    def environment(self, function: FunctionSpec) -> dict[str, str]:
        """The function's environment variables, resolved, with cloud URLs of emulated services made local."""
        return {
            name: self.names.localize(self.resolve_str(value, where=f"{function.logical_id}.Environment.{name}"))
            for name, value in function.environment.items()
        }

    # -- internals ------------------------------------------------------------------------------------------------

    def _warn(self, code: str, where: str, message: str) -> str:
        warning = TemplateWarning(code, where or "?", message)
        if warning not in self.warnings:
            self.warnings.append(warning)
        return f"<unresolved:{message}>"

    def _resolve(self, value: Any, where: str) -> Any:  # noqa: PLR0911 - one branch per intrinsic
        if isinstance(value, list):
            return [item for item in (self._resolve(v, where) for v in value) if item is not NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(str(argument), where)
            if key == "Condition":
                return self._condition(str(argument), where)
            if key.startswith("Fn::"):
                handler = getattr(self, "_fn_" + key[4:].lower(), None)
                if handler is None:
                    return self._warn("unsupported-intrinsic", where, f"{key} is not supported locally")
                return handler(argument, where)
        resolved = {k: self._resolve(v, where) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _ref(self, name: str, where: str) -> Any:  # noqa: PLR0911 - pseudo, parameter, resource
        ident = self.names.identity
        pseudo = {
            "AWS::Region": ident.region,
            "AWS::AccountId": ident.account_id,
            "AWS::Partition": ident.partition,
            "AWS::URLSuffix": ident.url_suffix,
            "AWS::StackName": self.model.stack_name,
            "AWS::StackId": f"arn:{ident.partition}:cloudformation:{ident.region}:{ident.account_id}:stack/"
            f"{self.model.stack_name}/local",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.model.parameters:
            parameter = self.model.parameters[name]
            if parameter.type.startswith("AWS::SSM::Parameter::Value"):
                # e.g. the Powertools layer ARN, read from SSM at deploy time; nothing local uses it.
                return f"local-ssm-parameter-{name}"
            if parameter.default is None:
                return self._warn("unresolved-reference", where, f"parameter {name} has no default")
            return parameter.default
        if name in self.model.resources:
            return self.names.physical(name).ref
        return self._warn("unresolved-reference", where, f"Ref {name} names nothing in the template")

    def _fn_getatt(self, argument: Any, where: str) -> Any:
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        else:
            logical_id, attribute = str(argument[0]), str(self._resolve(argument[1], where))
        if logical_id not in self.model.resources:
            return self._warn("unresolved-reference", where, f"GetAtt {logical_id} names nothing in the template")
        physical = self.names.physical(logical_id)
        if attribute not in physical.attributes:
            kind = self.model.resources[logical_id].get("Type")
            return self._warn("unresolved-reference", where, f"GetAtt {logical_id}.{attribute} ({kind}) not known")
        return physical.attributes[attribute]

    def _fn_join(self, argument: Any, where: str) -> Any:
        delimiter, items = argument
        resolved = self._resolve(items, where)
        return str(delimiter).join(self._as_text(item) for item in resolved)

    def _fn_sub(self, argument: Any, where: str) -> Any:
        if isinstance(argument, list):
            text, variables = str(argument[0]), {k: self._resolve(v, where) for k, v in argument[1].items()}
        else:
            text, variables = str(argument), {}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} is a literal ${Literal}
            if name in variables:
                return self._as_text(variables[name])
            if "." in name and name.split(".", 1)[0] in self.model.resources:
                return self._as_text(self._fn_getatt(name, where))
            return self._as_text(self._ref(name, where))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)

    def _fn_select(self, argument: Any, where: str) -> Any:
        index, items = argument
        resolved = self._resolve(items, where)
        position = int(self._resolve(index, where))
        if not isinstance(resolved, list) or not 0 <= position < len(resolved):
            return self._warn("unsupported-intrinsic", where, f"Fn::Select index {position} out of range")
        return resolved[position]

    def _fn_split(self, argument: Any, where: str) -> Any:
        delimiter, text = argument
        return self._as_text(self._resolve(text, where)).split(str(delimiter))

    def _fn_base64(self, argument: Any, where: str) -> Any:
        return base64.b64encode(self._as_text(self._resolve(argument, where)).encode()).decode()

    def _fn_getazs(self, argument: Any, where: str) -> Any:
        region = self._resolve(argument, where) or self.names.identity.region
        return [f"{region}a", f"{region}b", f"{region}c"]

    def _fn_findinmap(self, argument: Any, where: str) -> Any:
        mapping, top, second = (self._resolve(item, where) for item in argument[:3])
        try:
            return self.model.mappings[mapping][top][second]
        except (KeyError, TypeError):
            return self._warn("unresolved-reference", where, f"Fn::FindInMap {mapping}/{top}/{second} not found")

    def _fn_if(self, argument: Any, where: str) -> Any:
        condition, when_true, when_false = argument
        chosen = when_true if self._condition(str(condition), where) else when_false
        return self._resolve(chosen, where)

    def _fn_equals(self, argument: Any, where: str) -> Any:
        left, right = (self._resolve(item, where) for item in argument)
        return left == right

    def _fn_not(self, argument: Any, where: str) -> Any:
        return not self._truth(argument[0], where)

    def _fn_and(self, argument: Any, where: str) -> Any:
        return all(self._truth(item, where) for item in argument)

    def _fn_or(self, argument: Any, where: str) -> Any:
        return any(self._truth(item, where) for item in argument)

    def _truth(self, value: Any, where: str) -> bool:
        if isinstance(value, Mapping) and set(value) == {"Condition"}:
            return self._condition(str(value["Condition"]), where)
        return bool(self._resolve(value, where))

    def _condition(self, name: str, where: str) -> bool:
        if name not in self.model.conditions:
            self._warn("unresolved-reference", where, f"condition {name} is not defined")
            return False
        return self._truth(self.model.conditions[name], where)

    @staticmethod
    def _as_text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None or value is NO_VALUE else str(value)
