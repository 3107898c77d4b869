"""The seven functions and the worker's event source mappings."""

from __future__ import annotations

import re
from importlib import metadata

import pytest

from infra.constructs.functions import API, POWERTOOLS_LAYER_PARAMETER, POWERTOOLS_VERSION, WORKER_BATCH_SIZE
from signbridge import api_routes, env_names

from .conftest import Synth, function_logical_id, ref

pytestmark = pytest.mark.infra

API_GATEWAY_INTEGRATION_LIMIT_SECONDS = 30
ZAPSIGN_REQUESTS_PER_MINUTE = 500
# The sizing assumption behind MaximumConcurrency: a worker step takes at least half a second.
ZAPSIGN_CALLS_PER_MINUTE_PER_INVOCATION = 120


def _our_functions(synth: Synth) -> dict[str, dict]:
    return {name: synth.props(function_logical_id(name)) for name in api_routes.FUNCTIONS}


def test_every_function_of_api_routes_exists_with_its_handler(synth: Synth) -> None:
    handlers = {f["Properties"]["Handler"] for f in synth.of_type("AWS::Lambda::Function").values()}
    assert {api_routes.handler_path(name) for name in api_routes.FUNCTIONS} <= handlers
    for name, props in _our_functions(synth).items():
        assert props["Handler"] == f"signbridge.handlers.{name}.handler"


def test_functions_share_one_code_asset(synth: Synth) -> None:
    keys = {str(props["Code"]["S3Key"]) for props in _our_functions(synth).values()}
    assert len(keys) == 1


@pytest.mark.parametrize("name", api_routes.FUNCTIONS)
def test_function_runtime_logging_tracing_and_layer(synth: Synth, name: str) -> None:
    props = synth.props(function_logical_id(name))
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "PassThrough" if name == "worker" else "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    log_group = ref(props["LoggingConfig"]["LogGroup"])
    assert synth.props(log_group)["RetentionInDays"] > 0
    (layer,) = props["Layers"]
    parameter = synth.template["Parameters"][ref(layer)]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == POWERTOOLS_LAYER_PARAMETER
    assert parameter["Default"] == f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}"


def test_the_powertools_layer_is_the_release_the_tests_run_with() -> None:
    assert metadata.version("aws-lambda-powertools") == POWERTOOLS_VERSION
    assert "latest" not in POWERTOOLS_LAYER_PARAMETER


def test_api_answers_within_the_api_gateway_integration_limit(synth: Synth) -> None:
    assert synth.props("ApiFunction")["Timeout"] < API_GATEWAY_INTEGRATION_LIMIT_SECONDS
    assert API.timeout.to_seconds() < API_GATEWAY_INTEGRATION_LIMIT_SECONDS


def test_worker_consumes_both_queues_with_partial_batch_failures_and_a_concurrency_cap(synth: Synth) -> None:
    mappings = synth.of_type("AWS::Lambda::EventSourceMapping")
    assert set(mappings) == {"WorkerZapSignEventSourceMapping", "WorkerOneShotEventSourceMapping"}
    sources = {}
    for mapping in mappings.values():
        props = mapping["Properties"]
        assert ref(props["FunctionName"]) == "WorkerFunction"
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BatchSize"] == WORKER_BATCH_SIZE
        assert props["ScalingConfig"]["MaximumConcurrency"] >= 2
        sources[ref(props["EventSourceArn"])] = props["ScalingConfig"]["MaximumConcurrency"]
    assert set(sources) == {"ZapSignQueue", "OneShotQueue"}
    assert sources["ZapSignQueue"] * ZAPSIGN_CALLS_PER_MINUTE_PER_INVOCATION <= ZAPSIGN_REQUESTS_PER_MINUTE


def test_worker_batch_fits_in_the_worker_timeout(synth: Synth) -> None:
    # Each step may take up to ~20 s (a One-Shot sign, a streamed download); a whole batch must fit.
    assert synth.props("WorkerFunction")["Timeout"] >= WORKER_BATCH_SIZE * 20


@pytest.mark.parametrize("name", api_routes.FUNCTIONS)
def test_environment_carries_secret_names_never_secret_values(synth: Synth, name: str) -> None:
    variables = synth.props(function_logical_id(name))["Environment"]["Variables"]
    secrets = {
        logical_id: props["Properties"]["Name"]
        for logical_id, props in synth.of_type("AWS::SecretsManager::Secret").items()
    }
    assert set(variables) <= {*env_names.ALL, "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}
    assert {
        variables[env_names.ZAPSIGN_SECRET_NAME],
        variables[env_names.WEBHOOK_SECRET_NAME],
        variables[env_names.ONESHOT_SECRET_NAME],
        variables[env_names.SIGNER_PAGE_SECRET_NAME],
    } == set(secrets.values())
    for key, value in variables.items():
        rendered = str(value)
        assert "resolve:secretsmanager" not in rendered, key  # no dynamic reference to a secret's value
        assert ref(value) not in secrets, key  # no Ref/GetAtt to a secret (a Ref is its ARN, fine, but not here)
        if isinstance(value, str):
            assert not re.search(r"(?i)(token|password|api_key)\s*[:=]", value), key


@pytest.mark.parametrize("name", api_routes.FUNCTIONS)
def test_environment_has_every_setting_the_functions_require(synth: Synth, name: str) -> None:
    variables = synth.props(function_logical_id(name))["Environment"]["Variables"]
    required = {
        env_names.STAGE,
        env_names.TABLE_NAME,
        env_names.BUCKET_NAME,
        env_names.ZAPSIGN_QUEUE_URL,
        env_names.ONESHOT_QUEUE_URL,
        env_names.ZAPSIGN_BASE_URL,
        env_names.ZAPSIGN_FILE_HOSTS,
        env_names.ONESHOT_BASE_URL,
        env_names.ONESHOT_ENV,
        env_names.API_BASE_URL,
        env_names.ZAPSIGN_SECRET_NAME,
        env_names.WEBHOOK_SECRET_NAME,
        env_names.ONESHOT_SECRET_NAME,
    }
    assert required <= set(variables)
    assert ref(variables[env_names.TABLE_NAME]) == "Table"
    assert ref(variables[env_names.BUCKET_NAME]) == "Bucket"
    assert ref(variables[env_names.ZAPSIGN_QUEUE_URL]) == "ZapSignQueue"
    assert ref(variables[env_names.ONESHOT_QUEUE_URL]) == "OneShotQueue"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "signbridge"
    assert env_names.ALLOW_LOOPBACK_HTTP not in variables  # loopback HTTP is for the local stack only


def test_functions_run_outside_a_vpc_by_default(synth: Synth) -> None:
    assert all("VpcConfig" not in props for props in _our_functions(synth).values())


def test_oneshot_vpc_places_the_functions_that_call_the_optimizer_only(full_synth: Synth) -> None:
    placed = {name for name in api_routes.FUNCTIONS if "VpcConfig" in full_synth.props(function_logical_id(name))}
    assert placed == {"worker", "api", "signer_page"}  # the signing page signs on a code, like the api
    vpc = full_synth.props("WorkerFunction")["VpcConfig"]
    assert vpc == {"SubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"], "SecurityGroupIds": ["sg-0ccc3333"]}
