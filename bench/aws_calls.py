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

For the cost model (`bench.cost`) each invocation also records what its calls carried and what it logged:

- from each call's parameters (`before-parameter-build`): the items a DynamoDB write carries (a `PutItem`'s item and
  its size, an `UpdateItem`'s or `DeleteItem`'s key, every item of a `TransactWriteItems`, `ConditionCheck`s
  included), the bytes an S3 `PutObject`/`UploadPart` sends, the payload of an SQS send;
- from each DynamoDB read's answer (`after-call`): the read units of the items it returned (SignBridge does not ask
  for `ReturnConsumedCapacity`, and moto answers fixed figures when asked, so units come from item sizes);
- the bytes and events the function logged (`LogCounter`, the functions' `sys.stdout` while the benchmark runs);
- its duration and the function's memory (from the synthesized template), the request id its event names, and the
  label of the benchmark run it happened in (`run`: the demo requests run one at a time on an idle stack, so every
  invocation between a request's creation and the stack's return to idle is that request's).

An item a write names only by its key (an update, a delete, a condition check) is sized once the request is done,
from the stored item (`resolve_sizes`): an upper bound for an item that grew afterwards.
"""

from __future__ import annotations

import json
import statistics
import threading
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import botocore.session

from bench import cost
from bench.stored import item_size
from local.runtime import Invocation, LambdaRuntime
from signbridge.storage import schema

_STEP: ContextVar[_StepCalls | None] = ContextVar("signbridge_bench_step", default=None)
HOOK_ID = "signbridge-bench-aws-calls"
OUTSIDE = "outside invocations"


DYNAMODB_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})
_CONSISTENT = "signbridge_bench_consistent_read"


@dataclass
class _StepCalls:
    step: str
    function: str
    calls: Counter[str] = field(default_factory=Counter)
    trigger: str = "direct"
    run: str | None = None
    usage: cost.Usage | None = None
    heap_peak_bytes: int | None = None  # while tracemalloc traces: the heap's peak above its size at the start

    def __post_init__(self) -> None:
        if self.usage is None:
            self.usage = cost.Usage(
                function=self.function, step=self.step, trigger=self.trigger, duration_ms=0, memory_mb=0
            )


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
        self.run: str | None = None  # the benchmark run under way (one demo request), set by the benchmark
        # While tracemalloc traces, each invocation resets its peak to measure its own: the process's peak seen so
        # far is kept here.
        self.heap_peak_seen = 0

    # -- installing

    def install(self) -> AwsCallCounter:
        original = botocore.session.Session.create_client
        self._original_create_client = original
        counter = self

        def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            events = client.meta.events
            events.register("before-call", counter._before_call, unique_id=HOOK_ID)
            events.register("before-parameter-build", counter._parameters, unique_id=f"{HOOK_ID}-parameters")
            events.register("after-call.dynamodb", counter._after_read, unique_id=f"{HOOK_ID}-reads")
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]
        return self

    def attach(self, runtime: LambdaRuntime) -> None:
        """Wrap `runtime.invoke` (an instance attribute: the stack's triggers look it up at each call)."""
        original = runtime.invoke
        counter = self

        def invoke(name: str, event: Any, **kwargs: Any) -> Invocation:
            step = counting_step(
                name, step_name(name, event), trigger=str(kwargs.get("trigger", "direct")), run=counter.run
            )
            usage = step.usage
            assert usage is not None
            usage.request_id = request_id_of(event)
            usage.api_request_bytes = _body_bytes(event)
            usage.memory_mb = runtime.functions[name].memory_mb
            tracing = tracemalloc.is_tracing()
            if tracing:
                start, peak = tracemalloc.get_traced_memory()
                counter.heap_peak_seen = max(counter.heap_peak_seen, peak)  # the peak reset below drops it
                tracemalloc.reset_peak()
            try:
                with invocation(step):
                    record = original(name, event, **kwargs)
                usage.duration_ms = record.duration_ms
                if record.aws_calls:  # an execution environment process counted its own calls
                    step.calls.update(record.aws_calls)
                return record
            finally:
                if tracing and tracemalloc.is_tracing():
                    peak = tracemalloc.get_traced_memory()[1]
                    counter.heap_peak_seen = max(counter.heap_peak_seen, peak)
                    step.heap_peak_bytes = max(0, peak - start)
                usage.calls = dict(step.calls)
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

    def _parameters(self, params: Any, model: Any, context: Any = None, **_: Any) -> None:
        step = _STEP.get()
        if step is None or step.usage is None or not isinstance(params, dict):
            return
        service, operation = model.service_model.service_name, model.name
        usage = step.usage
        if service == "dynamodb":
            usage.dynamodb_writes.extend(dynamodb_writes(operation, params))
            if operation in DYNAMODB_READS and isinstance(context, dict):
                context[_CONSISTENT] = bool(params.get("ConsistentRead"))
        elif service == "s3" and operation in ("PutObject", "UploadPart"):
            usage.s3_bytes_put += _content_length(params)
        elif service == "sqs" and operation in cost.SQS_SENDS:
            usage.sqs_send_requests += cost.sqs_requests(sqs_payload_bytes(operation, params))

    def _after_read(self, parsed: Any, model: Any, context: Any = None, **_: Any) -> None:
        step = _STEP.get()
        if step is None or step.usage is None or model.name not in DYNAMODB_READS or not isinstance(parsed, dict):
            return
        consistent = bool(context.get(_CONSISTENT)) if isinstance(context, dict) else False
        step.usage.dynamodb_read_units += read_units_of(model.name, parsed, consistent=consistent)

    # -- reading

    def usages(self, run: str | None = None) -> list[cost.Usage]:
        """The invocations of one benchmark run (every one when `run` is None), in the order they ended."""
        with self._lock:
            steps = list(self.steps)
        return [step.usage for step in steps if step.usage is not None and (run is None or step.run == run)]

    def heap_peaks(self, function: str) -> dict[str, int]:
        """The largest heap peak of each step of `function` traced by tracemalloc, in bytes."""
        with self._lock:
            steps = [step for step in self.steps if step.function == function and step.heap_peak_bytes is not None]
        peaks: dict[str, int] = {}
        for step in steps:
            peaks[step.step] = max(peaks.get(step.step, 0), step.heap_peak_bytes or 0)
        return dict(sorted(peaks.items()))

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


def counting_step(function: str, step: str, *, trigger: str = "direct", run: str | None = None) -> _StepCalls:
    """A new record of one invocation's calls and usage."""
    return _StepCalls(step=step, function=function, trigger=trigger, run=run)


@contextmanager
def invocation(step: _StepCalls) -> Iterator[_StepCalls]:
    """Count what the current thread does (AWS calls, log writes) on `step` while the block runs."""
    token = _STEP.set(step)
    try:
        yield step
    finally:
        _STEP.reset(token)


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


def request_id_of(event: Any) -> str | None:
    """The SignBridge request an event names: an API path's `request_id`, an operation message's `request_id`."""
    if not isinstance(event, dict):
        return None
    parameters = event.get("pathParameters")
    if isinstance(parameters, dict) and isinstance(parameters.get("request_id"), str):
        return str(parameters["request_id"])
    records = event.get("Records")
    if isinstance(records, list):
        for record in records:
            if isinstance(record, dict) and record.get("eventSource") == "aws:sqs":
                try:
                    found = json.loads(record.get("body") or "{}").get("request_id")
                except (ValueError, AttributeError):
                    continue
                if isinstance(found, str):
                    return found
    return None


def _body_bytes(event: Any) -> int:
    body = event.get("body") if isinstance(event, dict) else None
    return len(body.encode("utf-8")) if isinstance(body, str) else 0


def _key(key: dict[str, Any]) -> str:
    return f"{_scalar(key.get(schema.PK))}|{_scalar(key.get(schema.SK))}"


def _scalar(value: Any) -> str:
    if isinstance(value, dict) and value:
        return str(next(iter(value.values())))
    return ""


def _indexes_of(item: dict[str, Any]) -> tuple[str, ...]:
    return tuple(name for name, partition, sort in schema.GLOBAL_INDEXES if partition in item and sort in item)


def _indexes_named(request: dict[str, Any]) -> tuple[str, ...]:
    """The global indexes whose key attributes an update expression sets."""
    expression = str(request.get("UpdateExpression") or "")
    names = request.get("ExpressionAttributeNames") or {}
    named = {str(value) for alias, value in names.items() if alias in expression}
    return tuple(
        index
        for index, partition, sort in schema.GLOBAL_INDEXES
        if {partition, sort} & named or any(attribute in expression.split() for attribute in (partition, sort))
    )


def dynamodb_writes(operation: str, params: dict[str, Any]) -> list[cost.DynamoWrite]:
    """The items one DynamoDB write call carries."""
    if operation == "PutItem":
        return [_put(params, transactional=False)]
    if operation == "UpdateItem":
        return [_update(params, transactional=False)]
    if operation == "DeleteItem":
        return [cost.DynamoWrite("Delete", _key(params.get("Key") or {}), transactional=False)]
    if operation == "TransactWriteItems":
        return [_transaction_item(entry) for entry in params.get("TransactItems") or []]
    if operation == "BatchWriteItem":
        writes = []
        for requests in (params.get("RequestItems") or {}).values():
            for entry in requests:
                if "PutRequest" in entry:
                    writes.append(_put(entry["PutRequest"], transactional=False))
                elif "DeleteRequest" in entry:
                    writes.append(cost.DynamoWrite("Delete", _key(entry["DeleteRequest"].get("Key") or {}), False))
        return writes
    return []


def _transaction_item(entry: dict[str, Any]) -> cost.DynamoWrite:
    ((action, request),) = entry.items()
    if action == "Put":
        return _put(request, transactional=True)
    if action == "Update":
        return _update(request, transactional=True)
    return cost.DynamoWrite(action, _key(request.get("Key") or {}), transactional=True)


def _put(request: dict[str, Any], *, transactional: bool) -> cost.DynamoWrite:
    item = request.get("Item") or {}
    return cost.DynamoWrite(
        "Put", _key(item), transactional=transactional, size=item_size(item), indexes=_indexes_of(item)
    )


def _update(request: dict[str, Any], *, transactional: bool) -> cost.DynamoWrite:
    return cost.DynamoWrite(
        "Update", _key(request.get("Key") or {}), transactional=transactional, index_keys_set=_indexes_named(request)
    )


def read_units_of(operation: str, parsed: dict[str, Any], *, consistent: bool) -> float:
    """Read units of one read's answer, from the sizes of the items it returned."""
    if operation == "GetItem":
        item = parsed.get("Item")
        return cost.read_units([item_size(item)] if item else [], consistent=consistent)
    if operation == "BatchGetItem":
        items = [item for found in (parsed.get("Responses") or {}).values() for item in found]
        return sum(cost.read_units([item_size(item)], consistent=consistent) for item in items) or cost.read_units(
            [], consistent=consistent
        )
    return cost.read_units([item_size(item) for item in parsed.get("Items") or []], consistent=consistent)


def resolve_sizes(usages: list[cost.Usage], stored: dict[str, dict[str, Any]]) -> list[str]:
    """Size the items writes named by key alone from `stored` ("pk|sk" → low-level item); the keys not found."""
    missing = []
    for usage in usages:
        for write in usage.dynamodb_writes:
            if write.size is not None:
                continue
            item = stored.get(write.key)
            if item is None:
                missing.append(write.key)
                continue
            write.size = item_size(item)
            if write.action != "ConditionCheck":
                write.indexes = _indexes_of(item)
    return missing


def stored_key(item: dict[str, Any]) -> str:
    return _key(item)


def sqs_payload_bytes(operation: str, params: dict[str, Any]) -> int:
    """What SQS bills a send by: its message bodies and attributes."""
    entries = params.get("Entries") or [] if operation == "SendMessageBatch" else [params]
    total = 0
    for entry in entries:
        total += len(str(entry.get("MessageBody") or "").encode("utf-8"))
        for name, attribute in (entry.get("MessageAttributes") or {}).items():
            total += len(name.encode("utf-8")) + sum(len(str(value).encode("utf-8")) for value in attribute.values())
    return total


def _content_length(params: dict[str, Any]) -> int:
    length = params.get("ContentLength")
    if isinstance(length, int):
        return length
    body = params.get("Body")
    return len(body) if isinstance(body, bytes | bytearray) else 0


class LogCounter:
    """A text stream in place of the functions' `sys.stdout`: writes go on to `target`, and what an invocation wrote
    (its log lines and metrics) is counted on its record — bytes without the line ends, and one event per line."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def write(self, text: str) -> int:
        step = _STEP.get()
        if step is not None and step.usage is not None and text:
            lines = text.count("\n")
            step.usage.log_bytes += len(text.encode("utf-8")) - lines
            step.usage.log_events += lines
        return int(self._target.write(text))

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def _op(record: dict[str, Any]) -> str:
    try:
        return str(json.loads(record.get("body") or "{}").get("op") or "?")
    except ValueError:
        return "?"
