"""AWS-side faults and crash points, injected in the local stack's Lambda runtime (in-process, seeded).

How: every botocore client created while the injector is installed gets two handlers on its own event system
(`client.meta.events`), and `LambdaRuntime.invoke` is wrapped so each handler knows which function's invocation is
making the call (a `ContextVar`; the handler runs on the invoking thread; calls outside an invocation — the stack's
pollers, the chaos run's own reads — are never touched):

- `before-send` (**retried** faults): for a seeded share of a function's calls, the HTTP answer is replaced by the
  service's real error — DynamoDB `ThrottlingException` (400) or `InternalServerError` (500), S3 `SlowDown` (503)
  or `InternalError` (500), SQS `RequestThrottled` (400) or `InternalError` (500) — in the service's protocol, so
  botocore parses it and applies its retry policy exactly as it would on AWS;
- `before-call` (**surfaced** faults): the same errors handed straight to the caller, as when botocore's retries
  are exhausted, for a (smaller) seeded share of the calls of the functions named;
- crash points (worker only): the invocation is killed (`WorkerKilled`, not an `Exception`, so no handler code
  catches it; the runtime reports `Runtime.ExitError` as Lambda does for a crashed process and the batch returns to
  its queue) at the first DynamoDB write after an S3 write (`after_s3_write`), after a provider create answered
  (`after_provider_create`), or at the second DynamoDB write of a batch of two or more records (`mid_batch`).

Every injection is tallied (`tallies()`), by function, service and error code, and by crash point. The functions'
`ChangeMessageVisibility` calls (the worker's backoffs) are also remembered in `backoffs` (`chaos.clock.BackoffClock`),
so the run can let them elapse instead of waiting.
"""

from __future__ import annotations

import io
import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import requests
from botocore.awsrequest import AWSResponse, HTTPHeaders

from chaos.clock import BackoffClock
from local.runtime import Invocation, LambdaRuntime

HOOK_ID = "signbridge-chaos-aws"
SERVICES = ("dynamodb", "s3", "sqs")
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
S3_WRITES = frozenset({"PutObject", "CompleteMultipartUpload", "CopyObject"})
PROVIDER_CREATES = ("/api/v1/docs/", "/create")  # ZapSign `POST docs/`, One-Shot `POST …/create`
CRASH_POINTS = ("after_s3_write", "after_provider_create", "mid_batch")


@dataclass(frozen=True)
class ServiceError:
    code: str
    status: int
    message: str


# Each service's throttling and 5xx answers, as AWS sends them.
ERRORS: Mapping[str, tuple[ServiceError, ServiceError]] = {
    "dynamodb": (
        ServiceError("ThrottlingException", 400, "Rate of requests exceeds the allowed throughput."),
        ServiceError("InternalServerError", 500, "Internal server error"),
    ),
    "s3": (
        ServiceError("SlowDown", 503, "Please reduce your request rate."),
        ServiceError("InternalError", 500, "We encountered an internal error. Please try again."),
    ),
    "sqs": (
        ServiceError("RequestThrottled", 400, "Request is throttled."),
        ServiceError("InternalError", 500, "Internal service error."),
    ),
}


class WorkerKilled(BaseException):
    """The worker's process dies here (a crash point)."""


@dataclass
class AwsFaults:
    """What to inject. Rates are shares of one function's calls to one of `SERVICES`."""

    seed: int = 0
    retried: Mapping[str, float] = field(default_factory=dict)  # function (or "*") -> share, botocore retries
    surfaced: Mapping[str, float] = field(default_factory=dict)  # function (or "*") -> share, straight to the caller
    crashes: Mapping[str, float] = field(default_factory=dict)  # crash point -> share of worker invocations
    crash_limit: int = 0  # crashes per crash point at most (0: no limit)
    crash_loses_messages: bool = False  # a killed batch's messages are deleted: only the reconciler can heal

    def rate(self, rates: Mapping[str, float], function: str) -> float:
        return float(rates.get(function, rates.get("*", 0.0)))

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "retried": dict(self.retried),
            "surfaced": dict(self.surfaced),
            "crashes": dict(self.crashes),
            "crash_limit": self.crash_limit,
            "crash_loses_messages": self.crash_loses_messages,
        }


@dataclass
class _Invocation:
    function: str
    records: int
    crash: str | None  # the crash point armed for this invocation
    armed: bool = False  # its trigger happened: crash at the next DynamoDB write
    dynamodb_writes: int = 0


_CURRENT: ContextVar[_Invocation | None] = ContextVar("signbridge_chaos_invocation", default=None)


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = io.BytesIO(body)

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body.read()


class AwsFaultInjector:
    """`installed()` before the stack starts (its functions create their clients then); `attach(runtime)` after."""

    def __init__(self, faults: AwsFaults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()  # "function service code (retried|surfaced)"
        self.crashed: Counter[str] = Counter()  # crash point
        self.calls: Counter[str] = Counter()  # calls seen inside invocations, by function
        self._original_create_client: Callable[..., Any] | None = None
        self._original_request: Callable[..., Any] | None = None
        self._runtime: LambdaRuntime | None = None
        self.lose_messages: Callable[[Any], None] | None = None  # given the killed batch's event (chaos.run sets it)
        self.backoffs: BackoffClock | None = None  # where the functions' visibility changes are remembered

    # -- installing

    @contextmanager
    def installed(self) -> Iterator[AwsFaultInjector]:
        self.install()
        try:
            yield self
        finally:
            self.uninstall()

    def install(self) -> None:
        original = botocore.session.Session.create_client
        self._original_create_client = original
        injector = self

        def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            service = client.meta.service_model.service_name
            if service in SERVICES:
                protocol = client.meta.service_model.protocol
                client.meta.events.register(
                    "before-send", injector._before_send_for(service, protocol), unique_id=f"{HOOK_ID}-send"
                )
                client.meta.events.register(
                    "before-call", injector._before_call_for(service), unique_id=f"{HOOK_ID}-call"
                )
            if service == "sqs":
                client.meta.events.register(
                    "before-parameter-build.sqs.ChangeMessageVisibility",
                    injector._visibility_change,
                    unique_id=f"{HOOK_ID}-visibility",
                )
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]
        original_request = requests.Session.request
        self._original_request = original_request

        def request(session: requests.Session, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            response = original_request(session, method, url, *args, **kwargs)
            injector._after_provider_call(method, url, response)
            return response

        requests.Session.request = request  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original_create_client is not None:
            botocore.session.Session.create_client = self._original_create_client  # type: ignore[method-assign]
            self._original_create_client = None
        if self._original_request is not None:
            requests.Session.request = self._original_request  # type: ignore[method-assign]
            self._original_request = None
        if self._runtime is not None:
            del self._runtime.invoke  # back to the class's method
            self._runtime = None

    def attach(self, runtime: LambdaRuntime) -> None:
        """Wrap `runtime.invoke` (an instance attribute: the stack's triggers look it up at each call)."""
        original = runtime.invoke
        injector = self

        def invoke(name: str, event: Any, **kwargs: Any) -> Invocation:
            current = _Invocation(function=name, records=_records(event), crash=injector._arm_crash(name, event))
            token = _CURRENT.set(current)
            started = runtime_time()
            try:
                return original(name, event, **kwargs)
            except WorkerKilled as killed:
                if injector.faults.crash_loses_messages and injector.lose_messages is not None:
                    injector.lose_messages(event)
                return _killed(runtime, name, kwargs.get("trigger", "direct"), started, str(killed))
            finally:
                _CURRENT.reset(token)

        runtime.invoke = invoke  # type: ignore[method-assign]
        self._runtime = runtime

    @contextmanager
    def acting_as(self, function: str, *, records: int = 0) -> Iterator[None]:
        """Calls on this thread count as `function`'s (as inside one of its invocations; no crash armed)."""
        token = _CURRENT.set(_Invocation(function=function, records=records, crash=None))
        try:
            yield
        finally:
            _CURRENT.reset(token)

    # -- deciding

    def _arm_crash(self, function: str, event: Any) -> str | None:
        if function != "worker" or not self.faults.crashes:
            return None
        with self._lock:
            for point in CRASH_POINTS:
                share = float(self.faults.crashes.get(point, 0.0))
                if point == "mid_batch" and _records(event) < 2:
                    continue
                if self.faults.crash_limit and self.crashed[point] >= self.faults.crash_limit:
                    continue
                if share and self._rng.random() < share:
                    return point
        return None

    def _draw(self, rates: Mapping[str, float], function: str) -> bool:
        share = self.faults.rate(rates, function)
        if not share:
            return False
        with self._lock:
            return self._rng.random() < share

    def _error(self, service: str) -> ServiceError:
        with self._lock:
            throttle, server = ERRORS[service]
            return throttle if self._rng.random() < 0.5 else server

    def _tally(self, function: str, service: str, error: ServiceError, how: str) -> None:
        with self._lock:
            self.injected[f"{function} {service} {error.code} ({how})"] += 1

    # -- the hooks

    def _before_send_for(self, service: str, protocol: str) -> Callable[..., Any]:
        def before_send(request: Any, **_: Any) -> AWSResponse | None:
            current = _CURRENT.get()
            if current is None or not self._draw(self.faults.retried, current.function):
                return None
            error = self._error(service)
            self._tally(current.function, service, error, "retried")
            headers, body = _wire_error(service, protocol, error)
            return AWSResponse(request.url, error.status, HTTPHeaders.from_dict(headers), _RawBody(body))

        return before_send

    def _before_call_for(self, service: str) -> Callable[..., Any]:
        def before_call(model: Any, **_: Any) -> tuple[Any, dict[str, Any]] | None:
            current = _CURRENT.get()
            if current is None:
                return None
            with self._lock:
                self.calls[current.function] += 1
            operation = str(model.name)
            if service == "s3" and operation in S3_WRITES and current.crash == "after_s3_write":
                current.armed = True
            if service == "dynamodb" and operation in DYNAMODB_WRITES:
                current.dynamodb_writes += 1
                self._maybe_crash(current)
            if not self._draw(self.faults.surfaced, current.function):
                return None
            error = self._error(service)
            self._tally(current.function, service, error, "surfaced")
            return _Http(error.status), {
                "Error": {"Code": error.code, "Message": error.message},
                "ResponseMetadata": {"HTTPStatusCode": error.status, "HTTPHeaders": {}, "RetryAttempts": 0},
            }

        return before_call

    def _visibility_change(self, params: Mapping[str, Any], **_: Any) -> None:
        """A function backing a record off: remembered, so the run can let the backoff elapse (`chaos.clock`)."""
        if _CURRENT.get() is None or self.backoffs is None:
            return
        self.backoffs.remember(
            str(params.get("QueueUrl", "")),
            str(params.get("ReceiptHandle", "")),
            int(params.get("VisibilityTimeout", 0)),
        )

    def _maybe_crash(self, current: _Invocation) -> None:
        point = current.crash
        if point is None:
            return
        due = current.armed if point != "mid_batch" else current.dynamodb_writes >= 2
        if not due:
            return
        current.crash = None  # one crash per invocation
        with self._lock:
            self.crashed[point] += 1
        raise WorkerKilled(f"chaos: the worker was killed ({point})")

    def _after_provider_call(self, method: str, url: str, response: Any) -> None:
        current = _CURRENT.get()
        if current is None or current.crash != "after_provider_create" or method.upper() != "POST":
            return
        if getattr(response, "status_code", 0) < 300 and any(
            url.rstrip("/").endswith(p.rstrip("/")) for p in PROVIDER_CREATES
        ):
            current.armed = True

    # -- reading

    def tallies(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls_inside_invocations": dict(sorted(self.calls.items())),
                "injected": dict(sorted(self.injected.items())),
                "injected_total": sum(self.injected.values()),
                "crashes": dict(sorted(self.crashed.items())),
            }


@dataclass
class _Http:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)


def _wire_error(service: str, protocol: str, error: ServiceError) -> tuple[dict[str, str], bytes]:
    """The error as the service puts it on the wire, in its protocol."""
    if protocol in ("json", "smithy-rpc-v2-cbor") or service == "dynamodb":
        prefix = {"dynamodb": "com.amazonaws.dynamodb.v20120810", "sqs": "com.amazonaws.sqs"}.get(service, service)
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "chaos"}
        if service == "sqs":
            headers["x-amzn-query-error"] = f"{error.code};{'Sender' if error.status < 500 else 'Receiver'}"
        return headers, json.dumps({"__type": f"{prefix}#{error.code}", "message": error.message}).encode()
    if service == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{error.code}</Code><Message>{error.message}</Message><RequestId>chaos</RequestId></Error>"
        )
        return {"Content-Type": "application/xml"}, body.encode()
    body = (
        '<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type>'
        f"<Code>{error.code}</Code><Message>{error.message}</Message></Error><RequestId>chaos</RequestId>"
        "</ErrorResponse>"
    )
    return {"Content-Type": "text/xml"}, body.encode()


def _records(event: Any) -> int:
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        return len(event["Records"])
    return 0


def runtime_time() -> float:
    import time  # noqa: PLC0415 - kept beside its one use

    return time.time()


def _killed(runtime: LambdaRuntime, name: str, trigger: str, started: float, message: str) -> Invocation:
    """The record of a killed invocation: the runtime's own (left `pending` by the crash) marked as Lambda would."""
    for record in reversed(runtime.invocations):
        if record.function == name and record.outcome == "pending" and record.started_at >= started:
            record.outcome = "error"
            record.error_type = "Runtime.ExitError"
            record.error_message = message
            return record
    return Invocation(
        function=name,
        trigger=trigger,
        request_id="killed",
        started_at=started,
        outcome="error",
        error_type="Runtime.ExitError",
        error_message=message,
    )
