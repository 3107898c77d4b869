"""`LocalStack`: all of SignBridge on one machine, on loopback, wired from the synthesized CloudFormation template.

    with LocalStack(LocalStackConfig(api_port=8000)) as stack:
        print(stack.api_url)              # the HTTP API
        stack.invoke("reconciler", {...})  # one invocation
        stack.trigger_schedule("reconciler")

`start()`: synthesize the template if its inputs changed (`local.synth`), read it (`local.template`), start moto and
create the table, bucket(s), queues and secrets (`local.aws`), bind the API gateway (its URL is part of the
functions' environment), start the companions (the provider simulators), register the functions with their resolved
environments in the runtime (`local.runtime`: in this process, or in execution environment processes with
`function_processes`), then start the SQS pollers (`local.pollers`), the S3
notification relay (`local.notifications`), the scheduler (`local.scheduler`) and the gateway (`local.gateway`).
`stop()` undoes it all in reverse order, joins every thread and closes every server.

One `LocalStack` runs per process at a time: moto's state, `os.environ` and boto3's default session are process-wide.

Hooks for what is not the template's:
- `overrides`: environment values layered over every function's template environment (e.g. the simulators' base
  URLs: `SIGNBRIDGE_ZAPSIGN_BASE_URL`, `SIGNBRIDGE_ONESHOT_BASE_URL`, `SIGNBRIDGE_ZAPSIGN_FILE_HOSTS`,
  `SIGNBRIDGE_ALLOW_LOOPBACK_HTTP=true`).
- `companions`: services started before the functions are wired and stopped after them; each may contribute
  environment overrides (`Companion.environment()`), applied before `overrides`. The provider simulators plug in here.
  When they start, `stack.api_url` and `stack.aws_endpoint_url` are already known (e.g. for webhook delivery).
- `function_overrides`: a function name -> another handler (`"pkg.module"` for its `handler`, `"pkg.module:name"`,
  or a callable); for tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from local import synth
from local.aws import AwsEmulator, point_boto3_at
from local.environ import current_function, lambda_environment
from local.gateway import DEFAULT_PORT, ApiGateway, GatewayRoute
from local.iam import IamEnforcer, IamError, enforcer_for, event_source_mapping_errors
from local.notifications import DEFAULT_RETRY_DELAYS, NotificationConfig, S3NotificationRelay
from local.pollers import DEFAULT_MAX_CONCURRENCY, MappingConfig, SqsPoller
from local.provision import Provisioned, provision
from local.runtime import (
    DEFAULT_MAX_ENVIRONMENTS,
    Handler,
    Invocation,
    LambdaRuntime,
    LocalFunction,
)
from local.scheduler import ScheduleConfig, Scheduler
from local.template.names import AwsIdentity, LocalNames
from local.template.parser import load_template
from local.template.resolver import Resolver
from local.template.specs import TemplateModel, TemplateWarning
from signbridge.api_routes import LOCAL_DOCS_ROUTE

logger = logging.getLogger("signbridge.local")


class Companion(Protocol):
    """A service the stack runs alongside the functions (a provider simulator)."""

    def start(self) -> object: ...

    def stop(self) -> None: ...

    def environment(self) -> Mapping[str, str]:
        """Environment overrides for the functions once started (e.g. the simulator's base URL)."""
        ...


@dataclass(frozen=True, kw_only=True)
class LocalStackConfig:
    stage: str = synth.DEFAULT_STAGE
    template: Path | None = None  # use this template as is (no synthesis)
    cdk_out: Path = synth.DEFAULT_OUTDIR
    synth_context: Mapping[str, Any] = field(default_factory=dict)  # extra CDK context for the local synth
    api_port: int = DEFAULT_PORT  # 0: any free port
    aws_port: int = 0
    aws_process: bool = True  # moto in a process of its own (another core); False: a thread of this one
    region: str = "us-east-1"
    overrides: Mapping[str, str] = field(default_factory=dict)
    companions: Sequence[Companion] = ()
    function_overrides: Mapping[str, str | Handler] = field(default_factory=dict)
    queue_attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # logical id or "*" -> attrs
    secret_values: Mapping[str, Mapping[str, Any]] | None = None  # env var naming a secret -> its local value
    pollers: bool = True
    notifications: bool = True
    schedules: bool = True  # fire rules on their schedule (trigger_schedule works either way)
    async_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS  # S3 and schedule invocations
    iam: bool = True  # check every AWS call of a function against its role in the template (`local.iam`)
    # Each execution environment a process of its own (`local.lambda_process`), as in Lambda: no state shared by
    # concurrent invocations, every core used. False: handler module copies in this process (tests that look into a
    # handler's module, hooks that patch this process: chaos).
    function_processes: bool = False


_process_lock = threading.Lock()
_running: LocalStack | None = None


class LocalStack:
    def __init__(self, config: LocalStackConfig | None = None) -> None:
        self.config = config or LocalStackConfig()
        self.identity = AwsIdentity(region=self.config.region)
        self.model: TemplateModel | None = None
        self.names: LocalNames | None = None
        self.provisioned: Provisioned | None = None
        self.warnings: list[TemplateWarning] = []
        self.aws = AwsEmulator(
            port=self.config.aws_port, identity=self.identity, separate_process=self.config.aws_process
        )
        self.runtime = LambdaRuntime(processes=self.config.function_processes)
        self.gateway: ApiGateway | None = None
        self.pollers: list[SqsPoller] = []
        self.relay: S3NotificationRelay | None = None
        self.scheduler: Scheduler | None = None
        self.iam: IamEnforcer | None = None
        self._restore_boto3: Callable[[], None] | None = None
        self._started_companions: list[Companion] = []
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        global _running  # noqa: PLW0603 - one stack per process, by construction
        with _process_lock:
            if _running is not None:
                raise RuntimeError("a LocalStack is already running in this process; stop it first")
            _running = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        config = self.config
        self._started = True
        template = config.template or synth.ensure_template(
            stage=config.stage, outdir=config.cdk_out, context=config.synth_context
        )
        model = self.model = load_template(template)
        self.warnings.extend(model.warnings)
        unknown = sorted(set(config.function_overrides) - set(model.function_names()))
        if unknown:
            raise ValueError(f"function_overrides names functions the template does not have: {unknown}")

        self.aws.start()
        self._restore_boto3 = point_boto3_at(self.aws)

        routes = self._routes(model)
        api = next(iter(model.apis.values()), None)
        self.gateway = ApiGateway(
            routes,
            lambda function, event: self.runtime.invoke(function, event, trigger="apigw"),
            identity=self.identity,
            cors=api.cors if api else None,
            port=config.api_port,
        ).open()
        names = self.names = LocalNames(
            model, identity=self.identity, aws_endpoint_url=self.aws.endpoint_url, api_url=self.gateway.url
        )
        if api is not None:
            self.gateway.api_id = names.physical(api.logical_id).ref

        self.provisioned = provision(
            self.aws,
            model,
            names,
            queue_attributes=config.queue_attributes,
            secret_values=config.secret_values,
        )
        self.warnings.extend(self.provisioned.warnings)

        companion_environment: dict[str, str] = {}
        for companion in config.companions:
            companion.start()
            self._started_companions.append(companion)
            companion_environment.update(companion.environment())

        resolver = Resolver(model, names)
        for spec in model.functions.values():
            physical = names.physical(spec.logical_id)
            log_group = resolver.resolve_str(spec.log_group) if spec.log_group else ""
            handler = _handler(config.function_overrides.get(spec.name), spec.handler)
            # Room for every batch its event source mappings may run at once, and for concurrent HTTP requests.
            mapped = sum(
                m.max_concurrency or DEFAULT_MAX_CONCURRENCY
                for m in model.event_source_mappings
                if m.function == spec.logical_id
            )
            self.runtime.register(
                LocalFunction(
                    name=spec.name,
                    function_name=physical.ref,
                    arn=physical.attributes["Arn"],
                    handler=handler,
                    timeout_seconds=spec.timeout_seconds,
                    memory_mb=spec.memory_mb,
                    environment=lambda_environment(
                        template_environment=resolver.environment(spec),
                        function_name=physical.ref,
                        handler=spec.handler,
                        memory_mb=spec.memory_mb,
                        log_group_name=log_group or f"/aws/lambda/{physical.ref}",
                        region=self.identity.region,
                        runtime=spec.runtime or "python3.13",
                        log_format=spec.log_format,
                        application_log_level=spec.application_log_level,
                        overrides={**companion_environment, **config.overrides},
                    ),
                    log_group_name=log_group or f"/aws/lambda/{physical.ref}",
                    max_environments=spec.reserved_concurrency or max(DEFAULT_MAX_ENVIRONMENTS, mapped),
                )
            )
        self.warnings.extend(w for w in resolver.warnings if w not in self.warnings)
        if config.iam:
            self._enforce_iam(model, names)
        self.runtime.open()

        sqs = self.aws.client("sqs")
        for mapping in model.event_source_mappings:
            queue = names.physical(mapping.queue)
            poller = SqsPoller(
                MappingConfig(
                    name=mapping.logical_id,
                    function=model.functions[mapping.function].name,
                    queue_url=queue.ref,
                    queue_arn=queue.attributes["Arn"],
                    batch_size=mapping.batch_size,
                    batching_window_seconds=mapping.batching_window_seconds,
                    report_batch_item_failures=mapping.report_batch_item_failures,
                    max_concurrency=mapping.max_concurrency,
                    enabled=mapping.enabled,
                ),
                invoke=lambda function, event: self.runtime.invoke(function, event, trigger="sqs"),
                sqs_client=sqs,
                region=self.identity.region,
            )
            self.pollers.append(poller)
            if config.pollers:
                poller.start()

        self.relay = S3NotificationRelay(
            [
                NotificationConfig(
                    bucket=names.physical(item.bucket).ref,
                    function=model.functions[item.function].name,
                    events=item.events,
                    prefix=item.prefix,
                    suffix=item.suffix,
                    configuration_id=item.configuration_id,
                )
                for item in model.notifications
            ],
            invoke=lambda function, event: self.runtime.invoke(function, event, trigger="s3", sync_limit=False),
            sqs_client=sqs,
            s3_client=self.aws.client("s3"),
            region=self.identity.region,
            account_id=self.identity.account_id,
            retry_delays=config.async_retry_delays,
        )
        if config.notifications:
            self.relay.start()

        self.scheduler = Scheduler(
            [
                ScheduleConfig(
                    name=rule.logical_id,
                    rule_arn=names.physical(rule.logical_id).attributes["Arn"],
                    expression=rule.expression,
                    targets=tuple((model.functions[t.function].name, t.input) for t in rule.targets),
                    enabled=rule.enabled,
                    aliases=tuple(
                        {names.physical(rule.logical_id).ref, *(model.functions[t.function].name for t in rule.targets)}
                    ),
                )
                for rule in model.schedules.values()
            ],
            invoke=lambda function, event: self.runtime.invoke(function, event, trigger="schedule", sync_limit=False),
            account_id=self.identity.account_id,
            region=self.identity.region,
            retry_delays=config.async_retry_delays,
        )
        if config.schedules:
            self.scheduler.start()

        self.gateway.serve()
        for warning in self.warnings:
            logger.warning("template: %s", warning)
        logger.info("local stack up: API %s, AWS %s", self.api_url, self.aws_endpoint_url)

    def stop(self) -> None:
        """Stop everything that was started, in reverse order; safe to call twice or after a failed start."""
        global _running  # noqa: PLW0603
        # Tell every background loop to stop first, so they wind down together rather than one after the other.
        for loop in (self.scheduler, self.relay, *self.pollers):
            if loop is not None:
                loop.signal_stop()
        steps: list[tuple[str, Callable[[], None]]] = []
        if self.gateway is not None:
            steps.append(("gateway", self.gateway.stop))
        if self.scheduler is not None:
            steps.append(("scheduler", self.scheduler.stop))
        if self.relay is not None:
            steps.append(("notifications", self.relay.stop))
        steps += [(f"poller {p.config.name}", p.stop) for p in self.pollers]
        steps.append(("runtime", self.runtime.close))
        if self.iam is not None:
            steps.append(("iam", self.iam.uninstall))
        steps += [(f"companion {type(c).__name__}", c.stop) for c in reversed(self._started_companions)]
        if self._restore_boto3 is not None:
            steps.append(("boto3 environment", self._restore_boto3))
        steps.append(("moto", self.aws.stop))
        for name, step in steps:
            try:
                step()
            except Exception:
                logger.exception("stopping %s failed", name)
        self.gateway = None
        self.scheduler = None
        self.relay = None
        self.iam = None
        self.pollers = []
        self._started_companions = []
        self._restore_boto3 = None
        with _process_lock:
            if _running is self:
                _running = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and resources ----------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        if self.gateway is None:
            raise RuntimeError("the stack is not started")
        return self.gateway.url

    @property
    def aws_endpoint_url(self) -> str:
        return self.aws.endpoint_url

    def client(self, service: str) -> Any:
        """A boto3 client bound to the stack's AWS emulation."""
        return self.aws.client(service)

    def resources(self) -> dict[str, str]:
        """Local names of the stateful resources, by logical id (tables, buckets, queue URLs, secret ARNs)."""
        provisioned = self._require(self.provisioned)
        return {**provisioned.tables, **provisioned.buckets, **provisioned.queues, **provisioned.secrets}

    def function_environment(self, function: str) -> dict[str, str]:
        return dict(self.runtime.functions[function].environment)

    # -- driving it -----------------------------------------------------------------------------------------------

    def invoke(self, function: str, event: Any) -> Invocation:
        """Invoke a function synchronously, as `lambda invoke` would."""
        return self.runtime.invoke(function, event)

    def trigger_schedule(self, name: str) -> list[Invocation]:
        """Fire a schedule now (by rule logical id, rule name, or target function name)."""
        return self._require(self.scheduler).trigger(name)

    @property
    def invocations(self) -> list[Invocation]:
        return self.runtime.invocations

    def wait_until_idle(self, timeout: float = 30.0, *, settle: float = 0.3) -> bool:
        """Wait until no queue has a message left, no batch or notification is in flight, for `settle` seconds."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if self._idle():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    return True
            else:
                quiet_since = None
            time.sleep(0.05)
        return False

    def _idle(self) -> bool:
        if any(poller.in_flight for poller in self.pollers):
            return False
        if self.relay is not None and (self.relay.busy or (self.config.notifications and self.relay.pending())):
            return False
        sqs = self.aws.client("sqs")
        for poller in self.pollers:
            attributes = sqs.get_queue_attributes(
                QueueUrl=poller.config.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if int(attributes["ApproximateNumberOfMessages"]) or int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            ):
                return False
        return True

    # -- internals ------------------------------------------------------------------------------------------------

    def _enforce_iam(self, model: TemplateModel, names: LocalNames) -> None:
        """Check every call a function makes against its role from now on; refuse what AWS refuses at deployment."""
        functions = {name: function.function_name for name, function in self.runtime.functions.items()}
        enforcer, warnings = enforcer_for(model, names, current_function=current_function, function_names=functions)
        self.warnings.extend(w for w in warnings if w not in self.warnings)
        errors = event_source_mapping_errors(model, names, enforcer.permissions)
        if errors:
            raise IamError("; ".join(errors))
        enforcer.install()
        self.iam = enforcer
        self.runtime.iam = enforcer

    @staticmethod
    def _routes(model: TemplateModel) -> list[GatewayRoute]:
        routes = [
            GatewayRoute(
                method=route.method,
                path=route.path,
                function=model.functions[route.function].name,
                authorization_type=route.authorization_type,
                function_timeout_seconds=model.functions[route.function].timeout_seconds,
            )
            for route in model.routes
        ]
        return routes + _local_only_routes(routes)

    @staticmethod
    def _require(value: Any) -> Any:
        if value is None:
            raise RuntimeError("the stack is not started")
        return value


# Routes the local stack adds to the template's: the interactive docs page, answered by the function that serves the
# OpenAPI document (`signbridge.api_routes.LOCAL_DOCS_ROUTE`; the deployed API has no such route).
LOCAL_ONLY_ROUTES: Mapping[tuple[str, str], tuple[str, str]] = {
    (LOCAL_DOCS_ROUTE.method, LOCAL_DOCS_ROUTE.path): ("GET", "/v1/openapi.json"),
}


def _local_only_routes(routes: Sequence[GatewayRoute]) -> list[GatewayRoute]:
    by_key = {(route.method, route.path): route for route in routes}
    return [
        replace(by_key[sibling], method=method, path=path)
        for (method, path), sibling in LOCAL_ONLY_ROUTES.items()
        if sibling in by_key and (method, path) not in by_key
    ]


def _handler(override: str | Handler | None, template_handler: str) -> str | Handler:
    """The handler to run: the template's, or an override (`pkg.module` -> `pkg.module.handler`)."""
    if override is None:
        return template_handler
    if callable(override):
        return override
    if ":" in override:
        module, attribute = override.split(":", 1)
        return f"{module}.{attribute}"
    return f"{override}.handler"
