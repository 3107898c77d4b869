"""Emitting SignBridge's custom metrics (names in `signbridge.observability`, charted by the CDK dashboard), and the
handlers' tracer.

Each metric here has its own dimension set, so each goes out as its own EMF line (`single_metric`): a shared
`Metrics` blob would give every metric every dimension. Values only, never personal data.

`Tracer` stands in for Powertools' `Tracer` (the part the handlers use) and makes it only on the first invocation,
and only when tracing is on: Powertools' `Tracer()` imports `aws_xray_sdk.core`, whose recorder builds two botocore
clients at import (~280 ms of every cold start), even when tracing is off.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TypeVar, overload

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice
from aws_lambda_powertools.tracing import Tracer as PowertoolsTracer  # cheap: it imports the X-Ray SDK lazily

from signbridge import observability as names

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


def count(name: str, value: float = 1, /, **dimensions: str) -> None:
    _emit(name, MetricUnit.Count, value, dimensions)


def provider_call(provider: str, operation: str, status: int | None, seconds: float, failed: bool) -> None:
    """One HTTP attempt at a provider (`providers.http.ProviderHttp`'s observer)."""
    count(names.PROVIDER_CALLS, provider=provider)
    _emit(names.PROVIDER_LATENCY, MetricUnit.Milliseconds, seconds * 1000, {"provider": provider})
    if failed:
        count(names.PROVIDER_ERRORS, provider=provider)


def request_finished(status: str) -> None:
    """A request reached a terminal status (counted where the move is written, once)."""
    count(names.REQUESTS_FINISHED, status=status)


def _emit(name: str, unit: MetricUnit, value: float, dimensions: dict[str, str]) -> None:
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace=names.METRICS_NAMESPACE,
        default_dimensions={"service": names.SERVICE_NAME, **dimensions},
    ):
        pass


# ------------------------------------------------------------------------------------------------ tracing


class SubsegmentProvider(Protocol):
    def in_subsegment(self, name: str) -> AbstractContextManager[Any]: ...


class _NoTracing:
    @contextmanager
    def in_subsegment(self, name: str) -> Iterator[None]:
        yield None


def tracing_enabled() -> bool:
    """Powertools' own rule: on in Lambda (not under SAM or Chalice) unless `POWERTOOLS_TRACE_DISABLED` is true."""
    disabled = resolve_truthy_env_var_choice(env=os.getenv(constants.TRACER_DISABLED_ENV, "false"))
    in_lambda = bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV))
    emulated = bool(os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV))
    return in_lambda and not emulated and not disabled


class Tracer:
    """Powertools' `Tracer`, made on first use and only when tracing is on (`capture_lambda_handler`, `provider`)."""

    def __init__(self) -> None:
        self._tracer: PowertoolsTracer | None = None
        self._decided = False

    def _powertools(self) -> PowertoolsTracer | None:
        if not self._decided:
            if tracing_enabled():
                self._tracer = PowertoolsTracer()
            self._decided = True
        return self._tracer

    @property
    def provider(self) -> SubsegmentProvider:
        tracer = self._powertools()
        return tracer.provider if tracer is not None else _NoTracing()

    @overload
    def capture_lambda_handler(self, lambda_handler: HandlerT, /) -> HandlerT: ...

    @overload
    def capture_lambda_handler(
        self, lambda_handler: None = None, /, *, capture_response: bool | None = None, capture_error: bool | None = None
    ) -> Callable[[HandlerT], HandlerT]: ...

    def capture_lambda_handler(
        self,
        lambda_handler: HandlerT | None = None,
        /,
        *,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> HandlerT | Callable[[HandlerT], HandlerT]:
        if lambda_handler is None:

            def decorate(function: HandlerT) -> HandlerT:
                return self._capture(function, capture_response, capture_error)

            return decorate
        return self._capture(lambda_handler, capture_response, capture_error)

    def _capture(self, function: HandlerT, capture_response: bool | None, capture_error: bool | None) -> HandlerT:
        traced: Callable[..., Any] | None = None

        @functools.wraps(function)
        def handler(event: Any, context: Any) -> Any:
            nonlocal traced
            tracer = self._powertools()
            if tracer is None:
                return function(event, context)
            if traced is None:
                traced = tracer.capture_lambda_handler(
                    function, capture_response=capture_response, capture_error=capture_error
                )
            return traced(event, context)

        return handler  # type: ignore[return-value]
