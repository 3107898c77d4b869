"""The shapes of SignBridge's three secrets: the ZapSign API token, the webhook secrets, the One-Shot credentials.

`signbridge.storage.secrets.SecretStore` reads each secret as one of these; the provider clients take them. Secret
values are `SecretStr`, so they never show in a repr, an error or a log line.
"""

from __future__ import annotations

import base64
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

MAX_ACCEPTED_WEBHOOK_SECRETS: Final = 2
SIGNER_PAGE_KEY_MIN_BYTES: Final = 32


class _Secret(BaseModel):
    # Tolerant of extra keys (an operator may annotate a secret); strict about the ones we need.
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)


def _not_empty(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise ValueError("must not be empty")
    return value


NonEmptySecret = Annotated[SecretStr, AfterValidator(_not_empty)]


class ZapSignCredentials(_Secret):
    api_token: NonEmptySecret


class WebhookSecrets(_Secret):
    zapsign: tuple[SecretStr, ...] = Field(min_length=1, max_length=MAX_ACCEPTED_WEBHOOK_SECRETS)
    oneshot: tuple[SecretStr, ...] = Field(min_length=1, max_length=MAX_ACCEPTED_WEBHOOK_SECRETS)

    @field_validator("zapsign", "oneshot")
    @classmethod
    def _current_is_set(cls, values: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        if not values[0].get_secret_value():
            raise ValueError("the current secret (first) must not be empty")
        return values

    def accepted_zapsign(self) -> tuple[str, ...]:
        """The ZapSign webhook secrets to accept now: the current one and, during a rotation, the previous one."""
        return _non_empty(self.zapsign)

    def accepted_oneshot(self) -> tuple[str, ...]:
        return _non_empty(self.oneshot)


class SignerPageKey(_Secret):
    """The key the signing-page links are made with (`signbridge.domain.signer_page`): CloudFormation generates it
    (64 characters); replacing it closes every link already handed out."""

    link_key: NonEmptySecret

    @field_validator("link_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().encode()) < SIGNER_PAGE_KEY_MIN_BYTES:
            raise ValueError(f"must have at least {SIGNER_PAGE_KEY_MIN_BYTES} bytes")
        return value

    def key(self) -> bytes:
        return self.link_key.get_secret_value().encode()


class OneShotCredentials(BaseModel):
    """What the Optimizer needs in the body to act for the Registration Authority (docs/providers/oneshot.md §2), and
    the shape of the One-Shot secret itself (`signbridge.storage.secrets.SecretStore.oneshot` reads it as this).

    Give the RAO `token`, or `username` + `password` + `pin`. `billing_username` + `billing_password`,
    `registration_authority` and `profile` are optional: an Optimizer may have them preset in its settings file
    (docs/providers/oneshot.md §5.3: "required only if not set at settings.toml"). `billing_password` is Base64 already,
    as the Optimizer expects it; it is sent as it is. A value that is given may not be empty (an unfilled
    placeholder must fail loudly, not reach the Optimizer). Secrets are `SecretStr`, so they never show in a repr
    or a log.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", from_attributes=True, hide_input_in_errors=True)

    token: SecretStr | None = None
    username: SecretStr | None = None
    password: SecretStr | None = None
    pin: SecretStr | None = None
    billing_username: SecretStr | None = None
    billing_password: SecretStr | None = None  # Base64
    registration_authority: str | None = None
    profile: str | None = None

    @field_validator("registration_authority", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @field_validator(
        "token",
        "username",
        "password",
        "pin",
        "billing_username",
        "billing_password",
        "registration_authority",
        "profile",
    )
    @classmethod
    def _not_empty(cls, value: SecretStr | str | None) -> SecretStr | str | None:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is not None and not text.strip():
            raise ValueError("must not be empty (leave the field out instead)")
        return value

    @field_validator("billing_password")
    @classmethod
    def _base64(cls, value: SecretStr | None) -> SecretStr | None:
        # A plain password would reach the Optimizer as garbage and come back as a 500 (docs/providers/oneshot.md §5.3).
        if value is not None:
            try:
                base64.b64decode(value.get_secret_value(), validate=True)
            except ValueError:
                raise ValueError("billing_password must be Base64-encoded, as the Optimizer expects it") from None
        return value

    @model_validator(mode="after")
    def _one_rao_identity(self) -> OneShotCredentials:
        if self.token is None and not (self.username and self.password and self.pin):
            raise ValueError("give the RAO token, or username, password and pin")
        if (self.billing_username is None) != (self.billing_password is None):
            raise ValueError("give both billing_username and billing_password, or neither")
        return self

    def body_fields(self) -> list[tuple[str, str]]:
        """The form fields of `create` that carry the RAO and billing identity."""
        if self.token is not None:
            fields = [("token", self.token.get_secret_value())]
        else:
            fields = [("username", _secret(self.username)), ("password", _secret(self.password))]
            fields.append(("pin", _secret(self.pin)))
        if self.billing_username is not None and self.billing_password is not None:
            fields.append(("billing_username", self.billing_username.get_secret_value()))
            fields.append(("billing_password", self.billing_password.get_secret_value()))
        return fields


def _non_empty(values: tuple[SecretStr, ...]) -> tuple[str, ...]:
    return tuple(value.get_secret_value() for value in values if value.get_secret_value())


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
