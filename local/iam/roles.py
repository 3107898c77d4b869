"""Each function's permissions as synthesized: its execution role's statements, intrinsics resolved to local names.

A function's role is its `Role` property (`Fn::GetAtt [<Role>, Arn]`). Its statements are those of
- the role's inline `Policies`,
- every `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` of the template attached to it (`Roles: [Ref <Role>]`),
- its `ManagedPolicyArns`: a managed policy of the template by `Ref`, or an AWS managed policy this module knows
  (`AWS_MANAGED_POLICIES`); any other is a `TemplateWarning` and grants nothing locally.
The resolver turns `Fn::GetAtt [Bucket, Arn]`, `Ref Secret` (moto's real ARN, with the random suffix), … into the
local resources' ARNs, so the statements compare with the ARNs of the calls (`local.iam.actions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local.iam.policy import Statement, parse_document, unknown_operators
from local.template.resolver import Resolver
from local.template.specs import TemplateModel, TemplateWarning

# AWS managed policies a Lambda role commonly carries; their statements as AWS publishes them.
AWS_MANAGED_POLICIES: Mapping[str, list[dict[str, Any]]] = {
    "service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "service-role/AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
}


@dataclass(frozen=True)
class RolePermissions:
    function: str  # SignBridge name: "api"
    role: str  # logical id of the role ("" when the function has none in the template)
    role_arn: str
    statements: tuple[Statement, ...] = ()


@dataclass
class TemplatePermissions:
    functions: dict[str, RolePermissions] = field(default_factory=dict)  # by SignBridge function name
    warnings: list[TemplateWarning] = field(default_factory=list)


def function_permissions(model: TemplateModel, resolver: Resolver) -> TemplatePermissions:
    result = TemplatePermissions()
    attached = _attached_documents(model)
    for spec in model.functions.values():
        raw_role = (model.resources[spec.logical_id].get("Properties") or {}).get("Role")
        role = _role_logical_id(raw_role, model)
        if role is None:
            result.warnings.append(
                TemplateWarning(
                    "iam-no-role", spec.logical_id, "no execution role in the template: every call is denied"
                )
            )
            result.functions[spec.name] = RolePermissions(spec.name, "", resolver.resolve_str(raw_role))
            continue
        documents: list[tuple[str, Any]] = list(attached.get(role, []))
        properties = model.resources[role].get("Properties") or {}
        for policy in properties.get("Policies") or []:
            documents.append((f"{role}.Policies.{policy.get('PolicyName', '?')}", policy.get("PolicyDocument")))
        for managed in properties.get("ManagedPolicyArns") or []:
            documents.extend(_managed_documents(managed, role, model, resolver, result.warnings))
        if "PermissionsBoundary" in properties:
            result.warnings.append(
                TemplateWarning("iam-not-emulated", role, "PermissionsBoundary is not applied locally")
            )
        statements: list[Statement] = []
        for where, document in documents:
            resolved = resolver.resolve(document, where=where)
            statements.extend(parse_document(resolved if isinstance(resolved, Mapping) else {}))
        for operator in unknown_operators(statements):
            result.warnings.append(
                TemplateWarning("iam-unknown-condition", role, f"condition operator {operator} never matches locally")
            )
        result.functions[spec.name] = RolePermissions(
            spec.name, role, resolver.resolve_str({"Fn::GetAtt": [role, "Arn"]}), tuple(statements)
        )
    return result


def _role_logical_id(raw: Any, model: TemplateModel) -> str | None:
    if isinstance(raw, Mapping):
        getatt = raw.get("Fn::GetAtt")
        if isinstance(getatt, list) and getatt:
            return str(getatt[0]) if str(getatt[0]) in model.resources else None
        if isinstance(getatt, str):
            name = getatt.split(".", 1)[0]
            return name if name in model.resources else None
    return None


def _attached_documents(model: TemplateModel) -> dict[str, list[tuple[str, Any]]]:
    """role logical id -> (where, document) of the template's policies that name it in `Roles`."""
    attached: dict[str, list[tuple[str, Any]]] = {}
    for logical_id, resource in model.resources.items():
        if resource.get("Type") not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        properties = resource.get("Properties") or {}
        for role in properties.get("Roles") or []:
            if isinstance(role, Mapping) and "Ref" in role:
                attached.setdefault(str(role["Ref"]), []).append((logical_id, properties.get("PolicyDocument")))
    return attached


def _managed_documents(
    managed: Any, role: str, model: TemplateModel, resolver: Resolver, warnings: list[TemplateWarning]
) -> list[tuple[str, Any]]:
    if isinstance(managed, Mapping) and "Ref" in managed and str(managed["Ref"]) in model.resources:
        target = model.resources[str(managed["Ref"])]
        if target.get("Type") == "AWS::IAM::ManagedPolicy":
            properties = target.get("Properties") or {}
            if {"Ref": role} in (properties.get("Roles") or []):
                return []  # attached through its own `Roles` already
            return [(str(managed["Ref"]), properties.get("PolicyDocument"))]
    arn = resolver.resolve_str(managed)
    name = arn.split(":policy/", 1)[1] if ":policy/" in arn else arn
    if arn.split(":")[4:5] == ["aws"] and name in AWS_MANAGED_POLICIES:
        return [(f"{role}.ManagedPolicyArns.{name}", {"Statement": AWS_MANAGED_POLICIES[name]})]
    warnings.append(TemplateWarning("iam-unknown-managed-policy", role, f"{arn} is not known locally: grants nothing"))
    return []
