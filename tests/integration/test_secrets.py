"""Secrets from a real moto Secrets Manager, through Powertools Parameters: typed, cached, never printed."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from signbridge.config import Settings
from signbridge.domain.credentials import OneShotCredentials
from signbridge.domain.errors import SecretMalformedError, SecretUnavailableError
from signbridge.storage.secrets import SecretStore
from signbridge.wiring import AwsServices
from tests.conftest import SecretNames
from tests.support.aws import SAMPLE_ONESHOT_SECRET, create_secret, unique_name


def store_for(secretsmanager_client: Any, **names: str) -> SecretStore:
    return SecretStore(
        zapsign_secret_name=names.get("zapsign", "unused"),
        webhook_secret_name=names.get("webhook", "unused"),
        oneshot_secret_name=names.get("oneshot", "unused"),
        max_age_seconds=300,
        provider=SecretsProvider(boto3_client=secretsmanager_client),
    )


def test_the_three_secrets_are_read_typed(secret_store: SecretStore) -> None:
    # Given the sample secrets
    # When they are read
    zapsign = secret_store.zapsign()
    webhooks = secret_store.webhooks()
    oneshot = secret_store.oneshot()
    # Then each value is available to the code that needs it
    assert zapsign.api_token.get_secret_value() == "zapsign-test-token"
    assert webhooks.accepted_zapsign() == ("zapsign-hook-current", "zapsign-hook-previous")
    assert webhooks.accepted_oneshot() == ("oneshot-hook-current",)  # no previous secret: only the current one
    # (the One-Shot secret is read straight into the provider's credentials, the fields the Optimizer takes)
    assert isinstance(oneshot, OneShotCredentials)
    assert dict(oneshot.body_fields()) == {
        "token": SAMPLE_ONESHOT_SECRET["token"],
        "billing_username": SAMPLE_ONESHOT_SECRET["billing_username"],
        "billing_password": SAMPLE_ONESHOT_SECRET["billing_password"],
    }
    assert (oneshot.registration_authority, oneshot.profile) == ("139", "PFnubeQAFCiudadano")


def test_secret_values_do_not_show_when_printed(secret_store: SecretStore) -> None:
    # Given the three secrets
    # When printed (a log line, a traceback)
    # Then no value appears
    printed = repr(secret_store.zapsign()) + str(secret_store.webhooks()) + repr(secret_store.oneshot())
    for value in ("zapsign-test-token", "zapsign-hook-current", SAMPLE_ONESHOT_SECRET["token"], "YmlsbGluZy1w"):
        assert value not in printed


def test_rao_credentials_may_be_username_password_and_pin(secretsmanager_client: Any) -> None:
    # Given a One-Shot secret with username, password and PIN instead of a token
    # When read
    # Then those are the RAO fields
    name = create_secret(
        secretsmanager_client,
        unique_name("oneshot"),
        {k: v for k, v in SAMPLE_ONESHOT_SECRET.items() if k != "token"}
        | {"username": "u", "password": "p", "pin": "1"},
    )
    fields = dict(store_for(secretsmanager_client, oneshot=name).oneshot().body_fields())
    assert {name: fields[name] for name in ("username", "password", "pin")} == {
        "username": "u",
        "password": "p",
        "pin": "1",
    }
    assert "token" not in fields


def test_one_shot_defaults_may_be_preset_on_the_optimizer(secretsmanager_client: Any) -> None:
    # Given a One-Shot secret with only the RAO token (billing, authority and profile preset on the Optimizer)
    name = create_secret(secretsmanager_client, unique_name("oneshot"), {"token": SAMPLE_ONESHOT_SECRET["token"]})
    # When read
    oneshot = store_for(secretsmanager_client, oneshot=name).oneshot()
    # Then only the token is sent, and nothing else is made up
    assert dict(oneshot.body_fields()) == {"token": SAMPLE_ONESHOT_SECRET["token"]}
    assert (oneshot.registration_authority, oneshot.profile) == (None, None)


@pytest.mark.parametrize(
    "overrides",
    [
        {"token": ""},  # an unfilled placeholder
        {"profile": " "},
        {"billing_password": "not base64!"},
        {"billing_password": None, "billing_username": "only-the-user"},
    ],
)
def test_a_one_shot_secret_with_an_empty_or_malformed_value_is_refused(
    secretsmanager_client: Any, overrides: dict[str, Any]
) -> None:
    # Given a One-Shot secret with an empty value, a billing password that is not Base64, or half the billing pair
    document = {key: value for key, value in (SAMPLE_ONESHOT_SECRET | overrides).items() if value is not None}
    name = create_secret(secretsmanager_client, unique_name("oneshot"), document)
    # When read, Then it is refused without echoing the value
    with pytest.raises(SecretMalformedError) as malformed:
        store_for(secretsmanager_client, oneshot=name).oneshot()
    assert "not base64!" not in str(malformed.value)


def test_values_are_cached_for_max_age(
    secret_store: SecretStore, secrets: SecretNames, secretsmanager_client: Any
) -> None:
    # Given a secret read once
    assert secret_store.zapsign().api_token.get_secret_value() == "zapsign-test-token"
    calls: list[int] = []
    secretsmanager_client.meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **_: calls.append(1)
    )
    # When it is rotated and read again within max_age
    secretsmanager_client.put_secret_value(SecretId=secrets.zapsign, SecretString='{"api_token": "rotated"}')
    # Then the cached value serves, without a call
    assert secret_store.zapsign().api_token.get_secret_value() == "zapsign-test-token"
    assert calls == []
    # (and the hook does see calls: a direct read counts)
    secretsmanager_client.get_secret_value(SecretId=secrets.zapsign)
    assert calls == [1]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json at all", "not a JSON document"),
        ('{"api_tokn": "typo-value"}', "api_token: Field required"),
        ('{"api_token": ""}', "api_token: Value error, must not be empty"),
    ],
)
def test_a_malformed_secret_names_the_field_never_the_value(
    secretsmanager_client: Any, content: str, problem: str
) -> None:
    # Given a secret that is not JSON, misses a field or has an empty one
    # When read
    # Then the error names the secret and the field, not the value
    name = create_secret(secretsmanager_client, unique_name("zapsign"), content)
    with pytest.raises(SecretMalformedError) as malformed:
        store_for(secretsmanager_client, zapsign=name).zapsign()
    assert problem in str(malformed.value)
    assert "typo-value" not in str(malformed.value)
    assert name in str(malformed.value)


@pytest.mark.parametrize(
    "document",
    [
        {"zapsign": ["", "previous"], "oneshot": ["current"]},  # the current one empty
        {"zapsign": ["a", "b", "c"], "oneshot": ["current"]},  # more than two
        {"zapsign": ["current"]},  # a provider missing
    ],
)
def test_webhook_secrets_need_a_current_value_and_at_most_two(secretsmanager_client: Any, document: dict) -> None:
    # Given webhook secrets without a current value, with three values, or missing a provider
    # When read
    # Then they are refused
    name = create_secret(secretsmanager_client, unique_name("webhooks"), document)
    with pytest.raises(SecretMalformedError):
        store_for(secretsmanager_client, webhook=name).webhooks()


def test_one_shot_needs_a_token_or_the_three_rao_credentials(secretsmanager_client: Any) -> None:
    # Given a One-Shot secret without a token and without a PIN
    # When read
    # Then it is refused, saying what is needed
    document = {k: v for k, v in SAMPLE_ONESHOT_SECRET.items() if k != "token"} | {"username": "u", "password": "p"}
    name = create_secret(secretsmanager_client, unique_name("oneshot"), document)
    with pytest.raises(SecretMalformedError, match="token, or username, password and pin"):
        store_for(secretsmanager_client, oneshot=name).oneshot()


def test_a_missing_secret_is_unavailable(secretsmanager_client: Any) -> None:
    # Given a secret name that does not exist
    # When read
    # Then SecretUnavailableError names it
    with pytest.raises(SecretUnavailableError, match="signbridge/none"):
        store_for(secretsmanager_client, zapsign="signbridge/none").zapsign()


def test_from_settings_reads_through_the_shared_powertools_cache(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the settings of a deployed function (names from the environment, default provider)
    caplog.set_level(logging.INFO)
    store = SecretStore.from_settings()
    # When a secret is read
    token = store.zapsign().api_token.get_secret_value()
    # Then it is the stored one, and no log line carries it
    assert token == "zapsign-test-token"
    assert "zapsign-test-token" not in caplog.text


def test_a_rotated_one_shot_secret_gives_a_client_with_the_new_credentials(
    settings: Settings, secrets: SecretNames, secretsmanager_client: Any
) -> None:
    # Given services whose One-Shot client was made from the current secret (read without caching)
    uncached = SecretStore(
        zapsign_secret_name=secrets.zapsign,
        webhook_secret_name=secrets.webhook,
        oneshot_secret_name=secrets.oneshot,
        max_age_seconds=0,
        provider=SecretsProvider(boto3_client=secretsmanager_client),
    )
    services = AwsServices.from_settings(settings)
    services.secrets = uncached
    first = services.oneshot()
    assert services.oneshot() is first  # unchanged secret: the same client (and its pooled session)
    # When the RAO token is rotated
    rotated = dict(SAMPLE_ONESHOT_SECRET) | {"token": "4c0ffee0-0000-4000-8000-000000000001"}
    secretsmanager_client.put_secret_value(SecretId=secrets.oneshot, SecretString=json.dumps(rotated))
    # Then the next client carries the new token (a dump of SecretStr values would have hidden the change)
    second = services.oneshot()
    assert second is not first
    assert dict(second.credentials.body_fields())["token"] == rotated["token"]
