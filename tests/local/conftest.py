"""Fixtures of the local-stack tests: the real synthesized template, a moto server, a runtime with fake handlers.

Everything listens on 127.0.0.1 and picks free ports; with pytest-xdist every worker process has its own moto state
(moto keeps it per process), and every test names its own queues, so tests run in parallel.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from local import synth
from local.aws import AwsEmulator
from local.environ import lambda_environment
from local.runtime import LambdaRuntime, LocalFunction
from local.template.parser import template_path
from tests.local.fake_handlers import recorder

FAKE = "tests.local.fake_handlers"
# Every SignBridge function answered by a fake (the real handlers are still placeholders and are tested elsewhere).
FAKE_FUNCTIONS: Mapping[str, str] = {
    "api": f"{FAKE}.echo",
    "zapsign_webhook": f"{FAKE}.echo",
    "oneshot_webhook": f"{FAKE}.echo",
    "worker": f"{FAKE}.worker",
    "intake": f"{FAKE}.recording:intake",
    "reconciler": f"{FAKE}.recording:reconciler",
    "housekeeper": f"{FAKE}.recording:housekeeper",
}


@pytest.fixture(scope="session")
def real_template() -> Path:
    """The template `cdk.out/SignBridge-local.template.json`, synthesized if its inputs changed."""
    try:
        return synth.ensure_template()
    except synth.SynthError as error:
        existing = template_path(synth.DEFAULT_OUTDIR, synth.DEFAULT_STAGE)
        if existing.is_file():
            return existing
        if shutil.which("node") is None:
            pytest.skip(f"no synthesized template in cdk.out and no Node.js to synthesize one: {error}")
        raise


@pytest.fixture(scope="session")
def aws() -> Iterator[AwsEmulator]:
    emulator = AwsEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture(autouse=True)
def _fresh_recorder() -> Iterator[None]:
    recorder.clear()
    yield
    recorder.clear()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def local_function(
    name: str,
    handler: str | Callable[..., Any],
    *,
    environment: Mapping[str, str] | None = None,
    timeout_seconds: float = 30,
    max_environments: int = 10,
) -> LocalFunction:
    function_name = f"test-{name}"
    return LocalFunction(
        name=name,
        function_name=function_name,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
        handler=handler,
        timeout_seconds=timeout_seconds,
        memory_mb=256,
        environment=lambda_environment(
            template_environment=dict(environment or {}),
            function_name=function_name,
            handler=handler if isinstance(handler, str) else "callable",
            memory_mb=256,
            log_group_name=f"/aws/lambda/{function_name}",
            region="us-east-1",
        ),
        log_group_name=f"/aws/lambda/{function_name}",
        max_environments=max_environments,
    )


@pytest.fixture
def runtime() -> Iterator[LambdaRuntime]:
    """An open runtime with no functions; tests `register` theirs."""
    with LambdaRuntime() as opened:
        yield opened
