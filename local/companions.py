"""The providers of the local stack, as `LocalStack` companions: the ZapSign and One-Shot simulators by default, or
the real ZapSign sandbox and the public One-Shot test Optimizer when an operator asks for them.

    providers = Providers.simulated()                      # both simulators on 127.0.0.1, free ports
    config = LocalStackConfig(companions=providers.companions(), secret_values=providers.secret_values())
    with LocalStack(config) as stack:
        providers.connect(stack)                           # registers the ZapSign webhook, as an operator would
        providers.zapsign_simulator.sign(...)              # act as a signer (tests, the demo)

What a companion contributes:

- `start()` / `stop()`: the simulator's server (a real provider has nothing to start);
- `environment()`: the overrides layered over every function's template environment — the provider's base URL
  (`SIGNBRIDGE_ZAPSIGN_BASE_URL` with `/api/v1/`, `SIGNBRIDGE_ONESHOT_BASE_URL` with `/oneshot/api/v1/`), the file
  hosts ZapSign's links point at (`SIGNBRIDGE_ZAPSIGN_FILE_HOSTS`), and `SIGNBRIDGE_ALLOW_LOOPBACK_HTTP=true` for a
  simulator (its file links are plain http on loopback);
- `secret_values()`: what the provider's Secrets Manager entry holds — the development values of `local.dev_values`
  for a simulator, the operator's credentials for a real provider.

With a simulator in the stack, a third companion, `TrustAnchorsCompanion`, writes the simulators' test roots (their
`GET /_sim/trust-anchors`, one PEM bundle) to a temporary file while the stack runs and passes its path to every
function as `SIGNBRIDGE_TRUST_ANCHORS_FILE`; `python -m local` prints the path. Real providers add none: their
signatures chain to the anchors the operator configures.

`Providers.connect(stack)` runs once the gateway is up: it reads the ZapSign API token and the current webhook secret
from the stack's own Secrets Manager (what the functions read) and registers `{api_url}/webhooks/zapsign` with the
secret header through the real `ZapSignClient.create_webhook` — the code path an operator uses against ZapSign. A
real ZapSign cannot reach 127.0.0.1, so with the sandbox the webhook is registered only for a `public_url` (a tunnel
to the local gateway); without one the reconciler's re-reads (`GET docs/{token}/`) move requests on.

The simulators' own commands (`python -m simulators.zapsign`, `… .oneshot`) are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from werkzeug.wrappers import Request, Response

from local import dev_values
from signbridge import api_routes, env_names, wiring
from signbridge.config import DEFAULT_ONESHOT_BASE_URL, DEFAULT_ZAPSIGN_BASE_URL
from signbridge.domain.credentials import OneShotCredentials, WebhookSecrets, ZapSignCredentials
from signbridge.domain.models import utc_now
from signbridge.providers.zapsign import ZapSignClient
from simulators.base import Simulator, View
from simulators.oneshot.simulator import OneShotSimulator
from simulators.signatures.pki import pem_bundle
from simulators.zapsign.simulator import ZapSignSimulator

if TYPE_CHECKING:
    from local.stack import Companion, LocalStack

ProviderMode = Literal["simulator", "sandbox"]
PROVIDER_MODES: tuple[ProviderMode, ...] = ("simulator", "sandbox")

# Environment variables that choose the providers of `python -m local` (the command-line flags win).
LOCAL_ZAPSIGN = "SIGNBRIDGE_LOCAL_ZAPSIGN"  # simulator | sandbox
LOCAL_ZAPSIGN_URL = "SIGNBRIDGE_LOCAL_ZAPSIGN_URL"
LOCAL_ZAPSIGN_TOKEN_FILE = "SIGNBRIDGE_LOCAL_ZAPSIGN_TOKEN_FILE"  # noqa: S105 - the name of a variable
LOCAL_ZAPSIGN_PORT = "SIGNBRIDGE_LOCAL_ZAPSIGN_PORT"
LOCAL_ONESHOT = "SIGNBRIDGE_LOCAL_ONESHOT"  # simulator | sandbox
LOCAL_ONESHOT_URL = "SIGNBRIDGE_LOCAL_ONESHOT_URL"
LOCAL_ONESHOT_CREDENTIALS_FILE = "SIGNBRIDGE_LOCAL_ONESHOT_CREDENTIALS_FILE"
LOCAL_ONESHOT_PORT = "SIGNBRIDGE_LOCAL_ONESHOT_PORT"
LOCAL_PUBLIC_URL = "SIGNBRIDGE_LOCAL_PUBLIC_URL"  # a tunnel to the local gateway, for the real ZapSign's webhooks

ZAPSIGN_WEBHOOK_PATH = "/webhooks/zapsign"


# -- simulators ------------------------------------------------------------------------------------------------------


class _SimulatorLifecycle:
    """Starts and stops a simulator once, and records the files it serves (`served`) for the sha256 checks."""

    def __init__(self, simulator: Simulator) -> None:
        self.served = ServedFiles().install(simulator)
        self._simulator = simulator
        self._started = False

    def start(self) -> Self:
        if not self._started:
            self._simulator.start()
            self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._simulator.stop()
            self._started = False


class ZapSignSimulatorCompanion(_SimulatorLifecycle):
    """The ZapSign simulator on 127.0.0.1 (`port=0`: a free port)."""

    def __init__(
        self,
        *,
        port: int = 0,
        webhook_backoff_seconds: float = 0.5,
        file_link_lifetime_seconds: int = 3600,
        simulator: ZapSignSimulator | None = None,
    ) -> None:
        self.simulator = simulator or ZapSignSimulator(
            port=port,
            api_token=dev_values.ZAPSIGN_API_TOKEN,
            webhook_backoff_seconds=webhook_backoff_seconds,
            file_link_lifetime_seconds=file_link_lifetime_seconds,
        )
        super().__init__(self.simulator)

    @property
    def api_base_url(self) -> str:
        return self.simulator.api_base_url

    @property
    def control_url(self) -> str:
        return f"{self.simulator.base_url}/_sim/zapsign/"

    def environment(self) -> dict[str, str]:
        return {
            env_names.ZAPSIGN_BASE_URL: self.simulator.api_base_url,
            env_names.ZAPSIGN_FILE_HOSTS: f"{self.simulator.host}:{self.simulator.port}",
            env_names.ALLOW_LOOPBACK_HTTP: "true",
        }

    def secret_values(self) -> dict[str, Mapping[str, Any]]:
        return {env_names.ZAPSIGN_SECRET_NAME: {"api_token": dev_values.ZAPSIGN_API_TOKEN}}

    def describe(self) -> str:
        return f"ZapSign simulator  {self.api_base_url}  (control {self.control_url})"


class OneShotSimulatorCompanion(_SimulatorLifecycle):
    """The One-Shot Optimizer simulator on 127.0.0.1 (`port=0`: a free port)."""

    def __init__(self, *, port: int = 0, simulator: OneShotSimulator | None = None) -> None:
        self.simulator = simulator or OneShotSimulator(port=port)
        super().__init__(self.simulator)

    def start(self) -> Self:
        # SignBridge's clock follows the simulator's: moving the simulator's time (its control API) moves the
        # functions' rules with it (the resend minute), so tests move time instead of waiting.
        super().start()
        wiring.use_clock(self.now)
        return self

    def stop(self) -> None:
        wiring.use_clock(None)
        super().stop()

    def now(self) -> datetime:
        """The wall clock moved by the simulator's offset: the time the simulator and the functions share."""
        return utc_now() + timedelta(seconds=self.simulator.clock_offset)

    @property
    def api_base_url(self) -> str:
        return self.simulator.api_url

    @property
    def control_url(self) -> str:
        return f"{self.simulator.base_url}/_sim/oneshot/"

    def environment(self) -> dict[str, str]:
        return {
            env_names.ONESHOT_BASE_URL: self.simulator.api_url,
            env_names.ONESHOT_ENV: "sandbox",
            env_names.ALLOW_LOOPBACK_HTTP: "true",
        }

    def secret_values(self) -> dict[str, Mapping[str, Any]]:
        return {env_names.ONESHOT_SECRET_NAME: dict(dev_values.SECRET_VALUES[env_names.ONESHOT_SECRET_NAME])}

    def describe(self) -> str:
        return f"One-Shot simulator {self.api_base_url}  (control {self.control_url})"


# -- real providers ----------------------------------------------------------------------------------------------------


class ZapSignSandboxCompanion:
    """The real ZapSign sandbox (or any ZapSign base URL): nothing to start; the operator's API token."""

    def __init__(self, *, api_token: str, base_url: str = DEFAULT_ZAPSIGN_BASE_URL) -> None:
        ZapSignCredentials.model_validate({"api_token": api_token})  # refuses an empty token early
        self.api_token = api_token
        self.api_base_url = base_url.rstrip("/") + "/"

    def start(self) -> ZapSignSandboxCompanion:
        return self

    def stop(self) -> None:
        return None

    def environment(self) -> dict[str, str]:
        # File hosts keep the template's value (ZapSign's S3 hosts); loopback http stays off.
        return {env_names.ZAPSIGN_BASE_URL: self.api_base_url}

    def secret_values(self) -> dict[str, Mapping[str, Any]]:
        return {env_names.ZAPSIGN_SECRET_NAME: {"api_token": self.api_token}}

    def describe(self) -> str:
        return f"ZapSign (real)     {self.api_base_url}"

    def __repr__(self) -> str:
        return f"ZapSignSandboxCompanion(base_url={self.api_base_url!r}, api_token=***)"


class OneShotSandboxCompanion:
    """The public One-Shot test Optimizer (or any Optimizer): nothing to start; the operator's RAO and billing
    credentials, in the shape of the One-Shot secret (`signbridge.domain.credentials.OneShotCredentials`)."""

    def __init__(
        self, *, credentials: Mapping[str, Any], base_url: str = DEFAULT_ONESHOT_BASE_URL, env: str = "sandbox"
    ) -> None:
        OneShotCredentials.model_validate(dict(credentials))  # the shape the functions read, checked now
        self.credentials = dict(credentials)
        self.api_base_url = base_url.rstrip("/") + "/"
        self.env = env

    def start(self) -> OneShotSandboxCompanion:
        return self

    def stop(self) -> None:
        return None

    def environment(self) -> dict[str, str]:
        return {env_names.ONESHOT_BASE_URL: self.api_base_url, env_names.ONESHOT_ENV: self.env}

    def secret_values(self) -> dict[str, Mapping[str, Any]]:
        return {env_names.ONESHOT_SECRET_NAME: self.credentials}

    def describe(self) -> str:
        return f"One-Shot (real)    {self.api_base_url}  (env {self.env})"

    def __repr__(self) -> str:
        return f"OneShotSandboxCompanion(base_url={self.api_base_url!r}, credentials=***)"


class TrustAnchorsCompanion:
    """The trust anchors of the simulators in the stack, in one PEM file the functions are pointed at."""

    def __init__(self, simulators: list[Simulator]) -> None:
        self.simulators = simulators
        self.path: Path | None = None

    def pem(self) -> str:
        roots = {}
        for simulator in self.simulators:
            for root in simulator.signatures.pki.trust_anchors():
                roots[root.fingerprint(hashes.SHA256())] = root
        return pem_bundle(list(roots.values()))

    def start(self) -> TrustAnchorsCompanion:
        if self.path is None:
            handle, name = tempfile.mkstemp(prefix="signbridge-trust-anchors-", suffix=".pem")
            with os.fdopen(handle, "w", encoding="ascii") as file:
                file.write(self.pem())
            self.path = Path(name)
        return self

    def stop(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None

    def environment(self) -> dict[str, str]:
        return {env_names.TRUST_ANCHORS_FILE: str(self.path)} if self.path is not None else {}

    def describe(self) -> str:
        return f"Trust anchors      {self.path}  ({env_names.TRUST_ANCHORS_FILE}: the simulators' test root)"


ZapSignCompanion = ZapSignSimulatorCompanion | ZapSignSandboxCompanion
OneShotCompanion = OneShotSimulatorCompanion | OneShotSandboxCompanion


# -- both, and the webhook ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookRegistration:
    webhook_id: str
    url: str


@dataclass
class Providers:
    """The two provider companions of one local stack."""

    zapsign: ZapSignCompanion
    oneshot: OneShotCompanion
    public_url: str | None = None  # where a real ZapSign can reach the local gateway (a tunnel), if anywhere
    webhook: WebhookRegistration | None = field(default=None, init=False)
    trust_anchors: TrustAnchorsCompanion | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        simulators: list[Simulator] = [
            simulator for simulator in (self.zapsign_simulator, self.oneshot_simulator) if simulator is not None
        ]
        self.trust_anchors = TrustAnchorsCompanion(simulators) if simulators else None

    @classmethod
    def simulated(
        cls, *, zapsign_port: int = 0, oneshot_port: int = 0, webhook_backoff_seconds: float = 0.5
    ) -> Providers:
        return cls(
            zapsign=ZapSignSimulatorCompanion(port=zapsign_port, webhook_backoff_seconds=webhook_backoff_seconds),
            oneshot=OneShotSimulatorCompanion(port=oneshot_port),
        )

    def companions(self) -> tuple[Companion, ...]:
        """The providers, then (with a simulator) the trust anchors file, written once the simulators are up."""
        return (
            (self.zapsign, self.oneshot)
            if self.trust_anchors is None
            else (self.zapsign, self.oneshot, self.trust_anchors)
        )

    def secret_values(self) -> dict[str, Mapping[str, Any]]:
        """Every secret of the stack: the development values, with each provider's own over them."""
        return {**dev_values.SECRET_VALUES, **self.zapsign.secret_values(), **self.oneshot.secret_values()}

    @property
    def zapsign_simulator(self) -> ZapSignSimulator | None:
        return self.zapsign.simulator if isinstance(self.zapsign, ZapSignSimulatorCompanion) else None

    @property
    def oneshot_simulator(self) -> OneShotSimulator | None:
        return self.oneshot.simulator if isinstance(self.oneshot, OneShotSimulatorCompanion) else None

    @property
    def simulated_both(self) -> bool:
        return self.zapsign_simulator is not None and self.oneshot_simulator is not None

    def describe(self) -> list[str]:
        extra = [self.trust_anchors.describe()] if self.trust_anchors is not None else []
        return [self.zapsign.describe(), self.oneshot.describe(), *extra]

    def connect(self, stack: LocalStack) -> WebhookRegistration | None:
        """Register the ZapSign webhook for the running stack, once (None when ZapSign cannot reach it)."""
        if self.webhook is not None:
            return self.webhook
        if isinstance(self.zapsign, ZapSignSimulatorCompanion):
            base = stack.api_url
        elif self.public_url:
            base = self.public_url.rstrip("/")
        else:
            return None
        self.webhook = register_zapsign_webhook(stack, webhook_url=base + ZAPSIGN_WEBHOOK_PATH)
        return self.webhook


def register_zapsign_webhook(
    stack: LocalStack, *, webhook_url: str | None = None, function: str = api_routes.ZAPSIGN_WEBHOOK
) -> WebhookRegistration:
    """Register `webhook_url` (default `{api_url}/webhooks/zapsign`) at the ZapSign the stack's functions talk to,
    with the current webhook secret in `api_routes.ZAPSIGN_WEBHOOK_SECRET_HEADER`, through `ZapSignClient` — exactly
    what an operator does. The API token and the secret are read from the stack's Secrets Manager."""
    environment = stack.function_environment(function)
    secrets = stack.client("secretsmanager")

    def secret(variable: str) -> Any:
        return json.loads(secrets.get_secret_value(SecretId=environment[variable])["SecretString"])

    token = ZapSignCredentials.model_validate(secret(env_names.ZAPSIGN_SECRET_NAME)).api_token.get_secret_value()
    current_secret = WebhookSecrets.model_validate(secret(env_names.WEBHOOK_SECRET_NAME)).accepted_zapsign()[0]
    url = webhook_url or stack.api_url + ZAPSIGN_WEBHOOK_PATH
    client = ZapSignClient(environment[env_names.ZAPSIGN_BASE_URL], token)
    try:
        webhook_id = client.create_webhook(
            url, type="", headers={api_routes.ZAPSIGN_WEBHOOK_SECRET_HEADER: current_secret}
        )
    finally:
        client.http.session.close()
    return WebhookRegistration(webhook_id=webhook_id, url=url)


# -- configuration -----------------------------------------------------------------------------------------------------


class ProviderConfigError(ValueError):
    """The provider configuration is incomplete (e.g. the sandbox without a token)."""


def providers_from_settings(
    *,
    zapsign: str | None = None,
    zapsign_url: str | None = None,
    zapsign_token_file: Path | None = None,
    zapsign_port: int | None = None,
    oneshot: str | None = None,
    oneshot_url: str | None = None,
    oneshot_credentials_file: Path | None = None,
    oneshot_port: int | None = None,
    public_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Providers:
    """The providers chosen by arguments, falling back to the `SIGNBRIDGE_LOCAL_*` environment variables, falling
    back to the simulators on free ports."""
    env = os.environ if environ is None else environ
    zapsign_mode = _mode(zapsign or env.get(LOCAL_ZAPSIGN) or "simulator", "ZapSign")
    oneshot_mode = _mode(oneshot or env.get(LOCAL_ONESHOT) or "simulator", "One-Shot")

    zapsign_companion: ZapSignCompanion
    if zapsign_mode == "simulator":
        zapsign_companion = ZapSignSimulatorCompanion(port=_port(zapsign_port, env.get(LOCAL_ZAPSIGN_PORT)))
    else:
        token_file = zapsign_token_file or _path(env.get(LOCAL_ZAPSIGN_TOKEN_FILE))
        if token_file is None:
            raise ProviderConfigError(
                f"ZapSign sandbox: give --zapsign-token-file or {LOCAL_ZAPSIGN_TOKEN_FILE} (a file holding the token)"
            )
        zapsign_companion = ZapSignSandboxCompanion(
            api_token=_read_text(token_file),
            base_url=zapsign_url or env.get(LOCAL_ZAPSIGN_URL) or DEFAULT_ZAPSIGN_BASE_URL,
        )

    oneshot_companion: OneShotCompanion
    if oneshot_mode == "simulator":
        oneshot_companion = OneShotSimulatorCompanion(port=_port(oneshot_port, env.get(LOCAL_ONESHOT_PORT)))
    else:
        credentials_file = oneshot_credentials_file or _path(env.get(LOCAL_ONESHOT_CREDENTIALS_FILE))
        if credentials_file is None:
            raise ProviderConfigError(
                "One-Shot sandbox: give --oneshot-credentials-file or "
                f"{LOCAL_ONESHOT_CREDENTIALS_FILE} (JSON: token or username/password/pin, billing_username, "
                "billing_password (Base64), registration_authority, profile)"
            )
        try:
            credentials = json.loads(_read_text(credentials_file))
        except json.JSONDecodeError as error:
            raise ProviderConfigError(f"{credentials_file}: not JSON ({error.msg})") from None
        if not isinstance(credentials, dict):
            raise ProviderConfigError(f"{credentials_file}: a JSON object is expected")
        oneshot_companion = OneShotSandboxCompanion(
            credentials=credentials, base_url=oneshot_url or env.get(LOCAL_ONESHOT_URL) or DEFAULT_ONESHOT_BASE_URL
        )

    public = public_url or env.get(LOCAL_PUBLIC_URL) or None
    if public is not None and urlsplit(public).scheme != "https":
        raise ProviderConfigError(f"the public URL must be https (ZapSign calls it): {public}")
    return Providers(zapsign=zapsign_companion, oneshot=oneshot_companion, public_url=public)


def _mode(value: str, provider: str) -> ProviderMode:
    normalized = value.strip().lower()
    if normalized == "real":
        normalized = "sandbox"
    for mode in PROVIDER_MODES:
        if normalized == mode:
            return mode
    raise ProviderConfigError(f"{provider}: {value!r} is not one of {', '.join(PROVIDER_MODES)} (or 'real')")


def _port(argument: int | None, variable: str | None) -> int:
    if argument is not None:
        return argument
    if variable:
        try:
            return int(variable)
        except ValueError:
            raise ProviderConfigError(f"not a port number: {variable!r}") from None
    return 0


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ProviderConfigError(f"cannot read {path}: {error.strerror}") from None
    if not text:
        raise ProviderConfigError(f"{path} is empty")
    return text


# -- what the simulators served ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServedFile:
    endpoint: str
    path: str
    size: int
    sha256: str


class ServedFiles:
    """Records the sha256 of every file a simulator serves (ZapSign's file links, the Optimizer's document
    retrievals), so a test or the demo can check that what SignBridge stored is exactly what the provider gave."""

    ENDPOINTS: tuple[str, ...] = ("file", "document_retrieve", "contract")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.files: list[ServedFile] = []

    def install(self, simulator: Simulator) -> ServedFiles:
        for endpoint in self.ENDPOINTS:
            view = simulator.views.get(endpoint)
            if view is not None:
                simulator.views[endpoint] = self._recording(endpoint, view)
        return self

    def digests(self) -> set[str]:
        with self._lock:
            return {served.sha256 for served in self.files}

    def _recording(self, endpoint: str, view: View) -> View:
        def recording(request: Request, **arguments: Any) -> Response:
            response = view(request, **arguments)
            if response.status_code == 200 and not response.is_streamed:
                data = response.get_data()
                served = ServedFile(endpoint, request.path, len(data), hashlib.sha256(data).hexdigest())
                with self._lock:
                    self.files.append(served)
            return response

        return recording
