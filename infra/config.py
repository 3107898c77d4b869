"""Stage settings: read once from CDK context (defaults in cdk.json), validated, typed, passed to the constructs.

Nothing under `infra/` reads context or environment variables except `StageConfig.from_context`. Deploy-time knobs
are context keys (`cdk deploy -c stage=prod -c alarm_email=ops@example.com`), never environment variables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = REPO_ROOT / "cdk.json"

PROD_STAGES = frozenset({"prod"})
ONESHOT_ENVS = frozenset({"sandbox", "prod"})
# SQS event source mappings refuse a maximum concurrency below 2 (Lambda API limit).
MIN_ESM_MAX_CONCURRENCY = 2
MAX_ESM_MAX_CONCURRENCY = 1000


class ConfigError(ValueError):
    """A context value is missing or malformed; the message names the key."""


def load_cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The `context` block of cdk.json: feature flags and SignBridge defaults.

    `python app.py` (no CDK CLI) does not read cdk.json by itself; app.py and the tests load it here so that every
    way of synthesizing sees the same flags and defaults.
    """
    return dict(json.loads(path.read_text(encoding="utf-8")).get("context", {}))


@dataclass(frozen=True, kw_only=True)
class OneShotVpc:
    """Where the functions that call the One-Shot Optimizer run, when the Optimizer is reachable only from a VPC.

    Imported by id (no lookups, so synth never calls AWS). The subnets need a route to the Optimizer and to the AWS
    APIs the functions use (NAT or VPC endpoints for DynamoDB, S3, SQS, Secrets Manager).
    """

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class WorkerConcurrency:
    """Maximum concurrent worker invocations per queue (the SQS event source mapping's `MaximumConcurrency`)."""

    zapsign: int
    oneshot: int


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    stage: str
    zapsign_base_url: str
    oneshot_base_url: str
    oneshot_env: str
    zapsign_file_hosts: tuple[str, ...]
    powertools_version: str
    alarm_email: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    oneshot_vpc: OneShotVpc | None = None
    incoming_expiry_days: int = 2
    raw_retention_days: int = 90
    evidence_retention_days: int = 0  # 0 keeps evidence, originals, contracts and signed files forever
    log_retention_days: int = 90
    worker_max_concurrency: WorkerConcurrency = field(default_factory=lambda: WorkerConcurrency(zapsign=4, oneshot=5))
    api_throttle_rate: int = 50
    api_throttle_burst: int = 100

    @property
    def stack_name(self) -> str:
        return f"SignBridge-{self.stage}"

    @property
    def is_prod(self) -> bool:
        return self.stage in PROD_STAGES

    @property
    def retain_stateful(self) -> bool:
        """Keep the table, the bucket, the secrets and the log groups when the stack is deleted (prod only)."""
        return self.is_prod

    @property
    def uses_jwt(self) -> bool:
        return bool(self.jwt_issuer and self.jwt_audience)

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> StageConfig:
        """Build from a context getter (`app.node.try_get_context`); a missing key takes the dataclass default."""
        stage = _text(get, "stage", required=True)
        if not stage.replace("-", "").isalnum() or not stage[0].isalpha() or len(stage) > 20:
            raise ConfigError(f"context 'stage' must be a short alphanumeric name (dashes allowed), got {stage!r}")
        oneshot_env = _text(get, "oneshot_env", required=True)
        if oneshot_env not in ONESHOT_ENVS:
            raise ConfigError(f"context 'oneshot_env' must be one of {sorted(ONESHOT_ENVS)}, got {oneshot_env!r}")
        jwt_issuer = _text(get, "jwt_issuer") or None
        jwt_audience = _strings(get, "jwt_audience")
        if bool(jwt_issuer) != bool(jwt_audience):
            raise ConfigError("context 'jwt_issuer' and 'jwt_audience' go together: give both or neither")
        values: dict[str, Any] = {
            "stage": stage,
            "zapsign_base_url": _https_url(get, "zapsign_base_url"),
            "oneshot_base_url": _https_url(get, "oneshot_base_url"),
            "oneshot_env": oneshot_env,
            "zapsign_file_hosts": _strings(get, "zapsign_file_hosts", required=True),
            "powertools_version": _text(get, "powertools_version") or "latest",
            "alarm_email": _text(get, "alarm_email") or None,
            "jwt_issuer": jwt_issuer,
            "jwt_audience": jwt_audience,
            "cors_origins": _strings(get, "cors_origins"),
            "oneshot_vpc": _vpc(get("oneshot_vpc")),
        }
        for key in (
            "incoming_expiry_days",
            "raw_retention_days",
            "evidence_retention_days",
            "log_retention_days",
            "api_throttle_rate",
            "api_throttle_burst",
        ):
            if get(key) is not None:
                values[key] = _int(get, key, minimum=0 if key == "evidence_retention_days" else 1)
        concurrency = get("worker_max_concurrency")
        if concurrency is not None:
            values["worker_max_concurrency"] = _concurrency(concurrency)
        return cls(**values)

    @classmethod
    def from_mapping(cls, context: Mapping[str, Any]) -> StageConfig:
        return cls.from_context(context.get)


def _text(get: Callable[[str], Any], key: str, *, required: bool = False) -> str:
    value = get(key)
    if value is None or value == "":
        if required:
            raise ConfigError(f"context '{key}' is required (set a default in cdk.json or pass -c {key}=...)")
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"context '{key}' must be a string, got {type(value).__name__}")
    return value.strip()


def _strings(get: Callable[[str], Any], key: str, *, required: bool = False) -> tuple[str, ...]:
    """A list, or a comma-separated string (what `-c key=a,b` on the command line gives)."""
    value = get(key)
    items: Sequence[Any]
    if value is None or value == "":
        items = ()
    elif isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise ConfigError(f"context '{key}' must be a list of strings or a comma-separated string")
    result = tuple(str(item).strip() for item in items if str(item).strip())
    if required and not result:
        raise ConfigError(f"context '{key}' needs at least one value")
    return result


def _https_url(get: Callable[[str], Any], key: str) -> str:
    value = _text(get, key, required=True)
    if not value.startswith("https://"):
        raise ConfigError(f"context '{key}' must be an https:// URL, got {value!r}")
    return value


def _int(get: Callable[[str], Any], key: str, *, minimum: int) -> int:
    value = get(key)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"context '{key}' must be an integer, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"context '{key}' must be >= {minimum}, got {number}")
    return number


def _vpc(value: Any) -> OneShotVpc | None:
    if value is None or value in ("", {}):
        return None
    if isinstance(value, str):
        value = json.loads(value)  # `-c oneshot_vpc='{"subnet_ids": [...], ...}'` arrives as a string
    if not isinstance(value, Mapping):
        raise ConfigError("context 'oneshot_vpc' must be an object {subnet_ids: [...], security_group_ids: [...]}")
    subnets = _strings(value.get, "subnet_ids", required=True)
    groups = _strings(value.get, "security_group_ids", required=True)
    return OneShotVpc(subnet_ids=subnets, security_group_ids=groups)


def _concurrency(value: Any) -> WorkerConcurrency:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, Mapping):
        raise ConfigError("context 'worker_max_concurrency' must be an object {zapsign: n, oneshot: n}")
    limits = {}
    for queue in ("zapsign", "oneshot"):
        number = _int(value.get, queue, minimum=MIN_ESM_MAX_CONCURRENCY)
        if number > MAX_ESM_MAX_CONCURRENCY:
            raise ConfigError(f"context 'worker_max_concurrency.{queue}' must be <= {MAX_ESM_MAX_CONCURRENCY}")
        limits[queue] = number
    return WorkerConcurrency(**limits)
