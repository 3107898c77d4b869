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
    "EvidenceKeyArn",
    "EvidenceKeyAlias",
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
    assert (ref(outputs["EvidenceKeyArn"]) or "").startswith("EvidenceKey")
    assert outputs["EvidenceKeyAlias"] == "alias/signbridge-dev-evidence"


def test_the_evidence_key_signs_with_ecdsa_p256_and_only_the_worker_may_use_it(synth: Synth) -> None:
    (key,) = synth.of_type("AWS::KMS::Key").values()
    assert key["Properties"]["KeySpec"] == "ECC_NIST_P256"
    assert key["Properties"]["KeyUsage"] == "SIGN_VERIFY"
    (alias,) = synth.of_type("AWS::KMS::Alias").values()
    assert alias["Properties"]["AliasName"] == "alias/signbridge-dev-evidence"
    # Which roles' policies name a KMS action, and which actions
    granted: dict[str, set[str]] = {}
    for policy in synth.of_type("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            kms_actions = {action for action in actions if action.startswith("kms:")}
            if kms_actions:
                for role in policy["Properties"]["Roles"]:
                    granted.setdefault(ref(role), set()).update(kms_actions)
    assert len(granted) == 1
    ((role, actions),) = granted.items()
    assert "Worker" in role
    assert actions == {"kms:Sign", "kms:GetPublicKey"}


def test_secret_names_are_stable_per_stage(full_synth: Synth) -> None:
    names = {props["Properties"]["Name"] for props in full_synth.of_type("AWS::SecretsManager::Secret").values()}
    assert names == {
        "signbridge/prod/zapsign",
        "signbridge/prod/webhook",
        "signbridge/prod/oneshot",
        "signbridge/prod/signer-page",
    }
