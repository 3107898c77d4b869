"""The placeholder secrets: stable names, the shapes the functions read, and never usable as they are."""

from __future__ import annotations

import json

import pytest

from infra.constructs.secrets import ONESHOT, PLACEHOLDERS, WEBHOOK, ZAPSIGN

from .conftest import Synth

pytestmark = pytest.mark.infra


def test_each_secret_starts_as_its_placeholder(synth: Synth) -> None:
    secrets = {
        props["Properties"]["Name"]: props["Properties"]
        for props in synth.of_type("AWS::SecretsManager::Secret").values()
    }
    for purpose, placeholder in PLACEHOLDERS.items():
        secret = secrets[f"signbridge/dev/{purpose}"]
        assert json.loads(secret["SecretString"]) == placeholder
        assert "GenerateSecretString" not in secret


def test_placeholders_use_the_fields_the_functions_read_and_fail_their_validation() -> None:
    credentials = pytest.importorskip("signbridge.domain.credentials")
    models = {
        ZAPSIGN: credentials.ZapSignCredentials,
        WEBHOOK: credentials.WebhookSecrets,
        ONESHOT: credentials.OneShotCredentials,  # the One-Shot secret is stored in the provider's credential shape
    }
    for purpose, model in models.items():
        placeholder = PLACEHOLDERS[purpose]
        assert set(placeholder) <= set(model.model_fields), purpose
        with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError
            model.model_validate(placeholder)
