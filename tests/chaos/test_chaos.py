"""The small, seeded chaos runs of `make test`: one request each, one fault kind each, deterministic (the large run,
all three workflows at once under every fault, is `make chaos`; docs/chaos.md).

Each scenario runs in its own process (`chaos.run.run_apart`: one local stack per process) and must pass every
check of `chaos.run`: every request completed, none stuck, DLQs empty, no duplicate provider object, every file
stored once with a provider's sha256. A scenario that a known defect (issue 10) still breaks is marked
`xfail(strict=True)` with the defect's number: it turns green — and then fails strictly — when the fix lands, and
the mark must go then.
"""

from __future__ import annotations

from typing import Any

import pytest

from chaos.run import run_apart

pytestmark = [pytest.mark.chaos, pytest.mark.xdist_group("chaos"), pytest.mark.timeout(900)]

NO_PROVIDER_FAULTS: dict[str, Any] = {"seed": 0, "endpoints": {}, "webhooks": {}}
NO_AWS_FAULTS: dict[str, Any] = {"seed": 0}


def _failed(report: dict[str, Any]) -> dict[str, Any]:
    failed = {name: check for name, check in report["checks"].items() if not check["ok"]}
    return {"failed": failed, "requests": report["requests"]}


def _one(workflow: str, **fields: Any) -> dict[str, Any]:
    """One request of `workflow`, nothing injected but what `fields` say."""
    scenario = {
        "seed": 1,
        "requests": 1,
        "concurrency": 1,
        "workflows": [workflow],
        "aws": NO_AWS_FAULTS,
        "zapsign_plan": NO_PROVIDER_FAULTS,
        "oneshot_plan": NO_PROVIDER_FAULTS,
        "request_timeout": 90,
        **fields,
    }
    return run_apart(scenario)


def test_a_5xx_after_zapsign_created_the_document_heals_without_a_duplicate() -> None:
    """Seed 1 draws 0.13 then 0.85: ZapSign creates the document and answers 503; the next create finds it."""
    plan = {"seed": 1, "endpoints": {"create_document": {"after_rate": 0.5, "error_status": 503}}, "webhooks": {}}
    report = _one("zapsign", zapsign_plan=plan)

    assert report["tallies"]["providers"]["zapsign"]["injected"] == {"503 after the work": 1}
    assert report["ok"], _failed(report)


def test_a_503_on_oneshot_create_is_retried() -> None:
    """Seed 1 draws 0.13 then 0.85: the first create answers 503 (before any work), the second succeeds."""
    plan = {"seed": 1, "endpoints": {"create": {"error_rate": 0.5, "error_status": 503}}, "webhooks": {}}
    report = _one("oneshot", oneshot_plan=plan, request_timeout=30)

    assert report["tallies"]["providers"]["oneshot"]["injected"] == {"503": 1}
    assert report["ok"], _failed(report)


@pytest.mark.parametrize(
    ("point", "workflow"),
    [
        ("after_provider_create", "zapsign"),
        ("after_s3_write", "oneshot"),
        ("after_provider_create", "oneshot"),
    ],
)
def test_a_killed_worker_is_healed_by_sqs_retry(point: str, workflow: str) -> None:
    report = _one(workflow, aws={"seed": 3, "crashes": {point: 1.0}, "crash_limit": 1})

    assert report["tallies"]["aws"]["crashes"] == {point: 1}
    assert report["ok"], _failed(report)


def test_a_crash_after_a_zapsign_create_is_healed_by_the_reconciler_alone() -> None:
    """The worker killed once after the create answered, before its record, and the message lost."""
    aws = {"seed": 3, "crashes": {"after_provider_create": 1.0}, "crash_limit": 1, "crash_loses_messages": True}
    report = _one("zapsign", aws=aws)

    assert report["tallies"]["aws"]["crashes"] == {"after_provider_create": 1}
    assert report["ok"], _failed(report)


def test_a_crash_after_the_zapsign_archive_s3_write_is_healed_by_the_reconciler_alone() -> None:
    aws = {"seed": 3, "crashes": {"after_s3_write": 1.0}, "crash_limit": 1, "crash_loses_messages": True}
    report = _one("zapsign", aws=aws, request_timeout=45, settle_timeout=15)

    assert report["tallies"]["aws"]["crashes"] == {"after_s3_write": 1}
    assert report["ok"], _failed(report)
