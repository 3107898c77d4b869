"""Count the AWS calls SignBridge's functions make, in-process, and attribute them to the invocation that made them.

How: every botocore client created while the counter is installed gets a `before-call` handler on its event system
(`client.meta.events`, one per client; registered under a unique id so a client is never counted twice). The
handler adds `(service, operation)` to the counter of the *step* running on the current thread. The step is set by
a wrapper around `LambdaRuntime.invoke` (a `ContextVar`: the handler runs on the invoking thread), named after what
triggered it:

- `POST /v1/requests`, `POST /webhooks/zapsign`, …: an API Gateway route (its route key);
- `worker:create_zapsign_document`, …: an SQS batch, by the operation(s) in its messages;
- `intake`: an S3 notification; `reconciler`, `housekeeper`: a schedule or a direct invocation.

When the functions run in execution environment processes (`LocalStackConfig.function_processes`), each process
counts its own calls the same way (`local.lambda_process`) and hands them back with the invocation
(`Invocation.aws_calls`), which the wrapper adds to the step.

A call made outside any invocation — the stack's own pollers and notification relay, the benchmark's reads, and a
thread a handler started itself (the `ContextVar` is not inherited) — is counted in `outside`, by operation.
`before-call` fires once per API call, before botocore's retries, so a retried call counts once.
"""

from __future__ import annotations

import json
import statistics
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import botocore.session

from local.runtime import Invocation, LambdaRuntime

_STEP: ContextVar[_StepCalls | None] = ContextVar("signbridge_bench_step", default=None)
HOOK_ID = "signbridge-bench-aws-calls"
OUTSIDE = "outside invocations"


@dataclass
class _StepCalls:
    step: str
    function: str
    calls: Counter[str] = field(default_factory=Counter)


@dataclass
class StepFigures:
    step: str
    function: str
    invocations: int
    per_invocation: dict[str, float]  # min, median, max of AWS calls per invocation
    operations: dict[str, float]  # service.Operation -> mean calls per invocation

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "function": self.function,
            "invocations": self.invocations,
            "aws_calls_per_invocation": self.per_invocation,
            "operations_per_invocation": self.operations,
        }


class AwsCallCounter:
    """`install(runtime)` before the functions create their clients; `uninstall()` when done."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.steps: list[_StepCalls] = []
        self.outside: Counter[str] = Counter()
        self._original_create_client: Callable[..., Any] | None = None
        self._runtime: LambdaRuntime | None = None

    # -- installing

    def install(self) -> AwsCallCounter:
        original = botocore.session.Session.create_client
        self._original_create_client = original
        counter = self

        def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-call", counter._before_call, unique_id=HOOK_ID)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]
        return self

    def attach(self, runtime: LambdaRuntime) -> None:
        """Wrap `runtime.invoke` (an instance attribute: the stack's triggers look it up at each call)."""
        original = runtime.invoke
        counter = self

        def invoke(name: str, event: Any, **kwargs: Any) -> Invocation:
            step = _StepCalls(step=step_name(name, event), function=name)
            token = _STEP.set(step)
            try:
                record = original(name, event, **kwargs)
                if record.aws_calls:  # an execution environment process counted its own calls
                    step.calls.update(record.aws_calls)
                return record
            finally:
                _STEP.reset(token)
                with counter._lock:
                    counter.steps.append(step)

        runtime.invoke = invoke  # type: ignore[method-assign]
        self._runtime = runtime

    def uninstall(self) -> None:
        if self._original_create_client is not None:
            botocore.session.Session.create_client = self._original_create_client  # type: ignore[method-assign]
            self._original_create_client = None
        if self._runtime is not None:
            del self._runtime.invoke  # back to the class's method
            self._runtime = None

    @contextmanager
    def installed(self) -> Iterator[AwsCallCounter]:
        self.install()
        try:
            yield self
        finally:
            self.uninstall()

    def reset(self) -> None:
        with self._lock:
            self.steps.clear()
            self.outside.clear()

    def _before_call(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        step = _STEP.get()
        if step is not None:
            step.calls[name] += 1
            return
        with self._lock:
            self.outside[name] += 1

    # -- reading

    def figures(self) -> list[StepFigures]:
        with self._lock:
            steps = list(self.steps)
        by_step: dict[str, list[_StepCalls]] = {}
        for step in steps:
            by_step.setdefault(step.step, []).append(step)
        figures = []
        for name, runs in sorted(by_step.items()):
            totals = [sum(run.calls.values()) for run in runs]
            operations: Counter[str] = Counter()
            for run in runs:
                operations.update(run.calls)
            figures.append(
                StepFigures(
                    step=name,
                    function=runs[0].function,
                    invocations=len(runs),
                    per_invocation={
                        "min": min(totals),
                        "median": statistics.median(totals),
                        "max": max(totals),
                    },
                    operations={op: round(count / len(runs), 2) for op, count in sorted(operations.items())},
                )
            )
        return figures


def step_name(function: str, event: Any) -> str:
    """What an invocation is, from its event."""
    if isinstance(event, dict):
        route = event.get("routeKey")
        if isinstance(route, str):
            return route
        records = event.get("Records")
        if isinstance(records, list) and records:
            first = records[0] if isinstance(records[0], dict) else {}
            if first.get("eventSource") == "aws:sqs":
                ops = sorted({_op(record) for record in records if isinstance(record, dict)})
                return f"{function}:{'+'.join(ops)}"
            if first.get("eventSource") == "aws:s3":
                return function
    return function


def _op(record: dict[str, Any]) -> str:
    try:
        return str(json.loads(record.get("body") or "{}").get("op") or "?")
    except ValueError:
        return "?"
