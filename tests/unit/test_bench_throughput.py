"""The throughput figures from completion timestamps (no stack: `bench.throughput.summarise` is pure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import run
from bench.report import RESULTS_DIR
from bench.throughput import MAX_POLL_SECONDS, POLL_SECONDS, Completion, summarise
from demo import waiting


def test_rate_latency_and_failures_from_timestamps() -> None:
    # Given 4 requests submitted at t=0, three completed at 1, 2 and 4 s, one failed
    completions = [
        Completion(0.0, 1.0),
        Completion(0.0, 2.0),
        Completion(0.0, 4.0),
        Completion(0.0, None, "StageTimeoutError: slow"),
    ]
    # When summarised
    figures = summarise(completions, concurrency=4)
    # Then the rate runs from the first submission to the last completion, and the failure is counted
    assert figures["completed"] == 3
    assert figures["failed"] == 1
    assert figures["completed_per_s"] == 0.75
    assert figures["p50_create_to_completed_s"] == 2.0
    assert figures["errors"] == ["StageTimeoutError: slow"]
    assert "first_hundred_per_s" not in figures  # fewer than two hundred


def test_a_long_run_reports_its_first_and_last_hundred() -> None:
    # Given 300 completions, one every 0.5 s for the first hundred and one a second afterwards (a decay)
    times = [0.5 * (index + 1) for index in range(100)] + [50.0 + index + 1 for index in range(200)]
    completions = [Completion(0.0, at) for at in times]
    # When summarised
    figures = summarise(completions, concurrency=50)
    # Then the first hundred ran at 2/s and the last hundred at 1/s
    assert figures["first_hundred_per_s"] == 2.0
    assert figures["last_hundred_per_s"] == 1.0


def test_a_waiting_client_polls_less_often_the_longer_it_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a request that stays `submitted` for six polls, then is `completed`
    statuses = iter(["submitted"] * 6 + ["completed"])
    pauses: list[float] = []

    class Api:
        def get_request(self, request_id: str) -> dict[str, Any]:
            return {"id": request_id, "status": next(statuses)}

    monkeypatch.setattr(waiting.time, "sleep", pauses.append)

    # When the throughput client waits for it
    body = waiting.wait_for_status(
        Api(),  # type: ignore[arg-type]
        "r-1",
        "completed",
        timeout=60,
        interval=POLL_SECONDS,
        max_interval=MAX_POLL_SECONDS,
    )

    # Then it paused 0.5 s first, then half as long again each time, never more than the bound
    assert body["status"] == "completed"
    assert pauses == [0.5, 0.75, 1.125, 1.6875, 2.53125, 3.0]


def test_throughput_only_records_its_figures_into_the_last_result(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a recorded result with other figures and older throughput figures
    results = tmp_path / "results"
    results.mkdir()
    recorded = json.loads((RESULTS_DIR / "latest.json").read_text(encoding="utf-8"))
    recorded["throughput"] = {"at_once": {"completed_per_s": 0.1}}
    (results / "latest.json").write_text(json.dumps(recorded), encoding="utf-8")
    measured = {"at_once": {"requests": 2, "concurrency": 2, "completed": 2, "completed_per_s": 3.0, "rss_mib": 1.0}}
    asked: list[tuple[int, int]] = []

    def measure(at_once: int, long_run: int, say: Any) -> dict[str, Any]:
        asked.append((at_once, long_run))
        return measured

    monkeypatch.setattr(run, "measure_throughput", measure)

    # When only the throughput is measured
    code = run.main(
        [
            "--throughput-only",
            "--throughput",
            "2",
            "--long-run",
            "0",
            "--results",
            str(results),
            "--doc",
            str(tmp_path / "page.md"),
        ]
    )

    # Then its figures replace the recorded ones, with when they were measured, and the rest stays as recorded
    assert code == 0
    assert asked == [(2, 0)]
    latest = json.loads((results / "latest.json").read_text(encoding="utf-8"))
    assert latest["throughput"] == measured
    assert latest["throughput_measured"]["git_commit"]
    new = {"throughput", "throughput_measured"}
    assert {key: value for key, value in latest.items() if key not in new} == {
        key: value for key, value in recorded.items() if key not in new
    }
    assert "Measured on its own (`--throughput-only`)" in (tmp_path / "page.md").read_text(encoding="utf-8")
