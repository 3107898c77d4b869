"""Where the commands work: a deployed stage, the `SIGNBRIDGE_*` variables, or the running local stack.

In this order: `--stage STAGE` reads the CloudFormation outputs of `SignBridge-STAGE` (they win over variables for
the resource names: a stale variable in the operator's shell must not point a production command at another
table); else the `SIGNBRIDGE_*` variables the functions read, when `SIGNBRIDGE_TABLE_NAME` is set; else the local
stack's state file (`signbridge_cli.local_state`), which also points boto3 at its moto server. Nothing found: a usage
error that names the three ways.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from signbridge import env_names
from signbridge.config import Settings, reset_settings_cache
from signbridge.storage.clients import CLIENT_CONFIG
from signbridge.wiring import AwsServices
from signbridge_cli import local_state
from signbridge_cli.errors import EXIT_USAGE, CommandError

STACK_NAME: Final = "SignBridge-{stage}"
# CloudFormation outputs of the stack (infra/stack.py `_outputs`) and the setting each one gives.
OUTPUT_SETTINGS: Final[Mapping[str, str]] = {
    "TableName": env_names.TABLE_NAME,
    "BucketName": env_names.BUCKET_NAME,
    "ZapSignQueueUrl": env_names.ZAPSIGN_QUEUE_URL,
    "OneShotQueueUrl": env_names.ONESHOT_QUEUE_URL,
    "ZapSignSecretName": env_names.ZAPSIGN_SECRET_NAME,
    "WebhookSecretName": env_names.WEBHOOK_SECRET_NAME,
    "OneShotSecretName": env_names.ONESHOT_SECRET_NAME,
}
WEBHOOK_URL_OUTPUT: Final = "ZapSignWebhookUrl"
API_URL_OUTPUT: Final = "ApiUrl"
LOCAL_CREDENTIALS: Final = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass(frozen=True)
class Target:
    """The SignBridge a command works on."""

    settings: Settings
    source: str  # "stage prod", "SIGNBRIDGE_* variables", "local stack (state file …)"
    outputs: dict[str, str] = field(default_factory=dict)
    webhook_url: str | None = None  # SignBridge's ZapSign webhook URL, when known
    api_url: str | None = None
    aws_endpoint_url: str | None = None  # the local stack's moto; None for AWS itself

    def services(self) -> AwsServices:
        return AwsServices.from_settings(self.settings)


def resolve_target(
    stage: str | None,
    *,
    environ: MutableMapping[str, str] | None = None,
    cloudformation: Any = None,
) -> Target:
    environment = os.environ if environ is None else environ
    if stage:
        outputs = stack_outputs(stage, cloudformation=cloudformation)
        values = dict(environment)
        values[env_names.STAGE] = stage
        values.update({variable: outputs[output] for output, variable in OUTPUT_SETTINGS.items() if output in outputs})
        return Target(
            settings=_settings(values),
            source=f"stage {stage} (stack {STACK_NAME.format(stage=stage)})",
            outputs=outputs,
            webhook_url=outputs.get(WEBHOOK_URL_OUTPUT),
            api_url=outputs.get(API_URL_OUTPUT),
        )
    if environment.get(env_names.TABLE_NAME):
        return Target(settings=_settings(dict(environment)), source="SIGNBRIDGE_* variables")
    path = local_state.state_path(environment)
    state = local_state.read_state(path)
    if state is None:
        raise CommandError(
            "no SignBridge to work on: give --stage STAGE (a deployed stack), set the SIGNBRIDGE_* variables "
            f"({env_names.TABLE_NAME}, …), or start the local stack (`make run` / `signbridge run`; it writes "
            f"{path})",
            EXIT_USAGE,
        )
    # The local stack's moto: this process's boto3 talks to it (fake credentials, the stack's region).
    environment["AWS_ENDPOINT_URL"] = state.aws_endpoint_url
    environment["AWS_DEFAULT_REGION"] = state.region
    for name, value in LOCAL_CREDENTIALS.items():
        environment[name] = value
    environment.pop("AWS_SESSION_TOKEN", None)
    environment.pop("AWS_PROFILE", None)
    reset_settings_cache()
    return Target(
        settings=_settings({**state.environment}),
        source=f"local stack at {state.api_url} (state file {path})",
        webhook_url=state.zapsign_webhook_url,
        api_url=state.api_url,
        aws_endpoint_url=state.aws_endpoint_url,
    )


def stack_outputs(stage: str, *, cloudformation: Any = None) -> dict[str, str]:
    name = STACK_NAME.format(stage=stage)
    client = cloudformation or boto3.client("cloudformation", config=CLIENT_CONFIG)
    try:
        stacks = client.describe_stacks(StackName=name)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        message = (
            error.response.get("Error", {}).get("Message", str(error)) if isinstance(error, ClientError) else error
        )
        raise CommandError(f"stack {name}: {message}", EXIT_USAGE) from None
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}


def _settings(environment: Mapping[str, str]) -> Settings:
    try:
        return Settings.from_environ(environment)
    except ValidationError as error:
        missing = [str(item["loc"][0]) for item in error.errors() if item["type"] == "missing"]
        if missing:
            hint = "give --stage, or set " + ", ".join(_variable_of(name) for name in missing)
            raise CommandError(f"missing configuration: {hint}", EXIT_USAGE) from None
        problems = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
        raise CommandError(f"invalid configuration: {problems}", EXIT_USAGE) from None


def _variable_of(name: str) -> str:
    variable = f"SIGNBRIDGE_{name.upper()}"
    return variable if variable in env_names.ALL else name
