"""Run the Lambda handlers the way Lambda would, each function with its own environment: `LambdaRuntime`.

Every function has its own pool of *execution environments*, one per concurrent invocation, each running one
invocation at a time. They are either

- processes (`LambdaRuntime(processes=True)`, `local.lambda_process`): forks of one initialised process per function,
  so nothing is shared by two environments, the API's invocations run in parallel and the functions use every core;
  each process checks its calls against the function's role (`iam`) and counts them (`Invocation.aws_calls`); or
- in this process (the default, and always for a handler given as a callable): the first environment imports the
  handler module itself, each further one loads its own copy (`<module>__local_env_<n>`), so module level state a
  handler keeps (a Powertools `BatchProcessor`, a resolver, a logger's appended keys) is not shared by two
  invocations at the same time. Modules the handler imports are shared by the whole process, and so is what
  Powertools keeps per class: invocations of a handler holding a Powertools router run one at a time. The handler
  module is imported inside the function's environment (a Powertools `Logger()` at import time reads its service
  name there); `local.environ` gives each invocation its function's `os.environ` and settings cache.

Each invocation gets a Lambda context object (`aws_request_id`, `get_remaining_time_in_millis()` counting down from
the template's timeout, …), its event and result go through JSON like Lambda's payloads (6 MB limit for synchronous
calls), and is recorded as an `Invocation` (function, trigger, duration, outcome) for the benchmark.

A handler that runs past its timeout is reported as a timeout (its result discarded, its environment thrown away),
which is what the caller would have seen: a process is killed at the timeout, as Lambda does; in this process a
handler cannot be stopped, so it runs to the end first.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from local.environ import (
    FUNCTION_OWNED_PREFIXES,
    Layer,
    function_environment,
    install_process_hooks,
    process_environment,
    uninstall_process_hooks,
)
from local.lambda_process import Answer, FunctionProcesses, IamGrant, Init, ProcessEnvironment

logger = logging.getLogger("signbridge.local.runtime")


SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # Lambda's limit for a synchronous request or response payload


DEFAULT_MAX_ENVIRONMENTS = 10  # concurrent execution environments per function when the template sets no limit


Handler = Callable[[Any, Any], Any]

# In-process environments only: held around every invocation of a handler that resolves through a Powertools router
# (Powertools keeps the current event on the router class, shared by every copy of the handler module).
_ROUTER_STATE_LOCK = threading.Lock()


class LambdaContext:
    """The context object of the Lambda Python runtime (awslambdaric), field for field."""

    def __init__(self, function: LocalFunction, request_id: str, log_stream_name: str, deadline: float) -> None:
        self.function_name = function.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = str(function.memory_mb)  # a string in the real runtime too
        self.aws_request_id = request_id
        self.log_group_name = function.log_group_name
        self.log_stream_name = log_stream_name
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r})"


@dataclass(frozen=True)
class LocalFunction:
    """A function as the runtime runs it: where its handler is and what its environment holds."""

    name: str  # SignBridge name: "worker"
    function_name: str  # the Lambda function name (template FunctionName, or generated)
    arn: str
    handler: str | Handler  # Lambda syntax "package.module.function", or a callable (tests)
    timeout_seconds: float
    memory_mb: int
    environment: Mapping[str, str]  # complete: template values, Lambda-reserved variables, local overrides
    log_group_name: str
    max_environments: int = DEFAULT_MAX_ENVIRONMENTS


class FunctionError(Exception):
    """A function invocation did not succeed (handler error, timeout, unserializable result)."""

    def __init__(self, invocation: Invocation) -> None:
        super().__init__(f"{invocation.function} {invocation.outcome}: {invocation.error_message}")
        self.invocation = invocation


class PayloadTooLargeError(ValueError):
    """The event exceeds Lambda's synchronous payload limit; the function is not invoked."""


@dataclass
class Invocation:
    function: str
    trigger: str  # apigw | sqs | s3 | schedule | direct
    request_id: str
    started_at: float  # epoch seconds
    duration_ms: float = 0.0
    outcome: str = "pending"  # success | error | timeout
    cold_start: bool = False
    result: Any = None
    error_type: str = ""
    error_message: str = ""
    aws_calls: Counter[str] | None = None  # an environment process's AWS calls (service.Operation), as it counted them

    @property
    def succeeded(self) -> bool:
        return self.outcome == "success"

    def raise_for_error(self) -> Any:
        if not self.succeeded:
            raise FunctionError(self)
        return self.result


@dataclass
class _ExecutionEnvironment:
    index: int
    handler: Handler
    layer: Layer
    log_stream_name: str
    fresh: bool = True
    shares_router_state: bool = False

    def exclusive(self) -> AbstractContextManager[object]:
        return _ROUTER_STATE_LOCK if self.shares_router_state else nullcontext()


@dataclass
class _ProcessSlot:
    """An execution environment that is a process of its own (`local.lambda_process`)."""

    index: int
    process: ProcessEnvironment
    fresh: bool = True


_Environment = _ExecutionEnvironment | _ProcessSlot


class _FunctionPool:
    def __init__(self, function: LocalFunction) -> None:
        self.function = function
        self.idle: list[_Environment] = []
        self.processes: list[ProcessEnvironment] = []  # every environment process started and not yet stopped
        self.template: FunctionProcesses | None = None  # the initialised process they are forked from
        self.template_lock = threading.Lock()
        self.count = 0
        self.created = 0
        self.condition = threading.Condition()


class LambdaRuntime:
    """Invokes the registered functions. `open()` installs the process hooks, `close()` removes them and stops the
    execution environment processes.

    `processes=True`: each execution environment of a function whose handler is named (not a callable) is a process
    of its own (`local.lambda_process`); `iam`, when set, is the enforcer whose role for the function each process
    checks its calls against. Otherwise environments are handler module copies in this process.
    """

    def __init__(self, functions: Mapping[str, LocalFunction] | None = None, *, processes: bool = False) -> None:
        self._pools: dict[str, _FunctionPool] = {}
        self._invocations: list[Invocation] = []
        self._lock = threading.Lock()
        self._open = False
        self.processes = processes
        self.iam: Any = None  # local.iam.IamEnforcer, for the processes
        for function in (functions or {}).values():
            self.register(function)

    def register(self, function: LocalFunction) -> None:
        self._pools[function.name] = _FunctionPool(function)

    @property
    def functions(self) -> dict[str, LocalFunction]:
        return {name: pool.function for name, pool in self._pools.items()}

    def open(self) -> LambdaRuntime:
        if not self._open:
            install_process_hooks()
            self._open = True
        return self

    def close(self) -> None:
        if self._open:
            for pool in self._pools.values():  # every process told at once, then each waited for
                with pool.template_lock:
                    if pool.template is not None:
                        pool.template.signal_stop()
            for pool in self._pools.values():
                with pool.condition:
                    processes, pool.processes = pool.processes, []
                    kept: list[_Environment] = [e for e in pool.idle if not isinstance(e, _ProcessSlot)]
                    pool.count -= len(pool.idle) - len(kept)
                    pool.idle = kept
                for process in processes:
                    process.close()
                with pool.template_lock:
                    template, pool.template = pool.template, None
                if template is not None:
                    template.close()
            uninstall_process_hooks()
            self._open = False

    def __enter__(self) -> LambdaRuntime:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def invocations(self) -> list[Invocation]:
        with self._lock:
            return list(self._invocations)

    def invoke(self, name: str, event: Any, *, trigger: str = "direct", sync_limit: bool = True) -> Invocation:
        """Run one invocation and return its record; a handler error is an outcome, not an exception.

        Raises `PayloadTooLargeError` (nothing invoked) for an event over the synchronous payload limit when
        `sync_limit` is set, and `KeyError` for an unknown function.
        """
        if not self._open:
            raise RuntimeError("the runtime is not open")
        pool = self._pools[name]
        function = pool.function
        payload = json.dumps(event)
        if sync_limit and len(payload.encode()) > SYNC_PAYLOAD_LIMIT:
            raise PayloadTooLargeError(f"{name}: request payload of {len(payload)} bytes exceeds {SYNC_PAYLOAD_LIMIT}")
        request_id = str(uuid.uuid4())
        record = Invocation(function=name, trigger=trigger, request_id=request_id, started_at=time.time())
        environment = self._lease(pool)
        started = time.monotonic()
        keep_environment = True
        try:
            record.cold_start = environment.fresh
            environment.fresh = False
            if isinstance(environment, _ProcessSlot):
                keep_environment = self._run_in_process(environment, function, payload, record, sync_limit)
            else:
                self._run_here(environment, function, payload, record, sync_limit)
            elapsed = time.monotonic() - started
            if elapsed > function.timeout_seconds and record.outcome != "timeout":
                record.outcome = "timeout"
                record.result = None
                record.error_type = "Sandbox.Timedout"
                record.error_message = f"Task timed out after {function.timeout_seconds:.2f} seconds"
            if record.outcome == "timeout":
                keep_environment = False  # Lambda tears the environment down after a timeout
                logger.error("%s %s: %s", name, request_id, record.error_message)
        finally:
            record.duration_ms = (time.monotonic() - started) * 1000
            self._release(pool, environment, keep=keep_environment)
            with self._lock:
                self._invocations.append(record)
        return record

    def _run_here(
        self,
        environment: _ExecutionEnvironment,
        function: LocalFunction,
        payload: str,
        record: Invocation,
        sync_limit: bool,
    ) -> None:
        context = LambdaContext(
            function, record.request_id, environment.log_stream_name, time.monotonic() + function.timeout_seconds
        )
        environment.layer.values["_X_AMZN_TRACE_ID"] = _trace_header()
        with environment.exclusive(), function_environment(function.name, environment.layer):
            try:
                result = environment.handler(json.loads(payload), context)
                encoded = json.dumps(result)
            except Exception as error:  # the handler's failure is the invocation's outcome
                record.outcome = "error"
                record.error_type = type(error).__name__
                record.error_message = str(error)
                logger.error(
                    "%s %s failed: %s\n%s", function.name, record.request_id, error, traceback.format_exc()
                )  # as Lambda logs it
                return
        _settle_result(record, encoded, sync_limit)

    def _run_in_process(
        self, environment: _ProcessSlot, function: LocalFunction, payload: str, record: Invocation, sync_limit: bool
    ) -> bool:
        """One invocation in the environment's process; whether the environment may be used again."""
        answer = environment.process.invoke(
            payload, request_id=record.request_id, timeout_seconds=function.timeout_seconds, trace_id=_trace_header()
        )
        record.aws_calls = answer.aws_calls
        if answer.outcome == "success":
            _settle_result(record, answer.result, sync_limit)
            return True
        record.outcome = answer.outcome
        record.error_type = answer.error_type
        record.error_message = answer.error_message
        if answer.outcome == "error":
            logger.error(
                "%s %s failed: %s\n%s", function.name, record.request_id, answer.error_message, answer.error_trace
            )
        return environment.process.alive

    # -- execution environments ------------------------------------------------------------------------------------

    def _lease(self, pool: _FunctionPool) -> _Environment:
        with pool.condition:
            while not pool.idle and pool.count >= pool.function.max_environments:
                pool.condition.wait()
            if pool.idle:
                return pool.idle.pop()
            pool.count += 1
            pool.created += 1
            index = pool.created
        try:
            return self._create_environment(pool.function, index)
        except BaseException:
            with pool.condition:
                pool.count -= 1
                pool.condition.notify()
            raise

    def _release(self, pool: _FunctionPool, environment: _Environment, *, keep: bool) -> None:
        process = environment.process if isinstance(environment, _ProcessSlot) else None
        with pool.condition:
            if keep and (process is None or process in pool.processes):
                pool.idle.append(environment)
            else:
                pool.count -= 1
                if process is not None and process in pool.processes:
                    pool.processes.remove(process)
                keep = False
            pool.condition.notify()
        if process is not None and not keep:
            process.close()

    def _create_environment(self, function: LocalFunction, index: int) -> _Environment:
        stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        if self.processes and isinstance(function.handler, str):
            return self._start_process(function, index, stream)
        layer = Layer(dict(function.environment))
        layer.values["AWS_LAMBDA_LOG_STREAM_NAME"] = stream
        with function_environment(function.name, layer):
            handler = _load_handler(function.handler, index)
        return _ExecutionEnvironment(
            index=index,
            handler=handler,
            layer=layer,
            log_stream_name=stream,
            shares_router_state=_holds_powertools_router(handler),
        )

    def _start_process(self, function: LocalFunction, index: int, stream: str) -> _ProcessSlot:
        pool = self._pools[function.name]
        with pool.template_lock:
            if pool.template is None:
                pool.template = self._template(function)
            process = pool.template.spawn(stream)
        with pool.condition:
            pool.processes.append(process)
        return _ProcessSlot(index=index, process=process)

    def _template(self, function: LocalFunction) -> FunctionProcesses:
        """The function's initialised process (its environment, the handler imported), forked per environment."""
        environment = {k: v for k, v in process_environment().items() if not k.startswith(FUNCTION_OWNED_PREFIXES)}
        environment.update(function.environment)
        enforcer = self.iam
        grant = None
        if enforcer is not None:
            grant = IamGrant(enforcer.permissions.get(function.name), enforcer.arns, function.function_name)
        init = Init(function=function, environment=environment, path=tuple(sys.path), iam=grant)
        return FunctionProcesses(init, on_iam=self._record_iam(function.name) if enforcer is not None else None)

    def _record_iam(self, name: str) -> Callable[[Answer], None]:
        def record(answer: Answer) -> None:
            enforcer = self.iam
            if enforcer is not None:
                enforcer.record_decisions(name, answer.iam_checked, answer.iam_denials, answer.iam_presign_denials)

        return record


def _settle_result(record: Invocation, encoded: str, sync_limit: bool) -> None:
    """The outcome of a handler that returned `encoded` (JSON text)."""
    if sync_limit and len(encoded.encode()) > SYNC_PAYLOAD_LIMIT:
        record.outcome = "error"
        record.error_type = "ResponseSizeTooLarge"
        record.error_message = "Response payload size exceeded maximum allowed payload size"
    else:
        record.outcome = "success"
        record.result = json.loads(encoded)


def _holds_powertools_router(handler: Handler) -> bool:
    """Whether the handler's module keeps a Powertools event-handler router (whose current event is class state)."""
    routing = sys.modules.get("aws_lambda_powertools.event_handler.api_gateway")
    module = sys.modules.get(getattr(handler, "__module__", "") or "")
    if routing is None or module is None:
        return False
    router_class = routing.BaseRouter
    return any(isinstance(value, router_class) for value in vars(module).values())


def load_handler(handler: str | Handler) -> Handler:
    """The handler, its module imported (an execution environment's init)."""
    return _load_handler(handler, 1)


def _load_handler(handler: str | Handler, index: int) -> Handler:
    """Import the handler: the module itself for the first environment, a private copy for each further one."""
    if callable(handler):
        return handler
    module_name, attribute = _split_handler(handler)
    module = importlib.import_module(module_name) if index == 1 else _load_copy(module_name, index)
    target = getattr(module, attribute, None)
    if not callable(target):
        raise TypeError(f"{handler}: {attribute!r} is not a function of {module_name}")
    return target


def _split_handler(handler: str) -> tuple[str, str]:
    """Lambda's handler syntax: `package.module.function` -> (`package.module`, `function`)."""
    module_name, _, attribute = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {handler!r} is not of the form module.function")
    return module_name, attribute


def _load_copy(module_name: str, index: int) -> ModuleType:
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None or spec.loader is None:
        raise ImportError(f"cannot load another copy of {module_name}")
    alias = f"{module_name}__local_env_{index}"  # a sibling name, so relative imports still resolve
    copy_spec = importlib.util.spec_from_file_location(alias, spec.origin)
    if copy_spec is None or copy_spec.loader is None:
        raise ImportError(f"cannot load another copy of {module_name}")
    module = importlib.util.module_from_spec(copy_spec)
    sys.modules[alias] = module  # pydantic and dataclasses look their module up by name
    try:
        copy_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(alias, None)
        raise
    return module


def _trace_header() -> str:
    now = int(time.time())
    return f"Root=1-{now:08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"
