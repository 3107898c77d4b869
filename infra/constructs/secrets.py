"""Secrets Manager entries, created as placeholders for the operator to fill (docs/deploy.md shows how).

Names are stable per stage (`signbridge/{stage}/{purpose}`) so that a value put by an operator survives every
redeploy: CloudFormation rewrites a secret's value only when the template's placeholder changes, which it never
does. The functions receive the *names* in environment variables and read the values at run time (Powertools
Parameters, cached).

Shapes (JSON), as `signbridge.storage.secrets` reads them into the models of `signbridge.domain.credentials`:

- `zapsign`: `{"api_token": "<ZapSign API token>"}`
- `webhook`: `{"zapsign": ["<current>", "<previous or empty>"], "oneshot": ["<current>", "<previous or empty>"]}`;
  two accepted values per provider so a secret can rotate without losing deliveries. The ZapSign value is the
  header ZapSign sends back; the One-Shot value is the last path segment of the callback URL.
- `oneshot`: `{"token": "<RAO token uid>"}` or `{"username": ..., "password": ..., "pin": ...}`, plus
  `billing_username`, `billing_password` (base64), `registration_authority` and `profile`; those four may be left
  out (remove the key, do not leave it empty) when the Optimizer has them preset in its settings file.

The placeholders fail that validation on purpose (empty current webhook secret, empty values): until an
operator fills them, a function that reads one gets a "malformed secret" error instead of using an empty value.
CloudFormation cannot generate a random value inside a JSON list, so the operator generates the webhook secrets
(docs/deploy.md).
"""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy, SecretValue
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.common import acknowledge, pin_logical_id

ZAPSIGN = "zapsign"
WEBHOOK = "webhook"
ONESHOT = "oneshot"

PLACEHOLDERS: dict[str, dict[str, object]] = {
    ZAPSIGN: {"api_token": ""},
    WEBHOOK: {"zapsign": ["", ""], "oneshot": ["", ""]},
    ONESHOT: {
        "token": "",
        "billing_username": "",
        "billing_password": "",
        "registration_authority": "",
        "profile": "",
    },
}

NO_ROTATION_REASON = (
    "The values are issued by third parties (ZapSign API token, Uanataca RAO and billing credentials) or must be "
    "registered at the provider (webhook secrets); no API rotates them, so rotation is an operator procedure with "
    "two accepted webhook values during the switch (docs/deploy.md)."
)


class Secrets(Construct):
    """`zapsign`, `webhook` and `oneshot` secrets, encrypted with the account's `aws/secretsmanager` key."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, retain: bool) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        # Literal names (not tokens): the functions' environment and the stack outputs show them as they are.
        self.names = {purpose: f"signbridge/{stage}/{purpose}" for purpose in (ZAPSIGN, WEBHOOK, ONESHOT)}
        self.zapsign = self._placeholder("ZapSignSecret", stage, ZAPSIGN, "ZapSign API token", removal)
        self.webhook = self._placeholder(
            "WebhookSecret", stage, WEBHOOK, "Webhook secrets (ZapSign header, One-Shot callback path)", removal
        )
        self.oneshot = self._placeholder(
            "OneShotSecret", stage, ONESHOT, "Uanataca One-Shot RAO and billing credentials", removal
        )

    @property
    def all(self) -> tuple[secretsmanager.Secret, ...]:
        return (self.zapsign, self.webhook, self.oneshot)

    def _placeholder(
        self, construct_id: str, stage: str, purpose: str, description: str, removal: RemovalPolicy
    ) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            construct_id,
            secret_name=self.names[purpose],
            description=f"SignBridge {stage}: {description}. Fill with put-secret-value (docs/deploy.md).",
            # A placeholder with empty fields, not a secret: nothing sensitive is in the template.
            secret_string_value=SecretValue.unsafe_plain_text(json.dumps(PLACEHOLDERS[purpose])),
            removal_policy=removal,
        )
        pin_logical_id(secret, construct_id)
        acknowledge(secret, "SMG4", NO_ROTATION_REASON)
        return secret
