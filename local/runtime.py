"""Run the Lambda handlers in this process, each with its own environment, the way Lambda would run them.

How a function gets *its* environment while sharing one process with the others:

- `os.environ` is replaced, while a runtime is open, by a `LayeredEnviron`: a mapping that shows the process
  environment with the environment of the *function being invoked on the current thread* layered over it (a
  `ContextVar`, so concurrent invocations of different functions on different threads each see their own). Inside an
  invocation, `SIGNBRIDGE_*`, `POWERTOOLS_*` and the Lambda-reserved variables come only from the function's
  environment (a stray value in the developer's shell cannot leak in); writes stay in the function's layer, as they
  would stay in its own Lambda process. Threads a handler starts itself see the process environment only (a
  `ContextVar` is not inherited by a new thread).
- `signbridge.config.get_settings` is an `lru_cache` of one value for the whole process. While a runtime is open it
  is replaced by a cache per function (what a Lambda cold start would read), and `reset_settings_cache()` clears
  every entry. Code that bound the original function before the runtime opened (`from signbridge.config import
  get_settings` in a module imported earlier) keeps the process-wide cache; the functions' templated environments
  carry the same `SIGNBRIDGE_*` values, so that cache still holds the right settings.
- Every function has its own pool of *execution environments*: the first imports the handler module itself; each
  further concurrent environment loads its own copy of the handler module (`<module>__local_env_<n>`), so module
  level state a handler keeps per process (a Powertools `BatchProcessor`, a resolver, a logger's appended keys) is
  never shared by two invocations running at the same time, as in Lambda. Modules the handler imports are shared
  by the whole process. The handler module is imported inside the function's environment (a Powertools `Logger()` at
  import time reads its service name there).

Each invocation gets a Lambda context object (`aws_request_id`, `get_remaining_time_in_millis()` counting down from
the template's timeout, …), its event and result go through JSON like Lambda's payloads (6 MB limit for synchronous
calls), and is recorded as an `Invocation` (function, trigger, duration, outcome) for the benchmark.

A handler that runs past its timeout cannot be stopped in-process: it runs to the end, and the invocation is then
reported as a timeout (its result discarded, its environment thrown away), which is what the caller would have seen.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

logger = logging.getLogger("signbridge.local.runtime")

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # Lambda's limit for a synchronous request or response payload
DEFAULT_MAX_ENVIRONMENTS = 10  # concurrent execution environments per function when the template sets no limit

# Inside an invocation, variables with these prefixes come from the function's environment only.
FUNCTION_OWNED_PREFIXES = ("SIGNBRIDGE_", "POWERTOOLS_", "AWS_LAMBDA_", "_HANDLER", "_X_AMZN_TRACE_ID", "LAMBDA_")

Handler = Callable[[Any, Any], Any]


# -- per-invocation environment ------------------------------------------------------------------------------------


@dataclass
class _Layer:
    values: dict[str, str]
    deleted: set[str] = field(default_factory=set)

    def hides(self, key: str) -> bool:
        return key in self.deleted or (key not in self.values and key.startswith(FUNCTION_OWNED_PREFIXES))


_ACTIVE_LAYER: ContextVar[_Layer | None] = ContextVar("signbridge_local_env_layer", default=None)
_ACTIVE_FUNCTION: ContextVar[str | None] = ContextVar("signbridge_local_function", default=None)


class LayeredEnviron(MutableMapping[str, str]):
    """`os.environ` with the current invocation's function environment layered over the process environment."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self.base = base

    def __getitem__(self, key: str) -> str:
        layer = _ACTIVE_LAYER.get()
        if layer is not None:
            if key in layer.values:
                return layer.values[key]
            if layer.hides(key):
                raise KeyError(key)
        return self.base[key]

    def __setitem__(self, key: str, value: str) -> None:
        layer = _ACTIVE_LAYER.get()
        if layer is None:
            self.base[key] = value
        else:
            layer.values[key] = value
            layer.deleted.discard(key)

    def __delitem__(self, key: str) -> None:
        layer = _ACTIVE_LAYER.get()
        if layer is None:
            del self.base[key]
            return
        if key not in self:
            raise KeyError(key)
        layer.values.pop(key, None)
        layer.deleted.add(key)

    def __iter__(self) -> Iterator[str]:
        layer = _ACTIVE_LAYER.get()
        if layer is None:
            yield from list(self.base)
            return
        yield from list(layer.values)
        yield from [key for key in list(self.base) if key not in layer.values and not layer.hides(key)]

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self[key]
        except KeyError:
            return False
        return True

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __repr__(self) -> str:
        return f"LayeredEnviron(function={_ACTIVE_FUNCTION.get()!r})"


_install_lock = threading.Lock()
_install_count = 0
_original_environ: Any = None
_original_get_settings: Any = None


class _SettingsPerFunction:
    """Stands in for `signbridge.config.get_settings`: one cached `Settings` per function, as per Lambda process."""

    def __init__(self, original: Any) -> None:
        self._original = original
        self._read = getattr(original, "__wrapped__", original)
        self._cache: dict[str | None, Any] = {}
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        key = _ACTIVE_FUNCTION.get()
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        settings = self._read()
        with self._lock:
            return self._cache.setdefault(key, settings)

    def cache_clear(self) -> None:
        with self._lock:
            self._cache.clear()
        clear = getattr(self._original, "cache_clear", None)
        if clear is not None:
            clear()


def ensure_functions_importable() -> None:
    """`functions/` on `sys.path`, as the Lambda asset's root is."""
    if str(FUNCTIONS_DIR) not in sys.path:
        sys.path.insert(0, str(FUNCTIONS_DIR))


def install_process_hooks() -> None:
    """Replace `os.environ` and `signbridge.config.get_settings` (reference counted; see the module docstring)."""
    global _install_count, _original_environ, _original_get_settings  # noqa: PLW0603 - process-wide by nature
    ensure_functions_importable()
    with _install_lock:
        _install_count += 1
        if _install_count > 1:
            return
        _original_environ = os.environ
        os.environ = LayeredEnviron(_original_environ)  # type: ignore[assignment]  # noqa: B003 - a view, not a reset
        from signbridge import config  # noqa: PLC0415 - only once functions/ is importable

        _original_get_settings = config.get_settings
        config.get_settings = _SettingsPerFunction(_original_get_settings)  # type: ignore[assignment]
        config.reset_settings_cache()


def uninstall_process_hooks() -> None:
    global _install_count, _original_environ, _original_get_settings  # noqa: PLW0603
    with _install_lock:
        if _install_count == 0:
            return
        _install_count -= 1
        if _install_count > 0:
            return
        from signbridge import config  # noqa: PLC0415

        config.reset_settings_cache()
        config.get_settings = _original_get_settings
        os.environ = _original_environ  # noqa: B003 - puts the real mapping back
        _original_environ = _original_get_settings = None


@contextlib.contextmanager
def function_environment(function: str, layer: _Layer) -> Iterator[None]:
    """Run the body with `function`'s environment visible through `os.environ` on this thread."""
    layer_token = _ACTIVE_LAYER.set(layer)
    function_token = _ACTIVE_FUNCTION.set(function)
    try:
        yield
    finally:
        _ACTIVE_FUNCTION.reset(function_token)
        _ACTIVE_LAYER.reset(layer_token)


# -- Lambda context ------------------------------------------------------------------------------------------------


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


# -- functions, environments, invocations ------------------------------------------------------------------------


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
    layer: _Layer
    log_stream_name: str
    fresh: bool = True


class _FunctionPool:
    def __init__(self, function: LocalFunction) -> None:
        self.function = function
        self.idle: list[_ExecutionEnvironment] = []
        self.count = 0
        self.created = 0
        self.condition = threading.Condition()


class LambdaRuntime:
    """Invokes the registered functions in-process. `open()` installs the process hooks, `close()` removes them."""

    def __init__(self, functions: Mapping[str, LocalFunction] | None = None) -> None:
        self._pools: dict[str, _FunctionPool] = {}
        self._invocations: list[Invocation] = []
        self._lock = threading.Lock()
        self._open = False
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
            context = LambdaContext(
                function, request_id, environment.log_stream_name, started + function.timeout_seconds
            )
            environment.layer.values["_X_AMZN_TRACE_ID"] = _trace_header()
            with function_environment(name, environment.layer):
                try:
                    result = environment.handler(json.loads(payload), context)
                    encoded = json.dumps(result)
                except Exception as error:  # the handler's failure is the invocation's outcome
                    record.outcome = "error"
                    record.error_type = type(error).__name__
                    record.error_message = str(error)
                    logger.error(
                        "%s %s failed: %s\n%s", name, request_id, error, traceback.format_exc()
                    )  # as Lambda logs it
                else:
                    if sync_limit and len(encoded.encode()) > SYNC_PAYLOAD_LIMIT:
                        record.outcome = "error"
                        record.error_type = "ResponseSizeTooLarge"
                        record.error_message = "Response payload size exceeded maximum allowed payload size"
                    else:
                        record.outcome = "success"
                        record.result = json.loads(encoded)
            elapsed = time.monotonic() - started
            if elapsed > function.timeout_seconds:
                record.outcome = "timeout"
                record.result = None
                record.error_type = "Sandbox.Timedout"
                record.error_message = f"Task timed out after {function.timeout_seconds:.2f} seconds"
                keep_environment = False  # Lambda tears the environment down after a timeout
                logger.error("%s %s: %s", name, request_id, record.error_message)
        finally:
            record.duration_ms = (time.monotonic() - started) * 1000
            self._release(pool, environment, keep=keep_environment)
            with self._lock:
                self._invocations.append(record)
        return record

    # -- execution environments ------------------------------------------------------------------------------------

    def _lease(self, pool: _FunctionPool) -> _ExecutionEnvironment:
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

    def _release(self, pool: _FunctionPool, environment: _ExecutionEnvironment, *, keep: bool) -> None:
        with pool.condition:
            if keep:
                pool.idle.append(environment)
            else:
                pool.count -= 1
            pool.condition.notify()

    def _create_environment(self, function: LocalFunction, index: int) -> _ExecutionEnvironment:
        stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        layer = _Layer(dict(function.environment))
        layer.values["AWS_LAMBDA_LOG_STREAM_NAME"] = stream
        with function_environment(function.name, layer):
            handler = _load_handler(function.handler, index)
        return _ExecutionEnvironment(index=index, handler=handler, layer=layer, log_stream_name=stream)


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


def lambda_environment(
    *,
    template_environment: Mapping[str, str],
    function_name: str,
    handler: str,
    memory_mb: int,
    log_group_name: str,
    region: str,
    runtime: str = "python3.13",
    log_format: str | None = None,
    application_log_level: str | None = None,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A function's complete environment: the Lambda-reserved variables, the template's values, the local overrides.

    Local additions that are not in the template: `POWERTOOLS_TRACE_DISABLED=true` (no X-Ray daemon locally).
    """
    environment = {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group_name,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR),
        "_HANDLER": handler,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    if log_format:
        environment["AWS_LAMBDA_LOG_FORMAT"] = log_format
    if application_log_level and (log_format or "").upper() == "JSON":
        environment["AWS_LAMBDA_LOG_LEVEL"] = application_log_level
    environment.update(template_environment)
    environment.update(overrides or {})
    return environment
