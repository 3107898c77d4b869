"""The handlers' tracer: Powertools' Tracer (and the X-Ray SDK) only when tracing is on, and only when first used.

That no handler imports the X-Ray SDK at import time is pinned with the rest of what a cold start may not load
(tests/unit/test_cold_imports.py)."""

from __future__ import annotations

from typing import Any

import pytest

from signbridge import telemetry


def test_outside_lambda_the_handler_runs_untraced(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no Lambda environment
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    tracer = telemetry.Tracer()
    calls: list[Any] = []

    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: object) -> str:
        with tracer.provider.in_subsegment("op:test"):
            calls.append(event)
        return "answer"

    # When it is invoked
    answer = handler({"n": 1}, None)
    # Then it ran as it is, with no Powertools tracer made
    assert (answer, calls) == ("answer", [{"n": 1}])
    assert tracer._tracer is None


@pytest.mark.parametrize(
    ("environment", "enabled"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({}, False),
    ],
)
def test_tracing_is_on_by_powertools_own_rule(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], enabled: bool
) -> None:
    for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert telemetry.tracing_enabled() is enabled


def test_a_bare_decorator_keeps_the_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    tracer = telemetry.Tracer()

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        return event

    assert handler({"a": 1}, None) == {"a": 1}
    assert handler.__name__ == "handler"
