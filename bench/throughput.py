"""Throughput of the local stack: N `zapsign` requests submitted at once, each signed as soon as its link exists.

`measure(stack, providers, count, concurrency)` runs `count` requests with at most `concurrency` of them in flight
(`count == concurrency`: all submitted at once), each one created, signed at the ZapSign simulator once SignBridge
shows its signer link, and waited for until `completed` (polled after 0.5 s, then 1.5 times longer each time, up to
3 s). Figures: completed requests per second over the run (from the first submission to the last completion),
p50/p95 create→completed, failures, the memory of the process tree after the run (the stack, moto, the functions'
processes; proportional set sizes, shared pages counted once), the machine's load average then, and, for runs of
several hundred, the rate of the first and of the last hundred completions (does it decay as the table grows?). The
stack runs each function's execution environments as processes (`LocalStackConfig.function_processes`): concurrent
API calls run in parallel and share no state. `summarise` is pure (timestamps in, figures out) and unit-tested.
`python -m bench.throughput` runs both runs on a new stack and prints their figures as one JSON line (what `make
bench` records); the functions' logs go to FUNCTION_LOG.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo.answers import signer_token, signers_of
from demo.client import ApiClient, ZapSignControl
from demo.data import request_body
from demo.waiting import wait_for_status

POLL_SECONDS = 0.5  # each request's first status poll of a stage; then every 1.5 times longer, up to:
MAX_POLL_SECONDS = 3.0  # 50 pollers every 0.5 s were the load themselves once API calls ran in parallel (100 GET/s)
REQUEST_TIMEOUT_SECONDS = 600.0
HUNDRED = 100
FUNCTION_LOG = Path(__file__).resolve().parent.parent / "cdk.out" / "signbridge-bench-throughput.log"


@dataclass(frozen=True)
class Completion:
    submitted: float  # monotonic seconds
    completed: float | None  # None: did not complete
    error: str = ""


def one_request(api_url: str, zapsign_simulator: Any, index: int) -> Completion:
    submitted = time.monotonic()
    api = ApiClient(api_url)
    try:
        created = api.create_request(request_body("zapsign", run=f"t{index:04d}"))
        request_id = str(created["id"])
        pending = wait_for_status(
            api,
            request_id,
            "zapsign_pending",
            timeout=REQUEST_TIMEOUT_SECONDS,
            interval=POLL_SECONDS,
            max_interval=MAX_POLL_SECONDS,
            condition=lambda body: bool(signers_of(body)) and all(signer_token(s) for s in signers_of(body)),
        )
        control = ZapSignControl(zapsign_simulator, session=api.session)
        for signer in signers_of(pending):
            token = signer_token(signer)
            assert token is not None
            control.open_link(token)
            control.sign(token)
        wait_for_status(
            api,
            request_id,
            "completed",
            timeout=REQUEST_TIMEOUT_SECONDS,
            interval=POLL_SECONDS,
            max_interval=MAX_POLL_SECONDS,
        )
        return Completion(submitted, time.monotonic())
    except Exception as error:  # a failed request is a figure, not the end of the benchmark
        return Completion(submitted, None, f"{type(error).__name__}: {error}")
    finally:
        api.close()


def measure(api_url: str, zapsign_simulator: Any, count: int, concurrency: int) -> list[Completion]:
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench-request") as pool:
        return list(pool.map(lambda index: one_request(api_url, zapsign_simulator, index), range(count)))


def summarise(completions: Sequence[Completion], *, concurrency: int) -> dict[str, Any]:
    """Completed per second (first submission to last completion), latency percentiles, and per hundred."""
    done = sorted(c.completed for c in completions if c.completed is not None)
    latencies = sorted(c.completed - c.submitted for c in completions if c.completed is not None)
    start = min((c.submitted for c in completions), default=0.0)
    figures: dict[str, Any] = {
        "requests": len(completions),
        "concurrency": concurrency,
        "completed": len(done),
        "failed": len(completions) - len(done),
        "errors": sorted({c.error for c in completions if c.error})[:5],
    }
    if done:
        figures["elapsed_s"] = round(done[-1] - start, 2)
        figures["completed_per_s"] = _rate(len(done), done[-1] - start)
        figures["p50_create_to_completed_s"] = round(statistics.median(latencies), 2)
        figures["p95_create_to_completed_s"] = round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 2)
    if len(done) >= 2 * HUNDRED:
        figures["first_hundred_per_s"] = _rate(HUNDRED, done[HUNDRED - 1] - start)
        figures["last_hundred_per_s"] = _rate(HUNDRED, done[-1] - done[-HUNDRED - 1])
    return figures


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 2) if seconds > 0 else None


def describe(figures: Mapping[str, Any]) -> str:
    line = (
        f"{figures.get('completed')}/{figures.get('requests')} completed ({figures.get('concurrency')} in flight): "
        f"{figures.get('completed_per_s')} completed/s, "
        f"p50 create→completed {figures.get('p50_create_to_completed_s')} s"
    )
    if "first_hundred_per_s" in figures:
        line += f"; first hundred {figures['first_hundred_per_s']}/s, last hundred {figures['last_hundred_per_s']}/s"
    return line


def rss_mib() -> float | None:
    """The memory now (Linux), in MiB, of this process and every process it started (moto, the functions' template
    and execution environment processes): the sum of their proportional set sizes, so that the pages the forked
    environments share with their template process are counted once (their resident sizes would count them in each);
    a process without `smaps_rollup` counts its resident size."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, found, pending = 0, False, [os.getpid()]
    while pending:
        pid = pending.pop()
        pending.extend(children.get(pid, ()))
        kilobytes = _proc_kilobytes(f"/proc/{pid}/smaps_rollup", "Pss:")
        if kilobytes is None:
            kilobytes = _proc_kilobytes(f"/proc/{pid}/status", "VmRSS:")
        if kilobytes is not None:
            total += kilobytes
            found = True
    return round(total / 1024, 1) if found else None


def _proc_kilobytes(path: str, field: str) -> int | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def load_average() -> float | None:
    """The machine's 1-minute load average now (Linux): the figures' context on a shared machine."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    from local.companions import Providers  # noqa: PLC0415 - the stack only for the measuring process
    from local.stack import LocalStack, LocalStackConfig  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m bench.throughput")
    parser.add_argument("--at-once", type=int, default=50)
    parser.add_argument("--long-run", type=int, default=500)
    options = parser.parse_args(argv)
    plan = [("at_once", options.at_once, options.at_once), ("long_run", options.long_run, max(1, options.at_once))]
    runs: dict[str, Any] = {}
    providers = Providers.simulated()
    config = LocalStackConfig(
        api_port=0,
        schedules=False,
        companions=providers.companions(),
        secret_values=providers.secret_values(),
        function_processes=True,
    )
    out = sys.stdout
    FUNCTION_LOG.parent.mkdir(parents=True, exist_ok=True)
    with FUNCTION_LOG.open("w", encoding="utf-8") as log:
        sys.stdout = log
        try:
            with LocalStack(config) as stack:
                providers.connect(stack)
                for name, count, concurrency in plan:
                    if count > 0:
                        completions = measure(stack.api_url, providers.zapsign_simulator, count, concurrency)
                        runs[name] = {
                            **summarise(completions, concurrency=concurrency),
                            "rss_mib": rss_mib(),
                            "load_average": load_average(),
                        }
        finally:
            sys.stdout = out
    print(json.dumps(runs), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
