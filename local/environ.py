"""Each function's own environment inside one shared process: `os.environ` and the settings cache, per invocation.

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

`lambda_environment(...)` builds a function's complete environment: the Lambda-reserved variables, the template's
values and the local overrides."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


FUNCTIONS_DIR = REPO_ROOT / "functions"


# Inside an invocation, variables with these prefixes come from the function's environment only.
FUNCTION_OWNED_PREFIXES = ("SIGNBRIDGE_", "POWERTOOLS_", "AWS_LAMBDA_", "_HANDLER", "_X_AMZN_TRACE_ID", "LAMBDA_")


@dataclass
class Layer:
    values: dict[str, str]
    deleted: set[str] = field(default_factory=set)

    def hides(self, key: str) -> bool:
        return key in self.deleted or (key not in self.values and key.startswith(FUNCTION_OWNED_PREFIXES))


_ACTIVE_LAYER: ContextVar[Layer | None] = ContextVar("signbridge_local_env_layer", default=None)


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
def function_environment(function: str, layer: Layer) -> Iterator[None]:
    """Run the body with `function`'s environment visible through `os.environ` on this thread."""
    layer_token = _ACTIVE_LAYER.set(layer)
    function_token = _ACTIVE_FUNCTION.set(function)
    try:
        yield
    finally:
        _ACTIVE_FUNCTION.reset(function_token)
        _ACTIVE_LAYER.reset(layer_token)


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


def process_environment() -> dict[str, str]:
    """The process environment, without any function's layer (what a new process of this one would inherit)."""
    environ = os.environ
    base = environ.base if isinstance(environ, LayeredEnviron) else environ
    return dict(base)


def current_function() -> str | None:
    """The function invoked on this thread (its SignBridge name), or None outside an invocation."""
    return _ACTIVE_FUNCTION.get()
