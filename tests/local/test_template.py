"""The template reader: the real synthesized template is wired completely, and intrinsics resolve locally."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.provision import secret_purposes
from local.scheduler import parse_expression
from local.template.names import AwsIdentity, LocalNames
from local.template.parser import load_template, parse_template
from local.template.resolver import Resolver
from local.template.specs import TemplateModel
from signbridge import api_routes, env_names
from signbridge.config import Settings
from signbridge.domain import keys
from signbridge.storage import schema

ENDPOINT = "http://127.0.0.1:4566"
API_URL = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def model(real_template: Path) -> TemplateModel:
    return load_template(real_template)


def names_for(model: TemplateModel) -> LocalNames:
    return LocalNames(model, identity=AwsIdentity(), aws_endpoint_url=ENDPOINT, api_url=API_URL)


def test_the_real_template_reads_without_warnings(model: TemplateModel) -> None:
    # Given the synthesized template, when it is read, then every resource type is understood or knowingly skipped
    assert model.warnings == []
    assert any(reason == "CDK helper resource" for reason in model.skipped.values())


def test_every_function_of_the_contract_is_in_the_template(model: TemplateModel) -> None:
    assert sorted(model.function_names()) == sorted(api_routes.FUNCTIONS)
    for name in api_routes.FUNCTIONS:
        spec = model.function(name)
        assert spec.handler == api_routes.handler_path(name)
        assert spec.timeout_seconds > 0
        assert spec.memory_mb >= 128


def test_every_route_is_wired_to_its_function(model: TemplateModel) -> None:
    wired = {(route.method, route.path): route for route in model.routes}
    assert len(wired) == len(api_routes.ROUTES)
    for route in api_routes.ROUTES:
        spec = wired[(route.method, route.path)]
        assert model.functions[spec.function].name == route.function
        assert spec.payload_format_version == "2.0"
        if route.authenticated:
            assert spec.authorization_type in ("AWS_IAM", "JWT")
        else:
            assert spec.authorization_type == "NONE"


def test_both_work_queues_feed_the_worker_with_partial_batch_responses(model: TemplateModel) -> None:
    assert len(model.event_source_mappings) == 2
    for mapping in model.event_source_mappings:
        queue = model.queues[mapping.queue]
        assert model.functions[mapping.function].name == "worker"
        assert mapping.report_batch_item_failures
        assert 1 <= mapping.batch_size <= 10
        assert mapping.max_concurrency is not None
        assert mapping.max_concurrency >= 2
        assert queue.fifo
        assert queue.dead_letter_queue is not None
        assert model.queues[queue.dead_letter_queue].fifo
        assert queue.max_receive_count is not None
        assert queue.max_receive_count >= 1
        # Lambda's rule: the visibility timeout covers the function timeout
        assert queue.visibility_timeout >= model.functions[mapping.function].timeout_seconds


def test_uploads_under_incoming_notify_intake(model: TemplateModel) -> None:
    (notification,) = model.notifications
    assert model.functions[notification.function].name == "intake"
    assert notification.prefix == keys.INCOMING_PREFIX
    assert any(event.startswith("s3:ObjectCreated:") for event in notification.events)
    assert model.buckets[notification.bucket].versioned


def test_both_schedules_are_wired_and_parse(model: TemplateModel) -> None:
    targets = {
        model.functions[target.function].name: rule for rule in model.schedules.values() for target in rule.targets
    }
    assert set(targets) == {"reconciler", "housekeeper"}
    for rule in targets.values():
        assert rule.enabled
        parse_expression(rule.expression)
    assert targets["reconciler"].expression.startswith("rate(")
    assert targets["housekeeper"].expression.startswith("cron(")


def test_the_table_matches_the_schema_module(model: TemplateModel) -> None:
    (table,) = model.tables.values()
    assert table.key_schema == ((schema.PK, "HASH"), (schema.SK, "RANGE"))
    indexes = {index.name: index.key_schema for index in table.global_indexes}
    assert indexes == {name: ((pk, "HASH"), (sk, "RANGE")) for name, pk, sk in schema.GLOBAL_INDEXES}
    assert table.ttl_attribute == schema.TTL_ATTRIBUTE


def test_every_function_environment_resolves_to_valid_local_settings(model: TemplateModel) -> None:
    names = names_for(model)
    resolver = Resolver(model, names)
    for spec in model.functions.values():
        environment = resolver.environment(spec)
        settings = Settings.from_environ(environment)  # validates every required variable
        assert settings.zapsign_queue_url.startswith(f"{ENDPOINT}/123456789012/")
        assert settings.zapsign_queue_url.endswith(".fifo")
        assert environment[env_names.API_BASE_URL].startswith(API_URL)
    assert resolver.warnings == []


def test_the_evidence_key_is_emulated_and_every_function_is_given_its_arn(model: TemplateModel) -> None:
    # The stack's asymmetric evidence key, with its alias, is created in moto by `local.provision`
    ((logical_id, key),) = model.kms_keys.items()
    assert (key.key_spec, key.key_usage) == ("ECC_NIST_P256", "SIGN_VERIFY")
    assert [alias.endswith("-evidence") for alias in key.aliases] == [True]
    # And the functions read its ARN from their environment
    names = names_for(model)
    resolver = Resolver(model, names)
    for spec in model.functions.values():
        assert resolver.environment(spec)[env_names.EVIDENCE_KEY_ID] == names.physical(logical_id).attributes["Arn"]


def test_each_secret_is_found_through_its_environment_variable(model: TemplateModel) -> None:
    purposes = secret_purposes(model, names_for(model))
    assert sorted(purposes.values()) == sorted(
        [
            env_names.ZAPSIGN_SECRET_NAME,
            env_names.WEBHOOK_SECRET_NAME,
            env_names.ONESHOT_SECRET_NAME,
            env_names.SIGNER_PAGE_SECRET_NAME,
        ]
    )


# -- synthetic templates: CloudFormation semantics ----------------------------------------------------------------


def _template(resources: dict[str, Any], **extra: Any) -> TemplateModel:
    return parse_template({"Resources": resources, **extra}, stack_name="Test")


QUEUE = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs"}}


def test_intrinsics_resolve_to_local_names() -> None:
    model = _template(
        {"Jobs": QUEUE, "Files": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "files"}}},
        Conditions={"IsLocal": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}},
    )
    resolver = Resolver(model, names_for(model))
    assert resolver.resolve({"Ref": "Jobs"}) == f"{ENDPOINT}/123456789012/jobs"
    assert resolver.resolve({"Fn::GetAtt": ["Jobs", "Arn"]}) == "arn:aws:sqs:us-east-1:123456789012:jobs"
    assert resolver.resolve({"Fn::GetAtt": "Jobs.QueueName"}) == "jobs"
    assert resolver.resolve({"Fn::Sub": "${AWS::Region}/${Files}/${Jobs.QueueName}/${!Literal}"}) == (
        "us-east-1/files/jobs/${Literal}"
    )
    assert resolver.resolve({"Fn::Sub": ["${Name}-${AWS::AccountId}", {"Name": {"Ref": "Files"}}]}) == (
        "files-123456789012"
    )
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [":", {"Fn::GetAtt": ["Jobs", "Arn"]}]}]}) == "aws"
    assert resolver.resolve({"Fn::Join": ["", ["a", {"Ref": "AWS::Partition"}, {"Ref": "AWS::URLSuffix"}]]}) == (
        "aawsamazonaws.com"
    )
    assert resolver.resolve({"Fn::If": ["IsLocal", "yes", "no"]}) == "yes"
    assert resolver.resolve(["x", {"Ref": "AWS::NoValue"}]) == ["x"]
    assert resolver.warnings == []


def test_an_unknown_intrinsic_or_reference_is_reported_not_ignored() -> None:
    model = _template({"Jobs": QUEUE})
    resolver = Resolver(model, names_for(model))
    resolver.resolve({"Fn::ImportValue": "shared-thing"}, where="Fn.Environment.X")
    resolver.resolve({"Ref": "Missing"}, where="Fn.Environment.Y")
    resolver.resolve({"Fn::GetAtt": ["Jobs", "NoSuchAttribute"]}, where="Fn.Environment.Z")
    assert [warning.code for warning in resolver.warnings] == [
        "unsupported-intrinsic",
        "unresolved-reference",
        "unresolved-reference",
    ]


def test_unknown_resource_types_are_reported_and_cdk_helpers_skipped() -> None:
    model = _template(
        {
            "Mystery": {"Type": "AWS::AppSync::GraphQLApi", "Properties": {}},
            "Other": {"Type": "Custom::SomethingElse", "Properties": {}},
            "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8aFD4BFC8A": {"Type": "AWS::Lambda::Function"},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        }
    )
    assert {(w.code, w.logical_id) for w in model.warnings} == {
        ("unknown-resource-type", "Mystery"),
        ("unknown-resource-type", "Other"),
    }
    assert set(model.skipped) == {"LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8aFD4BFC8A", "Role"}


def test_the_ssm_parameter_of_the_powertools_layer_resolves_to_a_dummy() -> None:
    model = _template(
        {"Jobs": QUEUE},
        Parameters={"Layer": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/aws/service/x"}},
    )
    resolver = Resolver(model, names_for(model))
    assert resolver.resolve({"Ref": "Layer"}) == "local-ssm-parameter-Layer"
    assert resolver.warnings == []


def test_the_api_stage_url_becomes_the_local_gateway() -> None:
    model = _template({"HttpApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}}})
    names = names_for(model)
    stage_url = Resolver(model, names).resolve_str(
        {
            "Fn::Join": [
                "",
                [
                    "https://",
                    {"Ref": "HttpApi"},
                    ".execute-api.",
                    {"Ref": "AWS::Region"},
                    ".",
                    {"Ref": "AWS::URLSuffix"},
                    "/",
                ],
            ]
        }
    )
    assert names.localize(stage_url) == f"{API_URL}/"
