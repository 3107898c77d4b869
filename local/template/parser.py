"""Reading a synthesized template into a `TemplateModel`: one parser per resource type, the CDK's helper resources
recognised and skipped, anything not understood reported as a `TemplateWarning`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from local.template.specs import (
    CDK_HELPER_LOGICAL_ID_PREFIXES,
    CDK_HELPER_TYPES,
    EMULATED_TYPES,
    RECOGNISED_NOT_EMULATED_TYPES,
    BucketNotificationSpec,
    BucketSpec,
    CorsSpec,
    EventSourceMappingSpec,
    FunctionSpec,
    HttpApiSpec,
    IndexSpec,
    KmsKeySpec,
    ParameterSpec,
    QueueSpec,
    RouteSpec,
    ScheduleSpec,
    ScheduleTargetSpec,
    SecretSpec,
    TableSpec,
    TemplateModel,
    TemplateWarning,
)

HANDLER_PACKAGE = "signbridge.handlers."


def template_path(cdk_out: Path, stage: str) -> Path:
    return cdk_out / f"SignBridge-{stage}.template.json"


def load_template(path: Path, *, stack_name: str | None = None) -> TemplateModel:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    name = stack_name or Path(path).name.removesuffix(".template.json")
    return parse_template(document, stack_name=name)


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


def _parse_kms_key(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    existing = model.kms_keys.get(logical_id)
    model.kms_keys[logical_id] = KmsKeySpec(
        logical_id=logical_id,
        key_spec=str(props.get("KeySpec", "SYMMETRIC_DEFAULT")),
        key_usage=str(props.get("KeyUsage", "ENCRYPT_DECRYPT")),
        description=str(props.get("Description", "")),
        aliases=existing.aliases if existing else [],
    )


def _parse_kms_alias(model: TemplateModel, logical_id: str, props: Mapping[str, Any]) -> None:
    targets = list(referenced_ids(props.get("TargetKeyId")))
    name = props.get("AliasName")
    if not targets or not isinstance(name, str):
        model.warnings.append(TemplateWarning("unresolved-alias", logical_id, "a KMS alias without a key or name"))
        return
    key = model.kms_keys.setdefault(targets[0], KmsKeySpec(logical_id=targets[0]))
    key.aliases.append(name)


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
    "AWS::KMS::Key": _parse_kms_key,
    "AWS::KMS::Alias": _parse_kms_alias,
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
