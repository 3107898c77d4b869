"""Where the commands find SignBridge: the CloudFormation outputs of `SignBridge-{stage}`, or the `SIGNBRIDGE_*`
environment variables the functions read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

import boto3
from botocore.exceptions import ClientError
from pydantic import ValidationError

from signbridge import env_names
from signbridge.config import Settings
from signbridge.storage.clients import CLIENT_CONFIG
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


def resolve_settings(
    stage: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    cloudformation: Any = None,
) -> tuple[Settings, dict[str, str]]:
    """The settings to work with, and the stack's outputs (empty without `--stage`).

    With a stage, the stack's outputs give the resource names (they win over variables for those: a stale variable in
    the operator's shell must not point a production command at another table); the `SIGNBRIDGE_*` variables give
    the rest. Without one, the variables give everything.
    """
    environment = dict(os.environ if environ is None else environ)
    outputs: dict[str, str] = {}
    if stage:
        outputs = stack_outputs(stage, cloudformation=cloudformation)
        environment[env_names.STAGE] = stage
        for output, variable in OUTPUT_SETTINGS.items():
            if output in outputs:
                environment[variable] = outputs[output]
    try:
        return Settings.from_environ(environment), outputs
    except ValidationError as error:
        missing = [str(item["loc"][0]) for item in error.errors() if item["type"] == "missing"]
        if missing:
            hint = "give --stage, or set " + ", ".join(_variable_of(field) for field in missing)
            raise CommandError(f"missing configuration: {hint}", EXIT_USAGE) from None
        problems = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
        raise CommandError(f"invalid configuration: {problems}", EXIT_USAGE) from None


def stack_outputs(stage: str, *, cloudformation: Any = None) -> dict[str, str]:
    name = STACK_NAME.format(stage=stage)
    client = cloudformation or boto3.client("cloudformation", config=CLIENT_CONFIG)
    try:
        stacks = client.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        raise CommandError(
            f"stack {name}: {error.response.get('Error', {}).get('Message', error)}", EXIT_USAGE
        ) from None
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}


def _variable_of(field: str) -> str:
    variable = f"SIGNBRIDGE_{field.upper()}"
    return variable if variable in env_names.ALL else field
