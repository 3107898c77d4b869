"""Settings: read once from the environment, validated, and never carrying secret values."""

import pytest
from pydantic import ValidationError

from signbridge import env_names
from signbridge.config import DEFAULT_ZAPSIGN_FILE_HOSTS, PRESIGN_TTL_MAX_SECONDS, Settings

REQUIRED = {
    env_names.TABLE_NAME: "signbridge-dev",
    env_names.BUCKET_NAME: "signbridge-dev-files",
    env_names.ZAPSIGN_QUEUE_URL: "https://sqs.example/zapsign-ops.fifo",
    env_names.ONESHOT_QUEUE_URL: "https://sqs.example/oneshot-ops.fifo",
    env_names.ZAPSIGN_SECRET_NAME: "signbridge/dev/zapsign",
    env_names.WEBHOOK_SECRET_NAME: "signbridge/dev/webhooks",
    env_names.ONESHOT_SECRET_NAME: "signbridge/dev/oneshot",
}


def test_defaults_apply_when_only_required_names_are_set() -> None:
    # Given only the required variables
    # When the settings are read
    settings = Settings.from_environ(REQUIRED)
    # Then the documented defaults apply
    assert settings.zapsign_file_hosts == DEFAULT_ZAPSIGN_FILE_HOSTS
    assert settings.presign_ttl_seconds == 600
    assert settings.allow_loopback_http is False
    assert settings.max_file_bytes == 50 * 1024 * 1024


def test_host_allowlist_is_split_and_lower_cased() -> None:
    settings = Settings.from_environ({**REQUIRED, env_names.ZAPSIGN_FILE_HOSTS: " A.example.com, b.example.com ,"})
    assert settings.zapsign_file_hosts == ("a.example.com", "b.example.com")


def test_empty_values_fall_back_to_defaults() -> None:
    settings = Settings.from_environ({**REQUIRED, env_names.ONESHOT_ENV: ""})
    assert settings.oneshot_env == "sandbox"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (env_names.PRESIGN_TTL_SECONDS, str(PRESIGN_TTL_MAX_SECONDS + 1)),
        (env_names.MAX_FILE_BYTES, "0"),
        (env_names.ONESHOT_ENV, "staging"),
        (env_names.ALLOW_LOOPBACK_HTTP, "perhaps"),
    ],
)
def test_invalid_values_are_refused_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(ValidationError) as error:
        Settings.from_environ({**REQUIRED, name: value})
    field = {
        env_names.PRESIGN_TTL_SECONDS: "presign_ttl_seconds",
        env_names.MAX_FILE_BYTES: "max_file_bytes",
        env_names.ONESHOT_ENV: "oneshot_env",
        env_names.ALLOW_LOOPBACK_HTTP: "allow_loopback_http",
    }[name]
    assert field in str(error.value)


def test_a_missing_required_name_is_reported() -> None:
    environ = dict(REQUIRED)
    del environ[env_names.TABLE_NAME]
    with pytest.raises(ValidationError, match="table_name"):
        Settings.from_environ(environ)


def test_every_env_name_is_unique_and_prefixed() -> None:
    assert len(set(env_names.ALL)) == len(env_names.ALL)
    assert all(name.startswith("SIGNBRIDGE_") for name in env_names.ALL)


def test_the_verification_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_environ(
        {
            **REQUIRED,
            env_names.TRUST_ANCHORS_KEY: "config/trust-anchors.pem",
            env_names.ACCEPT_INDETERMINATE: "TRY_LATER, NO_POE",
        }
    )
    assert settings.trust_anchors_key == "config/trust-anchors.pem"
    assert settings.trust_anchors_file is None
    assert settings.accept_indeterminate == ("TRY_LATER", "NO_POE")
    assert settings.tsa_url is None


def test_a_tsa_url_is_read_from_the_environment_and_carries_no_credentials() -> None:
    settings = Settings.from_environ({**REQUIRED, env_names.TSA_URL: "https://tsa.example/tsr"})
    assert settings.tsa_url == "https://tsa.example/tsr"
    for bad in ("https://user:secret@tsa.example/tsr", "ftp://tsa.example/", "tsa.example"):
        with pytest.raises(ValidationError, match="tsa_url"):
            Settings.from_environ({**REQUIRED, env_names.TSA_URL: bad})
