"""Stage settings: one typed, validated configuration per stage, read once at synth and passed to the constructs.

Where the values come from, later ones winning:

1. the defaults below (a sandbox stage: public test endpoints, short retention, nothing retained on delete);
2. `stages/<stage>.json`, the stage's file (required for `prod`; optional for any other stage);
3. CDK context for the same keys (`cdk deploy -c alarm_email=ops@example.com`, tests, the local stack).

`cdk.json`'s context names only the default stage (`stage`) and CDK's feature flags. The model refuses the mistakes
that would deploy a working-looking but wrong production stack: a sandbox or test endpoint, no alarm e-mail, data
not retained, One-Shot in its sandbox environment. Nothing under `infra/` reads context or environment variables
except `StageConfig.from_context`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from signbridge.domain import keys
from signbridge.domain.verification import INDETERMINATE_SUB_INDICATIONS

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = REPO_ROOT / "cdk.json"
STAGES_DIR = REPO_ROOT / "stages"

PROD_STAGES = frozenset({"prod"})
# SQS event source mappings refuse a maximum concurrency below 2 (Lambda API limit).
MIN_ESM_MAX_CONCURRENCY = 2
MAX_ESM_MAX_CONCURRENCY = 1000

SANDBOX_ZAPSIGN_URL = "https://sandbox.api.zapsign.com.br/api/v1/"
SANDBOX_ONESHOT_URL = "https://optimizer-developers.uanataca.com/oneshot/api/v1/"
# Hosts that answer for tests only: a production stage pointing at one of them is a mistake, never a choice.
TEST_HOSTS = frozenset(
    {
        "sandbox.api.zapsign.com.br",
        "sandbox.app.zapsign.com.br",
        "optimizer-developers.uanataca.com",
        "one-shot.developers.uanataca.com",
        "localhost",
        "127.0.0.1",
    }
)
# Hostnames reserved for documentation and examples (RFC 2606 / 6761): placeholders, never a real endpoint.
PLACEHOLDER_SUFFIXES = (".example", ".invalid", ".test", ".localhost", "example.com", "example.net", "example.org")


class ConfigError(ValueError):
    """A stage setting is missing or wrong; the message names the stage, the setting and what to do."""


def load_cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The `context` block of cdk.json: CDK's feature flags and the default stage.

    `python app.py` (no CDK CLI) does not read cdk.json by itself; app.py and the tests load it here so that every
    way of synthesizing sees the same flags.
    """
    return dict(json.loads(path.read_text(encoding="utf-8")).get("context", {}))


def stage_file(stage: str, stages_dir: Path = STAGES_DIR) -> Path:
    return stages_dir / f"{stage}.json"


def _comma_list(value: Any) -> Any:
    """`-c key=a,b` on the command line gives a string; files and tests give lists."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _json_object(value: Any) -> Any:
    """`-c key='{"a": 1}'` on the command line gives a string; an empty object or string means 'not set'."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else None
    return None if value == {} else value


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


Strings = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_is_none)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class OneShotVpc(_Model):
    """Where the functions that call the One-Shot Optimizer run, when the Optimizer is reachable only from a VPC.

    Imported by id (no lookups, so synth never calls AWS). The subnets need a route to the Optimizer and to the AWS
    APIs the functions use (NAT or VPC endpoints for DynamoDB, S3, SQS, Secrets Manager).
    """

    subnet_ids: Annotated[tuple[str, ...], BeforeValidator(_comma_list), Field(min_length=1)]
    security_group_ids: Annotated[tuple[str, ...], BeforeValidator(_comma_list), Field(min_length=1)]


class WorkerConcurrency(_Model):
    """Maximum concurrent worker invocations per queue (the SQS event source mapping's `MaximumConcurrency`)."""

    zapsign: int = Field(default=4, ge=MIN_ESM_MAX_CONCURRENCY, le=MAX_ESM_MAX_CONCURRENCY)
    oneshot: int = Field(default=5, ge=MIN_ESM_MAX_CONCURRENCY, le=MAX_ESM_MAX_CONCURRENCY)


class StageConfig(_Model):
    """Every deploy-time setting of one stage (docs/deploy.md has the table)."""

    stage: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,19}$")
    description: str = ""  # free text in the stage file, for the operator; not used by the stack
    zapsign_base_url: str = SANDBOX_ZAPSIGN_URL
    oneshot_base_url: str = SANDBOX_ONESHOT_URL
    oneshot_env: Literal["sandbox", "prod"] = "sandbox"
    zapsign_file_hosts: Annotated[tuple[str, ...], BeforeValidator(_comma_list), Field(min_length=1)] = (
        "zapsign.s3.amazonaws.com",
        "zapsign.s3.sa-east-1.amazonaws.com",
    )
    alarm_email: OptionalText = None
    retain_data: bool = False
    jwt_issuer: OptionalText = None
    jwt_audience: Strings = ()
    cors_origins: Strings = ()
    oneshot_vpc: Annotated[OneShotVpc | None, BeforeValidator(_json_object)] = None
    incoming_expiry_days: int = Field(default=2, ge=1)
    raw_retention_days: int = Field(default=90, ge=1)
    evidence_retention_days: int = Field(default=0, ge=0)  # 0 keeps evidence, originals, contracts, signed files
    log_retention_days: int = Field(default=90, ge=1)
    worker_max_concurrency: Annotated[WorkerConcurrency, BeforeValidator(_json_object)] = Field(
        default_factory=WorkerConcurrency
    )
    api_throttle_rate: int = Field(default=50, ge=1)
    api_throttle_burst: int = Field(default=100, ge=1)
    # Signature verification (docs/evidence.md): the S3 key of the PEM bundle of trust anchors in the file bucket
    # (the operator uploads it; the worker reads it once per warm Lambda), and the INDETERMINATE sub-indications the
    # policy lets pass (none by default; e.g. TRY_LATER where revocation information may lag).
    trust_anchors_key: str = Field(default=f"{keys.CONFIG_PREFIX}trust-anchors.pem", pattern=r"^config/[\w./-]+$")
    accept_indeterminate: Strings = ()
    # An RFC 3161 TSA the worker asks for the archive timestamp of each long-term copy (PAdES B-LTA); none: B-LT.
    tsa_url: str | None = None

    @field_validator("accept_indeterminate")
    @classmethod
    def _indeterminate_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in INDETERMINATE_SUB_INDICATIONS]
        if unknown:
            known = ", ".join(sorted(INDETERMINATE_SUB_INDICATIONS))
            raise ValueError(f"unknown INDETERMINATE sub-indication(s) {', '.join(unknown)} (known: {known})")
        return value

    # The One-Shot signing page (docs/signer-page.md): the company's branding and the links' lifetime.
    page_brand_name: str = Field(default="SignBridge", min_length=1, max_length=80)
    page_brand_color: str = Field(default="#1f4e8c", pattern=r"^#[0-9a-fA-F]{6}$")
    page_brand_logo: str = Field(
        default="", max_length=1536, pattern=r"^(data:image/(png|svg\+xml);base64,[A-Za-z0-9+/=]+)?$"
    )
    page_link_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=300, le=90 * 24 * 3600)

    @property
    def stack_name(self) -> str:
        return f"SignBridge-{self.stage}"

    @property
    def is_prod(self) -> bool:
        return self.stage in PROD_STAGES

    @property
    def retain_stateful(self) -> bool:
        """Keep the table, the bucket, the secrets and the log groups when the stack is deleted."""
        return self.retain_data

    @property
    def uses_jwt(self) -> bool:
        return bool(self.jwt_issuer and self.jwt_audience)

    @field_validator("zapsign_base_url", "oneshot_base_url", "jwt_issuer", "tsa_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("https://") and urlsplit(value).hostname):
            raise ValueError(f"must be an https:// URL, got {value!r}")
        return value

    @field_validator("alarm_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and (value.count("@") != 1 or "." not in value.split("@")[1]):
            raise ValueError(f"must be an e-mail address, got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> StageConfig:
        if bool(self.jwt_issuer) != bool(self.jwt_audience):
            raise ValueError("jwt_issuer and jwt_audience go together: give both or neither")
        if self.is_prod:
            self._refuse_for_prod()
        return self

    def _refuse_for_prod(self) -> None:
        problems = []
        for key, url in (("oneshot_base_url", self.oneshot_base_url), ("zapsign_base_url", self.zapsign_base_url)):
            host = (urlsplit(url).hostname or "").lower()
            if host in TEST_HOSTS:
                problems.append(
                    f"{key} {url!r} is a test/sandbox endpoint; a production stage needs the production one"
                )
            elif host.endswith(PLACEHOLDER_SUFFIXES):
                problems.append(f"{key} {url!r} is a placeholder; set the real production endpoint")
        if self.oneshot_env != "prod":
            problems.append(f"oneshot_env is {self.oneshot_env!r}; a production stage signs in One-Shot's 'prod'")
        if self.alarm_email is None:
            problems.append("alarm_email is empty; a production stage needs someone to receive its alarms")
        if not self.retain_data:
            problems.append("retain_data is false; a production stage keeps its table, bucket, secrets and logs")
        if problems:
            raise ValueError("\n  - ".join(problems))

    @classmethod
    def from_context(cls, get: Callable[[str], Any], *, stages_dir: Path = STAGES_DIR) -> StageConfig:
        """The stage named by context `stage`: its file's values, with any context value for a setting on top."""
        stage = get("stage")
        if not isinstance(stage, str) or not stage.strip():
            raise ConfigError("context 'stage' is required (cdk.json names the default; `-c stage=prod` picks one)")
        stage = stage.strip()
        path = stage_file(stage, stages_dir)
        values: dict[str, Any] = {}
        if path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as error:
                raise ConfigError(f"{_where(path)} is not valid JSON: {error}") from None
            if not isinstance(loaded, dict):
                raise ConfigError(f"{_where(path)} must hold a JSON object of settings")
            values.update(loaded)
        elif stage in PROD_STAGES:
            raise ConfigError(f"stage {stage!r} needs its settings file {_where(path)}")
        for key in cls.model_fields:
            value = get(key)
            if value is not None:
                values[key] = value
        values["stage"] = stage
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            source = _where(path) if path.is_file() else "the defaults"
            raise ConfigError(f"stage {stage!r} ({source} and context) is refused:\n{_describe(error)}") from None

    @classmethod
    def from_mapping(cls, context: Mapping[str, Any], *, stages_dir: Path = STAGES_DIR) -> StageConfig:
        return cls.from_context(context.get, stages_dir=stages_dir)


def _where(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"  - {location}: {message}" if location else f"  - {message}")
    return "\n".join(lines)
