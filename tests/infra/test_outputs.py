"""Stack outputs with stable keys: the CLI, the docs and the operator rely on them."""

from __future__ import annotations

import pytest

from .conftest import Synth, ref

pytestmark = pytest.mark.infra

OUTPUTS = {
    "ApiUrl",
    "ZapSignWebhookUrl",
    "BucketName",
    "TableName",
    "ZapSignQueueUrl",
    "OneShotQueueUrl",
    "ZapSignDeadLetterQueueUrl",
    "OneShotDeadLetterQueueUrl",
    "ZapSignSecretName",
    "WebhookSecretName",
    "OneShotSecretName",
    "SignerPageSecretName",
    "DashboardName",
}


def test_every_output_exists(synth: Synth) -> None:
    assert set(synth.template["Outputs"]) == OUTPUTS


def test_outputs_point_at_the_resources(synth: Synth) -> None:
    outputs = {key: value["Value"] for key, value in synth.template["Outputs"].items()}
    assert ref(outputs["BucketName"]) == "Bucket"
    assert ref(outputs["TableName"]) == "Table"
    assert ref(outputs["ZapSignQueueUrl"]) == "ZapSignQueue"
    assert ref(outputs["OneShotQueueUrl"]) == "OneShotQueue"
    assert outputs["ZapSignSecretName"] == "signbridge/dev/zapsign"
    assert outputs["WebhookSecretName"] == "signbridge/dev/webhook"
    assert outputs["OneShotSecretName"] == "signbridge/dev/oneshot"
    assert outputs["SignerPageSecretName"] == "signbridge/dev/signer-page"
    parts = outputs["ZapSignWebhookUrl"]["Fn::Join"][1]
    assert parts[-1].endswith("/webhooks/zapsign")


def test_secret_names_are_stable_per_stage(full_synth: Synth) -> None:
    names = {props["Properties"]["Name"] for props in full_synth.of_type("AWS::SecretsManager::Secret").values()}
    assert names == {
        "signbridge/prod/zapsign",
        "signbridge/prod/webhook",
        "signbridge/prod/oneshot",
        "signbridge/prod/signer-page",
    }
