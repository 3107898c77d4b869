"""Stage settings: one typed configuration per stage (stages/<stage>.json + context), validated at synth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import (
    SANDBOX_ONESHOT_URL,
    STAGES_DIR,
    ConfigError,
    OneShotVpc,
    StageConfig,
    WorkerConcurrency,
    load_cdk_json_context,
)
from infra.stack import build_app

from .conftest import SKIP_BUNDLING

pytestmark = pytest.mark.infra

PRODUCTION_OPTIMIZER = "https://optimizer.signbridge-operator.net/oneshot/api/v1/"
# What an operator fills in stages/prod.json before the first deploy.
PROD_FILLED_IN = {"oneshot_base_url": PRODUCTION_OPTIMIZER, "alarm_email": "ops@signbridge-operator.net"}


def _config(**overrides: Any) -> StageConfig:
    return StageConfig.from_mapping({**load_cdk_json_context(), **overrides})


def test_cdk_json_defaults_give_a_dev_stage_with_iam_auth_and_no_optional_features() -> None:
    config = _config()
    assert config.stack_name == "SignBridge-dev"
    assert not config.is_prod
    assert not config.retain_stateful
    assert not config.uses_jwt
    assert config.alarm_email is None
    assert config.cors_origins == ()
    assert config.oneshot_vpc is None
    assert config.oneshot_env == "sandbox"
    assert config.zapsign_base_url.startswith("https://")
    assert config.worker_max_concurrency == WorkerConcurrency(zapsign=4, oneshot=5)


def test_cdk_json_names_only_the_stage_and_cdk_feature_flags() -> None:
    """Settings live in the stage files: a value left in cdk.json would silently apply to every stage."""
    context = load_cdk_json_context()
    assert context["stage"] == "dev"
    settings = set(StageConfig.model_fields) & set(context)
    assert settings == {"stage"}


def test_every_stage_file_holds_only_known_settings() -> None:
    files = sorted(STAGES_DIR.glob("*.json"))
    assert {path.stem for path in files} >= {"dev", "prod"}
    for path in files:
        unknown = set(json.loads(path.read_text(encoding="utf-8"))) - set(StageConfig.model_fields)
        assert not unknown, (path.name, unknown)


def test_prod_filled_in_retains_data_and_signs_in_production() -> None:
    config = _config(stage="prod", **PROD_FILLED_IN)
    assert config.is_prod
    assert config.retain_stateful
    assert config.oneshot_env == "prod"
    assert config.zapsign_base_url == "https://api.zapsign.com.br/api/v1/"
    assert config.oneshot_base_url == PRODUCTION_OPTIMIZER
    assert config.alarm_email == "ops@signbridge-operator.net"


def test_prod_as_committed_is_refused_until_the_operator_fills_it_in() -> None:
    with pytest.raises(ConfigError) as refused:
        _config(stage="prod")
    message = str(refused.value)
    assert "stages/prod.json" in message
    assert "oneshot_base_url" in message
    assert "placeholder" in message
    assert "alarm_email is empty" in message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"oneshot_base_url": SANDBOX_ONESHOT_URL}, "test/sandbox endpoint"),
        ({"oneshot_base_url": "https://one-shot.developers.uanataca.com/api/v1/"}, "test/sandbox endpoint"),
        ({"zapsign_base_url": "https://sandbox.api.zapsign.com.br/api/v1/"}, "zapsign_base_url"),
        ({"oneshot_base_url": "https://optimizer.example.com/oneshot/api/v1/"}, "placeholder"),
        ({"alarm_email": ""}, "alarm_email is empty"),
        ({"retain_data": False}, "retain_data is false"),
        ({"oneshot_env": "sandbox"}, "oneshot_env is 'sandbox'"),
    ],
)
def test_prod_refuses_each_mistake_with_a_clear_message(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        _config(stage="prod", **{**PROD_FILLED_IN, **overrides})
    assert "stage 'prod'" in str(refused.value)


def test_the_documented_two_line_mistake_fails_the_synth() -> None:
    """`-c stage=prod -c oneshot_env=prod` without the Optimizer URL and the alarm e-mail (docs/deploy.md's old
    PROD_ARGS cut by make at its newline): refused, never a prod stack on the public test Optimizer."""
    with pytest.raises(ConfigError, match="oneshot_base_url"):
        build_app({**load_cdk_json_context(), **SKIP_BUNDLING, "stage": "prod", "oneshot_env": "prod"})


def test_prod_needs_its_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs its settings file"):
        StageConfig.from_mapping({"stage": "prod"}, stages_dir=tmp_path)


def test_another_stage_without_a_file_takes_the_sandbox_defaults(tmp_path: Path) -> None:
    config = StageConfig.from_mapping({"stage": "feature-x"}, stages_dir=tmp_path)
    assert config.oneshot_base_url == SANDBOX_ONESHOT_URL
    assert not config.retain_stateful


def test_a_typo_in_a_stage_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "qa.json").write_text(json.dumps({"alarm_emial": "ops@x.org"}), encoding="utf-8")
    with pytest.raises(ConfigError, match="alarm_emial"):
        StageConfig.from_mapping({"stage": "qa"}, stages_dir=tmp_path)


def test_command_line_strings_are_accepted_for_lists_and_objects() -> None:
    config = _config(
        jwt_issuer="https://issuer.example/",
        jwt_audience="a,b",
        cors_origins="https://x.example",
        oneshot_vpc='{"subnet_ids": ["subnet-1"], "security_group_ids": ["sg-1"]}',
        worker_max_concurrency='{"zapsign": 2, "oneshot": 3}',
        raw_retention_days="30",
    )
    assert config.uses_jwt
    assert config.jwt_audience == ("a", "b")
    assert config.cors_origins == ("https://x.example",)
    assert config.oneshot_vpc == OneShotVpc(subnet_ids=("subnet-1",), security_group_ids=("sg-1",))
    assert config.worker_max_concurrency == WorkerConcurrency(zapsign=2, oneshot=3)
    assert config.raw_retention_days == 30


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"stage": ""}, "'stage' is required"),
        ({"stage": "prod env"}, "stage"),
        ({"oneshot_env": "live"}, "oneshot_env"),
        ({"zapsign_base_url": "http://insecure.example/"}, "https://"),
        ({"jwt_issuer": "https://issuer.example/"}, "go together"),
        ({"worker_max_concurrency": {"zapsign": 1, "oneshot": 5}}, "greater than or equal to 2"),
        ({"oneshot_vpc": {"subnet_ids": ["subnet-1"]}}, "security_group_ids"),
        ({"raw_retention_days": 0}, "greater than or equal to 1"),
        ({"zapsign_file_hosts": []}, "zapsign_file_hosts"),
        ({"alarm_email": "not-an-address"}, "e-mail"),
        ({"accept_indeterminate": "TRY_LATER,HASH_FAILURE"}, "unknown INDETERMINATE sub-indication"),
        ({"trust_anchors_key": "signed/anchors.pem"}, "trust_anchors_key"),
        ({"tsa_url": "http://tsa.example/"}, "https://"),
    ],
)
def test_bad_context_is_rejected_with_the_key_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(**overrides)


def test_verification_settings_reach_every_function_as_the_settings_read_them() -> None:
    # Given a stage that accepts revocation information arriving late, its anchors at the default key
    config = _config(accept_indeterminate="TRY_LATER")
    # Then the worker's settings read the same values from the environment the stack gives it
    assert config.trust_anchors_key == "config/trust-anchors.pem"
    assert config.accept_indeterminate == ("TRY_LATER",)


def test_a_tsa_is_optional_and_https() -> None:
    assert _config(tsa_url="https://tsa.example/tsr").tsa_url == "https://tsa.example/tsr"
    assert _config().tsa_url is None
