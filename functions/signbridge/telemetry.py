"""Emitting SignBridge's custom metrics (names in `signbridge.observability`, charted by the CDK dashboard).

Each metric here has its own dimension set, so each goes out as its own EMF line (`single_metric`): a shared
`Metrics` blob would give every metric every dimension. Values only, never personal data.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from signbridge import observability as names


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
