"""IAM on the local stack: each function's calls checked against its role in the synthesized template.

- the hook answers a refused call with the service's own error (code, status), lets allowed calls through, and
  checks nothing outside an invocation;
- the real template's roles are read with their intrinsics resolved to the local resources;
- a template whose `api` role lacks `s3:PutObject` on `originals/*` makes an inline create fail locally with
  AccessDenied, as it would on AWS (the defect that once hid behind an unchecked emulator).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from demo.data import request_body
from local.aws import FAKE_CREDENTIALS, AwsEmulator
from local.iam import Arns, IamEnforcer, event_source_mapping_errors
from local.iam.policy import parse_document
from local.iam.roles import RolePermissions, function_permissions
from local.stack import LocalStack, LocalStackConfig
from local.template.names import AwsIdentity, LocalNames
from local.template.parser import load_template
from local.template.resolver import Resolver
from signbridge import env_names
from signbridge.domain import keys
from tests.local.conftest import unique

ACCOUNT = "123456789012"


def client(aws: AwsEmulator, service: str) -> Any:
    """A client of a fresh session (a session made after the hook is registered carries it)."""
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        endpoint_url=aws.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def resources(aws: AwsEmulator) -> dict[str, str]:
    bucket, table, queue, secret = unique("iam-bucket"), unique("iam-table"), unique("iam-queue"), unique("iam-secret")
    aws.client("s3").create_bucket(Bucket=bucket)
    aws.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    url = aws.client("sqs").create_queue(QueueName=queue)["QueueUrl"]
    arn = aws.client("secretsmanager").create_secret(Name=secret, SecretString="{}")["ARN"]
    return {"bucket": bucket, "table": table, "queue": queue, "queue_url": url, "secret": secret, "secret_arn": arn}


@pytest.fixture
def enforcer(resources: dict[str, str]) -> Iterator[tuple[IamEnforcer, dict[str, str | None]]]:
    """An enforcer for one function `fn` allowed a little of everything; `current["function"]` is who calls."""
    bucket, table, queue = resources["bucket"], resources["table"], resources["queue"]
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": f"arn:aws:s3:::{bucket}/in/*"},
            {
                "Effect": "Allow",
                "Action": "dynamodb:GetItem",
                "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}",
            },
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}"},
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/in/locked/*"},
        ]
    }
    permissions = {
        "fn": RolePermissions("fn", "FnRole", f"arn:aws:iam::{ACCOUNT}:role/fn-role", tuple(parse_document(document)))
    }
    current: dict[str, str | None] = {"function": "fn"}
    checker = IamEnforcer(
        permissions,
        Arns(secrets={resources["secret"]: resources["secret_arn"]}),
        current_function=lambda: current["function"],
        function_names={"fn": "SignBridge-fn"},
    )
    checker.install()
    try:
        yield checker, current
    finally:
        checker.uninstall()


def error_of(call: Any, **params: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_a_refused_call_gets_the_services_own_access_denied(
    aws: AwsEmulator, resources: dict[str, str], enforcer: tuple[IamEnforcer, dict[str, str | None]]
) -> None:
    checker, _ = enforcer
    s3, dynamodb, sqs, secrets = (client(aws, s) for s in ("s3", "dynamodb", "sqs", "secretsmanager"))
    bucket = resources["bucket"]

    s3.put_object(Bucket=bucket, Key="in/a.txt", Body=b"a")  # allowed: reaches moto
    code, status, message = error_of(s3.put_object, Bucket=bucket, Key="out/a.txt", Body=b"a")
    assert (code, status) == ("AccessDenied", 403)
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/fn-role/SignBridge-fn is not authorized to perform: "
        f"s3:PutObject on resource: arn:aws:s3:::{bucket}/out/a.txt because no identity-based policy allows the "
        "s3:PutObject action"
    )
    assert "explicit deny" in error_of(s3.put_object, Bucket=bucket, Key="in/locked/a", Body=b"a")[2]
    assert error_of(s3.head_object, Bucket=bucket, Key="out/a.txt")[:2] == ("403", 403)  # HEAD: no body
    assert s3.head_object(Bucket=bucket, Key="in/a.txt")["ContentLength"] == 1

    table = resources["table"]
    dynamodb.get_item(TableName=table, Key={"pk": {"S": "x"}})
    assert error_of(dynamodb.put_item, TableName=table, Item={"pk": {"S": "x"}})[:2] == ("AccessDeniedException", 400)
    assert "Item" not in aws.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "x"}})  # nothing sent

    sqs.send_message(QueueUrl=resources["queue_url"], MessageBody="{}")
    assert error_of(sqs.receive_message, QueueUrl=resources["queue_url"])[0] == "AccessDenied"

    code, _, message = error_of(secrets.get_secret_value, SecretId=resources["secret"])
    assert code == "AccessDeniedException"
    assert resources["secret_arn"] in message  # evaluated on the full ARN, random suffix included

    assert [(d.function, d.action) for d in checker.denials] == [
        ("fn", "s3:PutObject"),
        ("fn", "s3:PutObject"),
        ("fn", "s3:GetObject"),
        ("fn", "dynamodb:PutItem"),
        ("fn", "sqs:ReceiveMessage"),
        ("fn", "secretsmanager:GetSecretValue"),
    ]


def test_calls_outside_an_invocation_and_after_uninstall_are_not_checked(
    aws: AwsEmulator, resources: dict[str, str], enforcer: tuple[IamEnforcer, dict[str, str | None]]
) -> None:
    checker, current = enforcer
    s3 = client(aws, "s3")
    current["function"] = None
    s3.put_object(Bucket=resources["bucket"], Key="out/by-the-stack.txt", Body=b"a")
    current["function"] = "fn"
    checker.uninstall()
    s3.put_object(Bucket=resources["bucket"], Key="out/after.txt", Body=b"a")
    assert checker.denials == []


def test_a_presigned_link_the_role_may_not_use_is_recorded(
    aws: AwsEmulator, resources: dict[str, str], enforcer: tuple[IamEnforcer, dict[str, str | None]]
) -> None:
    checker, _ = enforcer
    s3 = client(aws, "s3")
    s3.generate_presigned_url("get_object", Params={"Bucket": resources["bucket"], "Key": "in/a.txt"})
    s3.generate_presigned_post(resources["bucket"], "out/upload.pdf")
    assert [(d.action, d.resource, d.presigned) for d in checker.presign_denials] == [
        ("s3:PutObject", f"arn:aws:s3:::{resources['bucket']}/out/upload.pdf", True)
    ]
    assert checker.denials == []


# -- the synthesized template ---------------------------------------------------------------------------------------


def local_names(template: Path) -> tuple[Any, LocalNames]:
    model = load_template(template)
    return model, LocalNames(model, identity=AwsIdentity(), aws_endpoint_url="http://127.0.0.1:1")


def test_the_real_roles_are_read_with_local_arns(real_template: Path) -> None:
    model, names = local_names(real_template)
    permissions = function_permissions(model, Resolver(model, names))
    assert permissions.warnings == []
    assert set(permissions.functions) == set(model.function_names())
    bucket = names.physical("Bucket").ref
    api = permissions.functions["api"]
    resources = {r for s in api.statements for r in s.resources}
    assert f"arn:aws:s3:::{bucket}/{keys.ORIGINALS_PREFIX}*" in resources
    assert not any("<unresolved" in r for r in resources)
    assert event_source_mapping_errors(model, names, permissions.functions) == []


def without_api_put_on_originals(template: Path, destination: Path) -> Path:
    """The template, with `s3:PutObject` on `originals/*` taken out of the api role's statements."""
    document = json.loads(template.read_text())
    patched = copy.deepcopy(document)
    model = load_template(template)
    api_role = model.resources[model.function("api").logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    removed = 0
    for resource in patched["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy" or {"Ref": api_role} not in resource["Properties"]["Roles"]:
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "s3:PutObject" in actions and f"/{keys.ORIGINALS_PREFIX}*" in json.dumps(statement["Resource"]):
                statement["Action"] = [a for a in actions if a != "s3:PutObject"]
                removed += 1
    assert removed == 1, "the api role's grant on originals/ moved: update this test"
    destination.write_text(json.dumps(patched))
    return destination


def test_event_source_mappings_need_a_role_that_may_read_the_queue(real_template: Path, tmp_path: Path) -> None:
    document = json.loads(real_template.read_text())
    model = load_template(real_template)
    worker_role = model.resources[model.function("worker").logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": worker_role} in resource["Properties"]["Roles"]:
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if isinstance(statement["Action"], list) and "sqs:ReceiveMessage" in statement["Action"]:
                    statement["Action"].remove("sqs:ReceiveMessage")
    patched = tmp_path / "template.json"
    patched.write_text(json.dumps(document))
    model, names = local_names(patched)
    errors = event_source_mapping_errors(model, names, function_permissions(model, Resolver(model, names)).functions)
    assert errors
    assert all("does not have permissions to call ReceiveMessage on SQS" in e for e in errors)


def create_inline(stack: LocalStack) -> Any:
    import requests  # noqa: PLC0415 - only these tests talk HTTP

    return requests.post(f"{stack.api_url}/v1/requests", json=request_body("zapsign"), timeout=30)


@pytest.mark.parametrize("grant", ["as synthesized", "without s3:PutObject on originals/*"])
def test_an_inline_create_needs_the_api_role_to_write_originals(
    real_template: Path, tmp_path: Path, grant: str
) -> None:
    template = (
        real_template if grant == "as synthesized" else without_api_put_on_originals(real_template, tmp_path / "t.json")
    )
    config = LocalStackConfig(
        template=template,
        api_port=0,
        pollers=False,
        notifications=False,
        schedules=False,
        overrides={env_names.ALLOW_LOOPBACK_HTTP: "true"},
    )
    with LocalStack(config) as stack:
        response = create_inline(stack)
        assert stack.iam is not None
        denials = [(d.function, d.action, d.resource.split("/", 1)[1]) for d in stack.iam.denials]
    if grant == "as synthesized":
        assert response.status_code == 201, response.text
        assert denials == []
    else:
        assert response.status_code == 500, response.text
        assert [(f, a, r.split("/", 1)[0]) for f, a, r in denials] == [("api", "s3:PutObject", "originals")]
