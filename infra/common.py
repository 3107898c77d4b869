"""Small helpers every construct uses: pinned logical ids and cdk-nag acknowledgements with a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct

NAG_PACK = "AwsSolutions"


def pin_logical_id(construct: IConstruct, logical_id: str) -> None:
    """Pin a resource's logical id: refactoring the construct tree never replaces it, and the local stack and the
    docs can name it. `construct` is an L2 (its default child is pinned) or an L1."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to pin")
    resource.override_logical_id(logical_id)


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on one construct (and its children), with the reason it is acceptable.

    `rule` is the rule id without the pack prefix, optionally with the finding, e.g. `IAM5[Resource::*]`.
    """
    if len(reason) < 40:
        raise ValueError(f"acknowledging {rule} needs a real reason, got {reason!r}")
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{NAG_PACK}-{rule}", reason=reason))


def pascal_case(name: str) -> str:
    """`zapsign_webhook` -> `ZapsignWebhook`: the prefix of the logical ids derived from a function name."""
    return "".join(part.capitalize() for part in name.split("_"))
