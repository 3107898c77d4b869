"""Stage settings from CDK context: defaults from cdk.json, validated, typed."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, OneShotVpc, StageConfig, WorkerConcurrency, load_cdk_json_context

pytestmark = pytest.mark.infra


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


def test_prod_retains_stateful_resources() -> None:
    assert _config(stage="prod").retain_stateful


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
        ({"stage": "prod env"}, "'stage'"),
        ({"oneshot_env": "live"}, "'oneshot_env'"),
        ({"zapsign_base_url": "http://insecure.example/"}, "https://"),
        ({"jwt_issuer": "https://issuer.example/"}, "go together"),
        ({"worker_max_concurrency": {"zapsign": 1, "oneshot": 5}}, ">= 2"),
        ({"oneshot_vpc": {"subnet_ids": ["subnet-1"]}}, "security_group_ids"),
        ({"raw_retention_days": 0}, ">= 1"),
        ({"zapsign_file_hosts": []}, "'zapsign_file_hosts'"),
    ],
)
def test_bad_context_is_rejected_with_the_key_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(**overrides)
