"""Handler modules loaded the way a fresh Lambda execution environment loads them.

Powertools reads its variables when a module is imported (`Metrics()` its namespace and service, `Logger()` its
service). A test that imports `signbridge.handlers.x` the usual way leaves it in `sys.modules` with whatever the test
process's environment held, and a local stack started later in the same process (the e2e tests) would reuse that
copy instead of importing its own inside the function's environment. `load_handler` instead imports a private copy,
with the variables infra gives every function, under a name of its own that is dropped again after the test.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import Final

import pytest

# What infra/constructs/functions.py sets on every function besides the SIGNBRIDGE_* settings.
POWERTOOLS_ENVIRONMENT: Final[Mapping[str, str]] = {
    "POWERTOOLS_SERVICE_NAME": "signbridge",
    "POWERTOOLS_METRICS_NAMESPACE": "SignBridge",
}


@contextmanager
def load_handler(
    module_name: str, monkeypatch: pytest.MonkeyPatch, environment: Mapping[str, str] = POWERTOOLS_ENVIRONMENT
) -> Iterator[ModuleType]:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.find_spec(module_name)
    assert spec is not None
    assert spec.origin is not None
    alias = f"{module_name}__test_{uuid.uuid4().hex[:8]}"
    copy_spec = importlib.util.spec_from_file_location(alias, spec.origin)
    assert copy_spec is not None
    assert copy_spec.loader is not None
    module = importlib.util.module_from_spec(copy_spec)
    sys.modules[alias] = module  # pydantic and dataclasses look a module up by its name
    try:
        copy_spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(alias, None)
