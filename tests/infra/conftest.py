"""Synthesize the CDK app once per test session (a synth takes several seconds) and share the template.

Bundling is skipped (`aws:cdk:bundling-stacks = []`): these tests read the template, not the asset. The context is
cdk.json's block, so the tests see the same feature flags and defaults as `make synth` and `cdk deploy`. cdk-nag
runs as in every synth: an unacknowledged finding makes the fixture itself fail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.node import prefer_supported_node

prefer_supported_node()  # Node 22+ for jsii, before aws_cdk is imported

from aws_cdk.assertions import Template  # noqa: E402

from infra.config import load_cdk_json_context  # noqa: E402
from infra.stack import build_app  # noqa: E402

SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}

# Every optional setting switched on, in the prod stage: the one extra synth the suite pays for.
FULL_OPTIONS = {
    "stage": "prod",
    "oneshot_base_url": "https://optimizer.signbridge-operator.net/oneshot/api/v1/",
    "jwt_issuer": "https://auth.example.com/",
    "jwt_audience": ["signbridge-api"],
    "alarm_email": "ops@example.com",
    "cors_origins": ["https://app.example.com"],
    "oneshot_vpc": {"subnet_ids": ["subnet-0aaa1111", "subnet-0bbb2222"], "security_group_ids": ["sg-0ccc3333"]},
}


@dataclass(frozen=True)
class Synth:
    stage: str
    outdir: Path
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: value for key, value in self.resources.items() if value["Type"] == resource_type}

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id]["Properties"]

    def assertions(self) -> Template:
        return Template.from_json(self.template)

    @property
    def template_path(self) -> Path:
        return self.outdir / f"SignBridge-{self.stage}.template.json"


def synthesize(outdir: Path, overrides: Mapping[str, Any] | None = None) -> Synth:
    context = {**load_cdk_json_context(), **SKIP_BUNDLING, **(overrides or {})}
    app = build_app(context, outdir=str(outdir))
    app.synth()
    stage = context["stage"]
    template = json.loads((outdir / f"SignBridge-{stage}.template.json").read_text(encoding="utf-8"))
    return Synth(stage=stage, outdir=outdir, template=template)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The default stage (dev) with cdk.json's defaults."""
    return synthesize(tmp_path_factory.mktemp("cdk-default"))


@pytest.fixture(scope="session")
def full_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """prod, with JWT, alarm e-mail, CORS and the One-Shot VPC all configured."""
    return synthesize(tmp_path_factory.mktemp("cdk-full"), FULL_OPTIONS)


def function_logical_id(name: str, suffix: str = "Function") -> str:
    """The pinned logical id of a function's resource: `zapsign_webhook` -> `ZapsignWebhookFunction` (or `...Role`)."""
    return "".join(part.capitalize() for part in name.split("_")) + suffix


def ref(value: Any) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt` points to, else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None
