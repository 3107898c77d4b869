"""Secrets from AWS Secrets Manager, read through Powertools Parameters (cached for `secrets_cache_seconds`).

Each secret is a JSON document with a known shape, parsed into a model whose values are `SecretStr`, so a secret
printed by accident shows `**********`. Errors name the secret and the fields at fault, never a value: Pydantic's own
messages would echo the input, so they are not passed on.

Shapes:

- ZapSign: `{"api_token": "..."}`
- Webhooks: `{"zapsign": ["current", "previous-or-empty"], "oneshot": ["current", "previous-or-empty"]}`; during a
  rotation both values are accepted, an empty string means "no previous secret".
- One-Shot: `{"token": "..."}` or `{"username": "...", "password": "...", "pin": "..."}`, plus optionally
  `billing_username` + `billing_password` (already base64, as the Optimizer wants it), `registration_authority`,
  `profile` (each may instead be preset on the Optimizer). The stored shape *is* the provider's credential shape,
  so it is read straight into `signbridge.domain.credentials.OneShotCredentials`: one model, one set of rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from pydantic import (
    BaseModel,
    ValidationError,
)

from signbridge.config import Settings, get_settings
from signbridge.domain.credentials import OneShotCredentials, WebhookSecrets, ZapSignCredentials
from signbridge.domain.errors import SecretMalformedError, SecretUnavailableError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

SecretModel = TypeVar("SecretModel", bound=BaseModel)


class SecretStore:
    """Typed access to SignBridge's three secrets. The provider caches each for `max_age_seconds`."""

    def __init__(
        self,
        *,
        zapsign_secret_name: str,
        webhook_secret_name: str,
        oneshot_secret_name: str,
        max_age_seconds: int,
        provider: SecretsProvider | None = None,
    ) -> None:
        self._names = {
            ZapSignCredentials: zapsign_secret_name,
            WebhookSecrets: webhook_secret_name,
            OneShotCredentials: oneshot_secret_name,
        }
        self._max_age = max_age_seconds
        self._provider = provider

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, provider: SecretsProvider | None = None) -> SecretStore:
        settings = settings or get_settings()
        return cls(
            zapsign_secret_name=settings.zapsign_secret_name,
            webhook_secret_name=settings.webhook_secret_name,
            oneshot_secret_name=settings.oneshot_secret_name,
            max_age_seconds=settings.secrets_cache_seconds,
            provider=provider,
        )

    def zapsign(self) -> ZapSignCredentials:
        return self._read(ZapSignCredentials)

    def webhooks(self) -> WebhookSecrets:
        return self._read(WebhookSecrets)

    def oneshot(self) -> OneShotCredentials:
        return self._read(OneShotCredentials)

    def _read(self, model: type[SecretModel]) -> SecretModel:
        name = self._names[model]
        document = self._fetch(name)
        try:
            return model.model_validate(document)
        except ValidationError as error:
            problems = [
                f"{'.'.join(str(part) for part in item['loc']) or '(document)'}: {item['msg']}"
                for item in error.errors(include_input=False)
            ]
            raise SecretMalformedError(name, problems) from None

    def _fetch(self, name: str) -> Any:
        try:
            if self._provider is None:
                # The module-level provider: one cache per Lambda execution environment, shared by every caller.
                return parameters.get_secret(name, transform="json", max_age=self._max_age)
            return self._provider.get(name, max_age=self._max_age, transform="json")
        except TransformParameterError:
            raise SecretMalformedError(name, ["not a JSON document"]) from None
        except GetParameterError as error:
            raise SecretUnavailableError(name) from error  # botocore's message: an error code, never the value
