"""`python -m bench`: measure the local stack and print + record the figures (no assertions on them).

Figures (docs/benchmarks.md says what each means):

1. start to ready: `python -m local --no-demo` as a new process, from its start to the "SignBridge is ready" line (the
   template in cdk.out current), then SIGINT to its exit (and its exit code); plus the in-process `LocalStack.start()`;
1b. cold start: each handler's import time as shipped, as a ratio to `import boto3` alone (`bench.cold_start`);
1c. verifying one signed PDF: time and peak traced memory per file size and signature count (`bench.verification`);
1d. building one request's sealed evidence package: time, peak traced memory, package size and AWS calls
    (`bench.evidence`);
2. the demo request end to end, per workflow (`demo.run_demo`), with the time each status was first seen;
3. provider calls per completed request, per workflow, from the simulators' `/_sim/calls` counters, beside the
   design's budget (`bench.budget`);
4. the completed request's size in DynamoDB (items by kind, bytes as DynamoDB sizes them; `bench.stored`) and
   its `GET /v1/requests/{id}` body;
5. AWS calls per step, counted with botocore `before-call` hooks and attributed to the invocation that made them
   (`bench.aws_calls`); the webhook acknowledgement path's own figure;
6. Lambda handler durations (p50/p95 per function, from `LocalStack.invocations`);
7. peak memory: tracemalloc's peak over one extra `zapsign_oneshot` demo (run apart, tracemalloc slows Python down),
   and the process's max RSS;
8. throughput (`bench.throughput`, a process of its own);
9. cost per request: every invocation of each demo request priced at AWS list prices, itemised per service, plus the
   schedules' share (`bench.cost`, `bench.prices`);
10. archive time against file size (`bench.archive`, a process of its own).

Results: `bench/results/latest.json` (everything) and one line appended to `bench/results/history.jsonl` (date, git
commit, headline figures); then docs/benchmarks.md is rendered from them (`bench.report`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import archive, cold_start, cost, evidence, stored, throughput, verification
from bench import report as bench_report
from bench.aws_calls import AwsCallCounter, LogCounter, StepFigures, resolve_sizes, stored_key
from bench.budget import ONESHOT, ZAPSIGN, budget
from demo.report import DemoResult
from demo.runner import WORKFLOWS, run_demo
from local import synth
from local.__main__ import READY_LINE
from local.companions import Providers
from local.stack import LocalStack, LocalStackConfig
from signbridge import env_names
from signbridge.storage import schema

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
WEBHOOK_ACK_STEP = "POST /webhooks/zapsign"
WEBHOOK_ACK_EXPECTED = 2
BOOT_TIMEOUT_SECONDS = 300.0
FUNCTION_LOG = synth.DEFAULT_OUTDIR / "signbridge-bench.log"
PARTS = ("boot", "cold_start", "demo", "memory", "throughput", "cost", "archive", "verification", "evidence")
SCHEDULED_FUNCTIONS = ("reconciler", "housekeeper")

Out = Callable[[str], None]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Benchmark the SignBridge local stack.")
    parser.add_argument("--workflow", action="append", choices=WORKFLOWS, help="default: all three")
    parser.add_argument("--repeat", type=int, default=3, help="demo requests per workflow (default: %(default)s)")
    parser.add_argument("--no-boot", action="store_true", help="skip the new-process start-to-ready measurement")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--no-cold-start", action="store_true", help="skip the handlers' import-time measurement")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="where to record (default: bench/results)")
    parser.add_argument(
        "--doc", type=Path, default=bench_report.DOC_PATH, help="the page to write (default: docs/benchmarks.md)"
    )
    parser.add_argument("--no-record", action="store_true", help="print only: record nothing, write no page")
    parser.add_argument(
        "--throughput", type=int, default=50, help="zapsign requests submitted at once (default %(default)s; 0: skip)"
    )
    parser.add_argument(
        "--long-run",
        type=int,
        default=500,
        help="zapsign requests of the long run, --throughput of them in flight (default %(default)s; 0: skip)",
    )
    parser.add_argument(
        "--no-verification", action="store_true", help="skip verifying signed PDFs of a few sizes (bench.verification)"
    )
    parser.add_argument(
        "--no-evidence", action="store_true", help="skip building evidence packages of two sizes (bench.evidence)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="for development: 1 demo per workflow, no boot, no tracemalloc, 10 requests at once, no long run, "
        "the archive sizes once each",
    )
    parser.add_argument(
        "--only",
        type=_parts,
        help=f"comma-separated parts to run, of {','.join(PARTS)} (cost runs the demo requests it prices)",
    )
    parser.add_argument("--no-archive", action="store_true", help="skip the archive time-per-size measurement")
    parser.add_argument(
        "--throughput-only",
        action="store_true",
        help="only the throughput runs; recorded into the last result, whose other figures stay as they were",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    if options.throughput_only:
        return _throughput_only(options)
    chosen = _settle(options)
    workflows = options.workflow or list(WORKFLOWS)
    in_process = bool(chosen & {"demo", "memory", "cost"})

    report: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **_environment()}
    report["options"] = {
        "workflows_chosen": options.workflow or [],
        "repeat": options.repeat,
        "boot": not options.no_boot,
        "memory": not options.no_memory,
        "cold_start": not options.no_cold_start,
        "verification": not options.no_verification,
        "evidence": not options.no_evidence,
        "throughput": options.throughput,
        "long_run": options.long_run,
        "quick": options.quick,
        "only": sorted(chosen, key=PARTS.index) if options.only else [],
        "archive": not options.no_archive,
    }
    say = _printer()
    dirty = " (uncommitted changes)" if report["git_dirty"] else ""
    say(f"SignBridge benchmark — {report['date']} — commit {report['git_commit'][:12]}{dirty}")

    started = time.monotonic()
    synthesized_before = synth.ensure_template()
    report["synth_check_s"] = round(time.monotonic() - started, 3)
    say(f"template {synthesized_before.relative_to(REPO_ROOT)} current (checked in {report['synth_check_s']} s)")

    if not options.no_boot:
        report["boot"] = measure_boot(say)
    if not options.no_cold_start:
        report["cold_start"] = cold_start.measure(say)
    if not options.no_verification:
        report["verification"] = measure_verification(repeat=1 if options.quick else 5, say=say)
    if not options.no_evidence:
        report["evidence"] = measure_evidence(repeat=1 if options.quick else 5, say=say)
    if in_process:
        report.update(measure_in_process(workflows, options.repeat, memory=not options.no_memory, say=say))
    report["throughput"] = measure_throughput(options.throughput, options.long_run, say)
    if not options.no_archive:
        report["archive"] = measure_archive(1 if options.quick else archive.REPEAT, say)

    if not options.no_record:
        record(report, options.results)
        say(f"\nrecorded: {options.results / 'latest.json'} and a line in {options.results / 'history.jsonl'}")
        recorded, history = bench_report.load_results(options.results)
        say(f"wrote {bench_report.write(recorded, options.doc, history=history)}")
    workflows_run = report.get("workflows") or {}
    failed = [wf for wf, figures in workflows_run.items() if not all(run["ok"] for run in figures["runs"])]
    if failed:
        say(f"note: demo requests did not complete for {failed} (figures above are for what ran)")
    return 0


def _settle(options: argparse.Namespace) -> set[str]:
    """Apply `--quick` and `--only` to the options; answer the parts that run."""
    if options.quick:
        options.repeat, options.no_boot, options.no_memory = 1, True, True
        options.throughput, options.long_run = min(options.throughput, 10), 0
    chosen = set(options.only or PARTS)
    if options.only:
        options.no_boot = options.no_boot or "boot" not in chosen
        options.no_cold_start = options.no_cold_start or "cold_start" not in chosen
        options.no_memory = options.no_memory or "memory" not in chosen
        if "throughput" not in chosen:
            options.throughput = options.long_run = 0
    options.no_archive = options.no_archive or "archive" not in chosen
    options.no_verification = options.no_verification or "verification" not in chosen
    options.no_evidence = options.no_evidence or "evidence" not in chosen
    return chosen


def _parts(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in PARTS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"parts are {', '.join(PARTS)}; not {', '.join(unknown) or 'none'}")
    return chosen


# -- 10. archive time against size --------------------------------------------------------------------------------


def measure_archive(repeat: int, say: Out) -> dict[str, Any]:
    """`python -m bench.archive` in a new process (its tracemalloc and moto process apart from the stack's)."""
    figures = _module_answer("archive", ["--repeat", str(repeat)], say)
    if not figures:
        return {}
    say("\n== archive time against size (download stream → FileStore.store_stream → moto) ==")
    for size in figures["sizes"]:
        say(
            f"  {size['mib']:>3} MiB  {size['seconds']['median']:.3f} s median  peak {size['tracemalloc_peak_mib']} MiB"
            f"  S3 {size['s3_calls']}  intact {size['sha256_matches_and_one_version']}"
        )
    say(f"  time(50 MiB) / time(5 MiB): {figures.get('time_ratio_50_to_5')}")
    return figures


# -- 8. throughput: zapsign requests at once, then a long run -------------------------------------------------------


def _throughput_only(options: argparse.Namespace) -> int:
    """`--throughput-only`: the throughput runs alone; the recorded result (`latest.json`) gets their figures, with
    when and on which commit they were measured (`throughput_measured`), and the page is written again."""
    say = _printer()
    measured = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **_environment()}
    say(f"SignBridge throughput — {measured['date']} — commit {measured['git_commit'][:12]}")
    runs = measure_throughput(options.throughput, options.long_run, say)
    if not runs:
        return 1
    if not options.no_record:
        latest = options.results / "latest.json"
        report = json.loads(latest.read_text(encoding="utf-8"))
        report["throughput"] = runs
        report["throughput_measured"] = {
            key: measured[key] for key in ("date", "git_commit", "git_dirty", "python", "platform", "cpus")
        }
        latest.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        say(f"\nrecorded: the throughput figures in {latest}")
        recorded, history = bench_report.load_results(options.results)
        say(f"wrote {bench_report.write(recorded, options.doc, history=history)}")
    return 0


def measure_throughput(at_once: int, long_run: int, say: Out) -> dict[str, Any]:
    """Both runs in a new process (`python -m bench.throughput`) on a stack of their own, started empty: a handler
    module this process already imported keeps clients bound to the earlier stack's AWS endpoint."""
    if at_once <= 0 and long_run <= 0:
        return {}
    runs = _module_answer("throughput", ["--at-once", str(at_once), "--long-run", str(long_run)], say)
    for name, figures in runs.items():
        label = name.replace("_", " ")
        say(f"\n== throughput, {label}: {throughput.describe(figures)}; RSS {figures['rss_mib']} MiB ==")
    return runs


def _module_answer(name: str, arguments: list[str], say: Out) -> dict[str, Any]:
    """Run `python -m bench.<name> <arguments>` in a new process; its last line of output, a JSON object ({} when it
    failed, said)."""
    command = [sys.executable, "-m", f"bench.{name}", *arguments]
    completed = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        command, cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        say(f"\n== {name}: failed (exit {completed.returncode}): {completed.stderr.strip()[-500:]} ==")
        return {}
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer


def _rss_mib() -> float | None:
    """The process's resident memory now (Linux), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


# -- 1. start to ready, as a new process -----------------------------------------------------------------------------


def measure_verification(*, repeat: int, say: Out) -> dict[str, Any]:
    """`bench.verification`'s figures: one signed PDF verified from a temporary file, per size and signature count."""
    say("\nverifying signed PDFs (test PKI, from a temporary file):")
    rows = verification.measure_files(repeat)
    for row in rows:
        say(
            f"  {row['size_mib']:>6.2f} MiB  {row['signatures']} signature(s)  median {row['median_ms']:>6.0f} ms  "
            f"peak {row['peak_mib']:.2f} MiB"
        )
    return {"repeat": repeat, "files": rows}


EVIDENCE_CASES = ((1, 1 << 20), (3, 10 << 20))
"""(documents, payload bytes per document) of the evidence packages built."""


def measure_evidence(*, repeat: int, say: Out) -> dict[str, Any]:
    """`bench.evidence`'s figures: one completed `oneshot` request's package built, sealed and stored, per size."""
    say("\nbuilding evidence packages (moto in its own process, KMS ECC_NIST_P256 seal):")
    rows = []
    for documents, size in EVIDENCE_CASES:
        row = evidence.measure(documents, size, repeat)
        rows.append(row)
        say(
            f"  {documents} document(s) of {row['payload_mib']} MiB: package {row['package_mib']:.2f} MiB, median "
            f"{row['median_ms']:.0f} ms, peak {row['peak_mib']:.2f} MiB, {row['aws_calls']} AWS calls"
        )
    return {"repeat": repeat, "packages": rows}


def measure_boot(say: Out) -> dict[str, Any]:
    """`python -m local --no-demo` in a new process: start → ready line, SIGINT → exit."""
    say("\n== start to ready (new process: python -m local --no-demo) ==")
    with tempfile.TemporaryDirectory(prefix="signbridge-bench-") as scratch:
        command = [
            sys.executable,
            "-m",
            "local",
            "--no-demo",
            "--port",
            "0",
            "--no-schedules",
            "--function-logs",
            str(Path(scratch) / "functions.log"),
        ]
        started = time.monotonic()
        process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            command,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(process, lines), daemon=True)
        reader.start()
        ready_s: float | None = None
        output: list[str] = []
        deadline = started + BOOT_TIMEOUT_SECONDS
        while ready_s is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            output.append(line.rstrip())
            if line.startswith(READY_LINE):
                ready_s = time.monotonic() - started
        stop_started = time.monotonic()
        process.send_signal(signal.SIGINT)
        try:
            exit_code: int | None = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            exit_code = None
        stopped_s = time.monotonic() - stop_started
        reader.join(timeout=5)
    figures = {
        "process_start_to_ready_s": None if ready_s is None else round(ready_s, 3),
        "sigint_to_exit_s": round(stopped_s, 3),
        "exit_code": exit_code,
    }
    if ready_s is None:
        say("  never printed the ready line; its output:")
        for line in output[-15:]:
            say(f"    {line}")
    else:
        say(f"  process start → '{READY_LINE}': {ready_s:.2f} s")
    say(f"  SIGINT → exit: {stopped_s:.2f} s, exit code {exit_code}")
    return figures


def _read_lines(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


# -- 2-6, in one process ---------------------------------------------------------------------------------------------


def measure_in_process(workflows: list[str], repeat: int, *, memory: bool, say: Out) -> dict[str, Any]:
    counter = AwsCallCounter()
    providers = Providers.simulated()
    config = LocalStackConfig(
        api_port=0,
        schedules=False,
        companions=providers.companions(),
        secret_values=providers.secret_values(),
    )
    report: dict[str, Any] = {}
    with counter.installed(), _functions_quiet():
        started = time.monotonic()
        stack = LocalStack(config).start()
        try:
            providers.connect(stack)
            report["in_process_start_s"] = round(time.monotonic() - started, 3)
            counter.attach(stack.runtime)
            counter.reset()
            bucket = stack.function_environment("api")[env_names.BUCKET_NAME]
            table = stack.function_environment("api")[env_names.TABLE_NAME]
            say(f"\n== in-process stack: LocalStack.start() + webhook registration {report['in_process_start_s']} s ==")
            runs_to_price: dict[str, _PricedRuns] = {}
            report["workflows"] = {
                workflow: measure_workflow(
                    stack,
                    providers,
                    workflow,
                    repeat=repeat,
                    bucket=bucket,
                    table=table,
                    say=say,
                    counter=counter,
                    priced=runs_to_price.setdefault(workflow, _PricedRuns()),
                )
                for workflow in workflows
            }
            schedule_runs = measure_schedules(stack, counter, table)
            steps = counter.figures()
            report["aws_calls_per_step"] = [figure.to_json() for figure in steps]
            report["aws_calls_outside_invocations"] = dict(counter.outside.most_common())
            report["webhook_ack_aws_calls"] = _webhook_ack(steps)
            report["lambda_durations_ms"] = durations(stack)
            report["cost"] = cost_figures(runs_to_price, schedule_runs)
            if memory:
                report["memory"] = measure_memory(stack, providers, bucket, counter)
        finally:
            stack.stop()
    report["memory"] = {**report.get("memory", {}), "max_rss_mib": _max_rss_mib()}
    print_report(report, say)
    return report


# -- 9. cost per request --------------------------------------------------------------------------------------------


def measure_schedules(stack: LocalStack, counter: AwsCallCounter, table: str) -> dict[str, cost.Usage]:
    """One run of each scheduled function on the idle stack (after the demo requests), as its schedule fires it."""
    runs: dict[str, cost.Usage] = {}
    for function in SCHEDULED_FUNCTIONS:
        if function not in stack.runtime.functions:
            continue
        counter.run = f"schedule:{function}"
        try:
            stack.trigger_schedule(function)
            stack.wait_until_idle(timeout=30)
        finally:
            counter.run = None
        usages = [usage for usage in counter.usages(f"schedule:{function}") if usage.function == function]
        _resolve(stack, table, usages, [])
        if usages:
            runs[function] = usages[0]
    return runs


def _resolve(stack: LocalStack, table: str, usages: list[cost.Usage], partition: list[dict[str, Any]]) -> list[str]:
    """Size every item the usages' writes name by key: from the request's partition, else one `GetItem` each (the
    benchmark's own reads, counted outside invocations). Answers the keys no longer stored (sized at 1 KB)."""
    items = {stored_key(item): item for item in partition}
    wanted = {write.key for usage in usages for write in usage.dynamodb_writes if write.size is None}
    dynamodb = stack.client("dynamodb")
    for key in sorted(wanted - set(items)):
        pk, _, sk = key.partition("|")
        found = dynamodb.get_item(
            TableName=table, Key={schema.PK: {"S": pk}, schema.SK: {"S": sk}}, ConsistentRead=True
        ).get("Item")
        if found:
            items[key] = found
    return resolve_sizes(usages, items)


@dataclass
class _PricedRuns:
    """A workflow's demo requests as the cost model sees them: the last run's invocations (kept in memory only: the
    recorded result keeps what they cost), the items none of its stored items could size, every run's total."""

    last_usages: list[cost.Usage] = field(default_factory=list)
    unsized: list[str] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)


def cost_figures(workflows: Mapping[str, _PricedRuns], schedule_runs: Mapping[str, cost.Usage]) -> dict[str, Any]:
    """Per workflow: the last run's cost per 1,000 requests, itemised, and every run's total."""
    priced: dict[str, Any] = {}
    for workflow, runs in workflows.items():
        if not runs.last_usages:
            continue
        priced[workflow] = {
            **cost.request_cost(runs.last_usages, schedule_runs),
            "totals_all_runs_per_1000_usd": runs.totals,
            "unsized_items": runs.unsized,
        }
    return {
        "workflows": priced,
        "schedules": {
            function: {
                "duration_ms": round(usage.duration_ms, 1),
                "memory_mb": usage.memory_mb,
                "calls": usage.calls,
                "usd_per_run": round(sum(cost.price(usage).values()), 9),
            }
            for function, usage in schedule_runs.items()
        },
        "prices": cost.price_table(),
        "assumptions": cost.assumptions(),
    }


def measure_workflow(
    stack: LocalStack,
    providers: Providers,
    workflow: str,
    *,
    repeat: int,
    bucket: str,
    table: str,
    say: Out,
    counter: AwsCallCounter,
    priced: _PricedRuns,
) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    calls: list[dict[str, dict[str, int]]] = []
    size: dict[str, Any] = {}
    for attempt in range(repeat):
        before = _sim_calls(providers)
        counter.run = f"{workflow}#{attempt + 1}"
        result = run_demo(
            stack.api_url,
            providers.zapsign_simulator,
            providers.oneshot_simulator,
            workflow=workflow,
            out=lambda _line: None,
            s3_client=stack.client("s3"),
            bucket=bucket,
        )
        stack.wait_until_idle(timeout=30)
        run_label, counter.run = counter.run, None
        after = _sim_calls(providers)
        calls.append({provider: _delta(before[provider], after[provider]) for provider in after})
        runs.append(_run_figures(result))
        partition = (
            stored.request_partition(stack.client("dynamodb"), table, result.request_id) if result.request_id else []
        )
        usages = cost.request_usages(counter.usages(run_label))
        priced.unsized = _resolve(stack, table, usages, partition)
        priced.last_usages = usages
        priced.totals.append(cost.request_cost(usages, {})["total_per_1000_usd"])
        runs[-1]["request_ids_named"] = sorted({u.request_id for u in usages if u.request_id})
        if result.ok and result.request_id:
            size = stored.measure(partition)
            size["api_get_bytes"] = len(json.dumps(result.response or {}).encode("utf-8"))
        say(
            f"  {workflow:<16} {'completed' if result.ok else 'FAILED: ' + (result.reason or '')[:100]} "
            f"in {result.elapsed_seconds:.2f} s"
        )
    completed = [run for run in runs if run["ok"]]
    elapsed = [run["elapsed_s"] for run in completed]
    return {
        "runs": runs,
        "elapsed_s": _spread(elapsed),
        "provider_calls": calls[-1] if calls else {},  # the last run: every cold start is behind it
        "provider_calls_all_runs": calls,
        "budget": budget(workflow),
        "stored_request": size,  # the last completed run's request in DynamoDB (bench.stored)
    }


def _run_figures(result: DemoResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "elapsed_s": result.elapsed_seconds,
        "stage_s": result.stage_seconds,
        "reason": result.reason,
    }


def _sim_calls(providers: Providers) -> dict[str, Counter[str]]:
    zapsign, oneshot = providers.zapsign_simulator, providers.oneshot_simulator
    assert zapsign is not None
    assert oneshot is not None
    return {ZAPSIGN: Counter(zapsign.calls), ONESHOT: Counter(oneshot.calls)}


def _delta(before: Counter[str], after: Counter[str]) -> dict[str, int]:
    return {
        name: after[name] - before[name]
        for name in sorted(after)
        if after[name] - before[name] and not name.startswith("sim_")
    }


def _webhook_ack(steps: list[StepFigures]) -> dict[str, Any]:
    ack = next((figure for figure in steps if figure.step == WEBHOOK_ACK_STEP), None)
    if ack is None:
        return {"expected": WEBHOOK_ACK_EXPECTED, "measured": None}
    return {
        "expected": WEBHOOK_ACK_EXPECTED,
        "measured_median": ack.per_invocation["median"],
        "measured_min": ack.per_invocation["min"],
        "measured_max": ack.per_invocation["max"],
        "invocations": ack.invocations,
        "operations_per_invocation": ack.operations,
    }


def durations(stack: LocalStack) -> dict[str, dict[str, Any]]:
    by_function: dict[str, list[float]] = {}
    cold: Counter[str] = Counter()
    outcomes: dict[str, Counter[str]] = {}
    for invocation in stack.invocations:
        by_function.setdefault(invocation.function, []).append(invocation.duration_ms)
        cold[invocation.function] += invocation.cold_start
        outcomes.setdefault(invocation.function, Counter())[invocation.outcome] += 1
    return {
        function: {
            "count": len(values),
            "p50": round(_percentile(values, 50), 1),
            "p95": round(_percentile(values, 95), 1),
            "max": round(max(values), 1),
            "cold_starts": cold[function],
            "outcomes": dict(outcomes[function]),
        }
        for function, values in sorted(by_function.items())
    }


def measure_memory(stack: LocalStack, providers: Providers, bucket: str, counter: AwsCallCounter) -> dict[str, Any]:
    """tracemalloc's peak over one zapsign_oneshot demo (the stack warm), in MiB; the heap peak of each worker step
    (above the heap at its start); and what a new process importing the worker's handler holds (RSS)."""
    counter.heap_peak_seen = 0
    tracemalloc.start()
    try:
        result = run_demo(
            stack.api_url,
            providers.zapsign_simulator,
            providers.oneshot_simulator,
            out=lambda _line: None,
            s3_client=stack.client("s3"),
            bucket=bucket,
        )
        stack.wait_until_idle(timeout=30)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    peak = max(peak, counter.heap_peak_seen)
    return {
        "tracemalloc_peak_mib": round(peak / 2**20, 2),
        "tracemalloc_end_mib": round(current / 2**20, 2),
        "demo_ok": result.ok,
        "demo_elapsed_s_under_tracemalloc": result.elapsed_seconds,
        "worker_step_heap_peak_mib": {
            step: round(peak_bytes / 2**20, 2) for step, peak_bytes in counter.heap_peaks("worker").items()
        },
        "worker_import_rss_mib": worker_import_rss_mib(stack.function_environment("worker")),
    }


def worker_import_rss_mib(environment: Mapping[str, str]) -> float | None:
    """The resident memory (peak, Linux) of a new Python process that imported the worker's handler module with the
    function's environment: what an execution environment holds before its first step."""
    # VmHWM, not ru_maxrss: Linux keeps the parent's ru_maxrss across fork and exec.
    code = (
        "import pathlib, signbridge.handlers.worker; "
        "print(next(line.split()[1] for line in pathlib.Path('/proc/self/status').read_text().splitlines() "
        "if line.startswith('VmHWM:')))"
    )
    completed = subprocess.run(  # noqa: S603 - our own interpreter, a fixed program
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **environment},
    )
    if completed.returncode != 0 or not completed.stdout.strip().isdigit():
        return None
    return round(int(completed.stdout.strip()) / 2**10, 1)


# -- printing and recording -------------------------------------------------------------------------------------------


def print_report(report: Mapping[str, Any], say: Out) -> None:
    say("\n== demo request end to end ==")
    for workflow, figures in report["workflows"].items():
        spread = figures["elapsed_s"]
        stages = figures["runs"][-1]["stage_s"]
        say(
            f"  {workflow:<16} {spread['median']} s median (min {spread['min']}, max {spread['max']}, "
            f"{len(figures['runs'])} runs)"
        )
        say("    status first seen at: " + ", ".join(f"{status} {at:.2f}s" for status, at in stages.items()))

    say("\n== provider calls per completed request (1 signer, 1 document; last run) vs the design's budget ==")
    for workflow, figures in report["workflows"].items():
        say(f"  {workflow}")
        for provider in (ZAPSIGN, ONESHOT):
            actual = figures["provider_calls"].get(provider, {})
            allowed = figures["budget"][provider]
            for endpoint in sorted(set(actual) | set(allowed)):
                got, limit = actual.get(endpoint, 0), allowed.get(endpoint)
                verdict = "—" if limit is None else ("ok" if got <= limit else "OVER BUDGET")
                shown = "-" if limit is None else str(limit)
                say(f"    {provider:<8} {endpoint:<20} {got:>3}   budget {shown:>3}   {verdict}")

    say("\n== a completed request in DynamoDB (last run; bytes as DynamoDB sizes items) ==")
    for workflow, figures in report["workflows"].items():
        size = figures.get("stored_request") or {}
        if size:
            say(
                f"  {workflow:<16} items {size['items']}  {size['total_bytes']} B "
                f"(timeline {size['bytes'].get('timeline', 0)} B), largest item {size['largest_item_bytes']} B, "
                f"GET body {size['api_get_bytes']} B"
            )

    say("\n== AWS calls per step (per invocation: median [min-max]; mean per operation) ==")
    for step in report["aws_calls_per_step"]:
        spread = step["aws_calls_per_invocation"]
        operations = ", ".join(f"{op} {count:g}" for op, count in step["operations_per_invocation"].items())
        say(
            f"  {step['step']:<52} x{step['invocations']:<3} {spread['median']:>4} [{spread['min']}-{spread['max']}]"
            f"  {operations}"
        )
    ack = report["webhook_ack_aws_calls"]
    say(
        f"  webhook acknowledgement ({WEBHOOK_ACK_STEP}): median {ack.get('measured_median')} AWS calls "
        f"(design: {ack['expected']})"
    )
    outside = report["aws_calls_outside_invocations"]
    say(f"  outside invocations (pollers, relay, the benchmark's own reads): {sum(outside.values())} calls")

    say("\n== Lambda handler durations (ms) ==")
    for function, figures in report["lambda_durations_ms"].items():
        say(
            f"  {function:<16} n={figures['count']:<4} p50 {figures['p50']:>8}  p95 {figures['p95']:>8}  "
            f"max {figures['max']:>8}  cold {figures['cold_starts']}  {figures['outcomes']}"
        )

    priced = (report.get("cost") or {}).get("workflows") or {}
    if priced:
        say("\n== cost per 1,000 requests at AWS list prices (last run of each workflow; bench.cost) ==")
        for workflow, figures in priced.items():
            items = ", ".join(
                f"{service} {dollars:.4f}" for service, dollars in figures["per_1000_usd"].items() if dollars
            )
            say(f"  {workflow:<16} ${figures['total_per_1000_usd']:.4f}  ({items})")

    memory = report.get("memory", {})
    say("\n== memory ==")
    if "tracemalloc_peak_mib" in memory:
        say(f"  tracemalloc peak over one zapsign_oneshot demo: {memory['tracemalloc_peak_mib']} MiB")
    say(f"  process max RSS: {memory.get('max_rss_mib')} MiB")


def record(report: Mapping[str, Any], results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    (results / "latest.json").write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    headline = {
        "date": report["date"],
        "git_commit": report["git_commit"],
        "git_dirty": report["git_dirty"],
        "process_start_to_ready_s": report.get("boot", {}).get("process_start_to_ready_s"),
        "in_process_start_s": report.get("in_process_start_s"),
        "demo_median_s": {
            wf: figures["elapsed_s"]["median"] for wf, figures in (report.get("workflows") or {}).items()
        },
        "webhook_ack_aws_calls": (report.get("webhook_ack_aws_calls") or {}).get("measured_median"),
        "tracemalloc_peak_mib": report.get("memory", {}).get("tracemalloc_peak_mib"),
        "max_rss_mib": report.get("memory", {}).get("max_rss_mib"),
        "cost_per_1000_usd": {
            wf: figures["total_per_1000_usd"]
            for wf, figures in ((report.get("cost") or {}).get("workflows") or {}).items()
        },
        "archive_time_ratio_50_to_5": (report.get("archive") or {}).get("time_ratio_50_to_5"),
    }
    with (results / "history.jsonl").open("a", encoding="utf-8") as history:
        history.write(json.dumps(headline) + "\n")


# -- small helpers ----------------------------------------------------------------------------------------------------


def _environment() -> dict[str, Any]:
    commit = _git("rev-parse", "HEAD") or "unknown"
    return {
        "git_commit": commit,
        "git_dirty": bool(_git("status", "--porcelain")),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def _git(*arguments: str) -> str:
    try:
        return subprocess.run(  # noqa: S603 - fixed read-only git commands
            ["git", *arguments],  # noqa: S607
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * percent / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"min": None, "median": None, "max": None}
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3), "max": round(max(values), 3)}


def _max_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (2**20 if sys.platform == "darwin" else 2**10), 1)


def _printer() -> Out:
    terminal = sys.stdout

    def say(line: str) -> None:
        print(line, file=terminal, flush=True)

    return say


@contextmanager
def _functions_quiet() -> Iterator[None]:
    """The functions' logs and metrics (printed to `sys.stdout`) go to FUNCTION_LOG while the stack runs."""
    original = sys.stdout
    FUNCTION_LOG.parent.mkdir(parents=True, exist_ok=True)
    with FUNCTION_LOG.open("w", encoding="utf-8") as log:
        sys.stdout = LogCounter(log)
        try:
            yield
        finally:
            sys.stdout = original
