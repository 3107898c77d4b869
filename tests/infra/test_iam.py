"""Least privilege: no wildcard actions, nothing data-plane on Resource '*', each role only what its function uses."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from signbridge import api_routes

from .conftest import Synth, function_logical_id, ref

pytestmark = pytest.mark.infra

# Actions AWS only grants on Resource "*": tracing telemetry, and the network interfaces Lambda manages for a
# function in a VPC. Everything else must name its resource.
ALLOWED_ON_ANY_RESOURCE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    """(logical id of the role, statement) for every identity policy in the template."""
    found = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        for role in policy["Properties"].get("Roles", []):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found.append((ref(role) or "", statement))
    for logical_id, role in synth.of_type("AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            for statement in inline["PolicyDocument"]["Statement"]:
                found.append((logical_id, statement))
    return found


def _grants(synth: Synth) -> dict[str, dict[str, set[str]]]:
    """role -> action -> rendered resources, for Allow statements."""
    grants: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for role, statement in _statements(synth):
        if statement["Effect"] != "Allow":
            continue
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                grants[role][action].add(json.dumps(resource, sort_keys=True))
    return grants


def _role(name: str) -> str:
    return function_logical_id(name, "Role")


@pytest.mark.parametrize("synth_name", ["synth", "full_synth"])
def test_no_wildcard_action_and_nothing_data_plane_on_any_resource(
    synth_name: str, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(synth_name)
    statements = _statements(synth)
    assert statements
    for role, statement in statements:
        actions = _as_list(statement["Action"])
        for action in actions:
            assert action != "*", role
            assert not action.endswith(":*"), (role, action)
        if "*" in _as_list(statement["Resource"]):
            assert set(actions) <= ALLOWED_ON_ANY_RESOURCE, (role, actions)


def test_function_roles_carry_no_managed_policy(synth: Synth) -> None:
    for name in api_routes.FUNCTIONS:
        assert "ManagedPolicyArns" not in synth.props(_role(name)), name


def test_secrets_are_readable_only_by_the_functions_that_need_them(synth: Synth) -> None:
    grants = _grants(synth)
    readable = {
        name: {ref(json.loads(r)) for r in grants[_role(name)].get("secretsmanager:GetSecretValue", set())}
        for name in api_routes.FUNCTIONS
    }
    assert readable == {
        "api": {"OneShotSecret", "SignerPageSecret"},
        "signer_page": {"OneShotSecret"},  # never the page key: it compares the token's hash
        "zapsign_webhook": {"WebhookSecret"},
        "oneshot_webhook": {"WebhookSecret"},
        "intake": set(),
        "worker": {"ZapSignSecret", "OneShotSecret", "WebhookSecret"},  # the One-Shot callback address
        "reconciler": set(),
        "housekeeper": set(),
    }


def test_only_the_worker_consumes_and_webhooks_send_to_their_own_queue(synth: Synth) -> None:
    grants = _grants(synth)
    received = {
        name: {ref(json.loads(r)) for r in grants[_role(name)].get("sqs:ReceiveMessage", set())}
        for name in api_routes.FUNCTIONS
    }
    assert {name for name, queues in received.items() if queues} == {"worker", "housekeeper"}
    assert received["worker"] == {"ZapSignQueue", "OneShotQueue"}
    # The housekeeper reads and deletes dead letters of finished requests, on the dead-letter queues only
    assert received["housekeeper"] == {"ZapSignDeadLetterQueue", "OneShotDeadLetterQueue"}
    deletes = {ref(json.loads(r)) for r in grants[_role("housekeeper")]["sqs:DeleteMessage"]}
    assert deletes == {"ZapSignDeadLetterQueue", "OneShotDeadLetterQueue"}
    sends = {
        name: {ref(json.loads(r)) for r in grants[_role(name)].get("sqs:SendMessage", set())}
        for name in api_routes.FUNCTIONS
    }
    assert sends["zapsign_webhook"] == {"ZapSignQueue"}
    assert sends["oneshot_webhook"] == {"OneShotQueue"}
    # ... and the worker sets a message that can never run aside in its queue's dead-letter queue
    assert sends["worker"] == {"ZapSignQueue", "OneShotQueue", "ZapSignDeadLetterQueue", "OneShotDeadLetterQueue"}
    # The worker reads a queue's redrive policy and shortens a failed record's visibility (its backoff)
    for action in ("sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"):
        assert {ref(json.loads(r)) for r in grants[_role("worker")][action]} >= {"ZapSignQueue", "OneShotQueue"}


def test_webhooks_have_no_table_access_and_write_only_their_raw_prefix(synth: Synth) -> None:
    grants = _grants(synth)
    for name, prefix in (("zapsign_webhook", "/raw/zapsign/*"), ("oneshot_webhook", "/raw/oneshot/*")):
        actions = grants[_role(name)]
        assert not any(action.startswith("dynamodb:") for action in actions), name
        s3_actions = {action: resources for action, resources in actions.items() if action.startswith("s3:")}
        assert set(s3_actions) == {"s3:PutObject"}, name
        (resource,) = s3_actions["s3:PutObject"]
        assert prefix in resource, name


def test_table_writers(synth: Synth) -> None:
    grants = _grants(synth)
    writers = {name for name in api_routes.FUNCTIONS if "dynamodb:PutItem" in grants[_role(name)]}
    assert writers == {"api", "signer_page", "intake", "worker", "reconciler", "housekeeper"}
