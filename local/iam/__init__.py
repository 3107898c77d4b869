"""IAM on the local stack: each function's AWS calls are checked against its role in the synthesized template.

- `policy`: a small policy evaluator (Allow/Deny, Action/NotAction, Resource/NotResource wildcards, conditions).
- `actions`: which IAM actions on which resource ARNs an API call needs (S3, DynamoDB, SQS, Secrets Manager, KMS).
- `roles`: each function's statements as synthesized, resolved to the local resources' ARNs.
- `enforcer`: the botocore hook that answers a refused call with the service's AccessDenied error.

`enforcer_for(model, names, ...)` builds the enforcer of a template; `event_source_mapping_errors` is the check
`CreateEventSourceMapping` makes on AWS (the role must let Lambda read the queue).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from local.iam.actions import Arns
from local.iam.enforcer import Denial, IamEnforcer, active_enforcer
from local.iam.policy import AuthRequest, evaluate
from local.iam.roles import RolePermissions, function_permissions
from local.template.names import LocalNames
from local.template.resolver import Resolver
from local.template.specs import TemplateModel, TemplateWarning

# What Lambda's SQS poller does with the function's role; CreateEventSourceMapping refuses a role without them.
EVENT_SOURCE_MAPPING_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


class IamError(RuntimeError):
    """The template cannot be deployed as it is: a role lacks what AWS checks at deployment."""


def enforcer_for(
    model: TemplateModel,
    names: LocalNames,
    *,
    current_function: Callable[[], str | None],
    function_names: Mapping[str, str] | None = None,
) -> tuple[IamEnforcer, list[TemplateWarning]]:
    """The enforcer of the template's roles (call after provisioning: secrets' ARNs carry moto's random suffix)."""
    permissions = function_permissions(model, Resolver(model, names))
    ident = names.identity
    secrets = {
        names.physical(logical_id).attributes["Name"]: names.physical(logical_id).ref for logical_id in model.secrets
    }
    arns = Arns(region=ident.region, account_id=ident.account_id, partition=ident.partition, secrets=secrets)
    enforcer = IamEnforcer(
        permissions.functions, arns, current_function=current_function, function_names=function_names
    )
    return enforcer, permissions.warnings


def event_source_mapping_errors(
    model: TemplateModel, names: LocalNames, permissions: Mapping[str, RolePermissions]
) -> list[str]:
    """What AWS would refuse when creating the template's SQS event source mappings."""
    errors: list[str] = []
    for mapping in model.event_source_mappings:
        function = model.functions[mapping.function].name
        role = permissions.get(function)
        queue_arn = names.physical(mapping.queue).attributes["Arn"]
        for action in EVENT_SOURCE_MAPPING_ACTIONS:
            if role is None or not evaluate(role.statements, AuthRequest(action, queue_arn)).allowed:
                errors.append(
                    f"{mapping.logical_id}: the provided execution role of {function} does not have permissions to "
                    f"call {action.split(':')[1]} on SQS ({queue_arn})"
                )
    return errors


__all__ = [
    "EVENT_SOURCE_MAPPING_ACTIONS",
    "Arns",
    "Denial",
    "IamEnforcer",
    "IamError",
    "active_enforcer",
    "enforcer_for",
    "event_source_mapping_errors",
]
