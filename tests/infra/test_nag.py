"""cdk-nag (AwsSolutions) runs in every synth and fails it on an unacknowledged finding."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks

from infra.common import acknowledge

from .conftest import Synth

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("synth_name", ["synth", "full_synth"])
def test_synth_passed_cdk_nag(synth_name: str, request: pytest.FixtureRequest) -> None:
    synth: Synth = request.getfixturevalue(synth_name)  # the fixture would have raised on a finding
    report = json.loads((synth.outdir / "validation-report.json").read_text(encoding="utf-8"))
    failures = [plugin for plugin in report["pluginReports"] if plugin.get("conclusion") == "failure"]
    assert failures == []


def test_an_unacknowledged_finding_fails_the_synth(tmp_path) -> None:
    # Given a throwaway app with a queue that breaks AwsSolutions-SQS3 (no DLQ) and -SQS4 (no TLS enforcement)
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "NonCompliant")
    sqs.Queue(stack, "Queue")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # When it is synthesized, Then the synth fails and the report names the rules
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text(encoding="utf-8")
    assert "AwsSolutions-SQS3" in report
    assert "AwsSolutions-SQS4" in report


def test_an_acknowledgement_needs_a_reason() -> None:
    app = App()
    queue = sqs.Queue(Stack(app, "S"), "Queue")
    with pytest.raises(ValueError, match="real reason"):
        acknowledge(queue, "SQS3", "because")
