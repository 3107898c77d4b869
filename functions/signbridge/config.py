"""SignBridge settings: read from the environment once, validated, typed.

Nothing else in `functions/` reads `os.environ`. Secret values are not here: only the names of the Secrets Manager
entries that hold them (see `signbridge.storage.secrets`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from signbridge import env_names

MIB = 1024 * 1024
MAX_BRAND_LOGO_CHARS = 1536  # an environment variable (Lambda allows 4 KB for all of them): a small SVG or PNG
PRESIGN_TTL_MAX_SECONDS = 3600  # presigned links never live longer than an hour (design: "expire in minutes")

DEFAULT_ZAPSIGN_BASE_URL = "https://sandbox.api.zapsign.com.br/api/v1/"
DEFAULT_ONESHOT_BASE_URL = "https://optimizer-developers.uanataca.com/oneshot/api/v1/"
# ZapSign serves `original_file` / `signed_file` as presigned links on its S3 bucket (docs/providers/zapsign.md §3.2).
DEFAULT_ZAPSIGN_FILE_HOSTS = ("zapsign.s3.amazonaws.com", "zapsign.s3.sa-east-1.amazonaws.com")

ApiAuth = Literal["iam", "jwt"]  # how API Gateway authorises the `/v1` routes: SigV4 (IAM) or a JWT authorizer


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str = "dev"
    table_name: str
    bucket_name: str
    zapsign_queue_url: str
    oneshot_queue_url: str
    zapsign_base_url: str = DEFAULT_ZAPSIGN_BASE_URL
    zapsign_file_hosts: tuple[str, ...] = DEFAULT_ZAPSIGN_FILE_HOSTS
    oneshot_base_url: str = DEFAULT_ONESHOT_BASE_URL
    oneshot_env: Literal["sandbox", "prod"] = "sandbox"
    allow_loopback_http: bool = False
    api_base_url: str = ""
    # How the deployed API authorises `/v1` calls (the stack sets it from the stage's JWT settings): the OpenAPI
    # document declares the matching scheme. It documents; API Gateway enforces.
    api_auth: ApiAuth = "iam"
    zapsign_secret_name: str
    webhook_secret_name: str
    oneshot_secret_name: str
    max_file_bytes: int = Field(default=50 * MIB, gt=0)
    max_inline_bytes: int = Field(default=6 * MIB, gt=0)
    presign_ttl_seconds: int = Field(default=600, gt=0, le=PRESIGN_TTL_MAX_SECONDS)
    secrets_cache_seconds: int = Field(default=300, ge=0)
    otp_max_failures: int = Field(default=5, ge=1, le=100)
    evidence_key_id: str = ""
    trust_anchors_file: str | None = None  # a PEM bundle on disk (the local stack, tests); wins over the S3 key
    trust_anchors_key: str | None = None  # a PEM bundle in the file bucket (on AWS; docs/evidence.md)
    # INDETERMINATE sub-indications the verification policy lets pass (ETSI names, e.g. TRY_LATER; the stage config
    # checks them at synth, `workflow.verification.policy_for` reads them)
    accept_indeterminate: tuple[str, ...] = ()
    # an RFC 3161 TSA (its URL carries no credentials): the long-term copy of each verified file gets a document
    # timestamp from it (PAdES B-LTA); none: B-LT (docs/evidence.md, "Long-term validation")
    tsa_url: str | None = Field(default=None, pattern=r"^https?://[^/@\s]+(/\S*)?$")

    @field_validator("accept_indeterminate", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    # The One-Shot signing page (docs/signer-page.md). Without the secret's name no links are made.
    signer_page_secret_name: str = ""
    page_link_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=300, le=90 * 24 * 3600)
    page_brand_name: str = Field(default="SignBridge", min_length=1, max_length=80)
    page_brand_color: str = Field(default="#1f4e8c", pattern=r"^#[0-9a-fA-F]{6}$")
    page_brand_logo: str = Field(
        default="", max_length=MAX_BRAND_LOGO_CHARS, pattern=r"^(data:image/(png|svg\+xml);base64,[A-Za-z0-9+/=]+)?$"
    )

    @field_validator("zapsign_file_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(host.strip().lower() for host in value.split(",") if host.strip())
        return value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        fields = {
            "stage": env_names.STAGE,
            "table_name": env_names.TABLE_NAME,
            "bucket_name": env_names.BUCKET_NAME,
            "zapsign_queue_url": env_names.ZAPSIGN_QUEUE_URL,
            "oneshot_queue_url": env_names.ONESHOT_QUEUE_URL,
            "zapsign_base_url": env_names.ZAPSIGN_BASE_URL,
            "zapsign_file_hosts": env_names.ZAPSIGN_FILE_HOSTS,
            "oneshot_base_url": env_names.ONESHOT_BASE_URL,
            "oneshot_env": env_names.ONESHOT_ENV,
            "allow_loopback_http": env_names.ALLOW_LOOPBACK_HTTP,
            "api_base_url": env_names.API_BASE_URL,
            "api_auth": env_names.API_AUTH,
            "zapsign_secret_name": env_names.ZAPSIGN_SECRET_NAME,
            "webhook_secret_name": env_names.WEBHOOK_SECRET_NAME,
            "oneshot_secret_name": env_names.ONESHOT_SECRET_NAME,
            "max_file_bytes": env_names.MAX_FILE_BYTES,
            "max_inline_bytes": env_names.MAX_INLINE_BYTES,
            "presign_ttl_seconds": env_names.PRESIGN_TTL_SECONDS,
            "secrets_cache_seconds": env_names.SECRETS_CACHE_SECONDS,
            "otp_max_failures": env_names.OTP_MAX_FAILURES,
            "evidence_key_id": env_names.EVIDENCE_KEY_ID,
            "trust_anchors_file": env_names.TRUST_ANCHORS_FILE,
            "trust_anchors_key": env_names.TRUST_ANCHORS_KEY,
            "accept_indeterminate": env_names.ACCEPT_INDETERMINATE,
            "tsa_url": env_names.TSA_URL,
            "signer_page_secret_name": env_names.SIGNER_PAGE_SECRET_NAME,
            "page_link_ttl_seconds": env_names.PAGE_LINK_TTL_SECONDS,
            "page_brand_name": env_names.PAGE_BRAND_NAME,
            "page_brand_color": env_names.PAGE_BRAND_COLOR,
            "page_brand_logo": env_names.PAGE_BRAND_LOGO,
        }
        values = {field: environ[name] for field, name in fields.items() if environ.get(name, "") != ""}
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once (a Lambda cold start, a local handler import)."""
    return Settings.from_environ(os.environ)


def reset_settings_cache() -> None:
    """For tests and the local stack, which change the environment between runs."""
    get_settings.cache_clear()
