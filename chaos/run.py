"""`python -m chaos` (`make chaos`): a seeded, bounded chaos run of the whole local stack; docs/chaos.md.

1. The stack starts in-process with both simulators (queues' visibility timeout 2 s, schedules off) and the AWS
   fault injector (`chaos.aws`) installed; each simulator gets a fault plan drawn from the seed (`provider_plans`).
2. `requests` demo requests, the three workflows in turn, run at once (`concurrency` at a time), each driven to
   `completed` by `demo.runner.run_demo` acting as every signer; meanwhile the reconciler is invoked every few
   seconds with a clock one hour ahead (as its schedule would, time compressed), so whatever a lost webhook or a
   crash left behind is re-planned.
3. The faults are cleared, held webhooks released, the reconciler runs `reconciler_runs` more times (the stack idle
   between), then the housekeeper's daily run (it drops the dead letters of finished requests), and the checks read
   the end state: every request `completed`, none stuck, the DLQs empty, no provider
   object made twice (counted at the simulators), every reported file in S3 once (one version) with the sha256 of
   a file a provider served.
4. The tallies are printed and recorded (`bench/results/chaos-latest.json`); docs/chaos.md's figures are rendered
   from the record.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stdout
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from chaos.aws import AwsFaultInjector, AwsFaults
from chaos.clock import BackoffClock, FunctionClocks, ahead, shifted_clock
from demo.answers import signers_of, status_of
from demo.client import ApiClient
from demo.files import check_files
from demo.report import DemoResult
from demo.runner import WORKFLOWS, run_demo
from local import synth
from local.companions import Providers
from local.stack import LocalStack, LocalStackConfig
from signbridge import env_names

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "chaos-latest.json"
DOC = REPO_ROOT / "docs" / "chaos.md"
FUNCTION_LOG = synth.DEFAULT_OUTDIR / "signbridge-chaos.log"
DOC_BEGIN = "<!-- chaos:last-run:begin -->"
DOC_END = "<!-- chaos:last-run:end -->"
TERMINAL = frozenset({"completed", "refused", "cancelled", "expired", "failed"})
RECONCILER = "reconciler"
HOUSEKEEPER = "housekeeper"
RECONCILER_AHEAD = timedelta(hours=1)  # how much later than now each of the run's reconciler runs happens
BACKOFF_TICK = 1.0  # how often backoffs that ended on the functions' clock are made to end at SQS too

Out = Callable[[str], None]


@dataclass
class ChaosConfig:
    seed: int = 1
    requests: int = 30
    workflows: Sequence[str] = WORKFLOWS
    concurrency: int = 6
    request_timeout: float = 240.0
    reconcile_every: float = 5.0
    reconciler_runs: int = 3
    settle_timeout: float = 60.0  # the longest wait for the stack to go idle, after the run and after each reconcile
    provider_faults: bool = True
    webhook_faults: bool = True
    aws: AwsFaults | None = None  # default: `default_aws_faults(seed)`
    zapsign_plan: Mapping[str, Any] | None = None  # default: `provider_plans(seed)`
    oneshot_plan: Mapping[str, Any] | None = None


def default_aws_faults(seed: int) -> AwsFaults:
    return AwsFaults(
        seed=seed,
        retried={"*": 0.03},
        surfaced={"worker": 0.01},
        crashes={"after_s3_write": 0.05, "after_provider_create": 0.2, "mid_batch": 0.1},
    )


def provider_plans(seed: int, *, webhooks: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """The simulators' fault plans for a seed: every kind of fault the simulators know, at modest rates."""
    rng = random.Random(seed)
    transient = {"error_rate": 0.05, "error_status": rng.choice([500, 502, 503]), "reset_rate": 0.03}
    zapsign = {
        "seed": seed,
        "endpoints": {
            "*": {**transient, "rate_limit_burst": rng.randint(1, 3), "retry_after": 1},
            "create_document": {**transient, "after_rate": 0.1},
            "get_document": {**transient, "timeout_seconds": 0.0, "latency_ms": rng.randint(0, 50)},
            "file": {**transient, "truncate_rate": 0.1},
        },
        "webhooks": {"drop_rate": 0.1, "duplicate_rate": 0.2, "reorder": True} if webhooks else {},
    }
    oneshot = {
        "seed": seed + 1,
        "endpoints": {
            "*": {**transient, "rate_limit_burst": rng.randint(1, 3), "retry_after": 1},
            "document_retrieve": {**transient, "truncate_rate": 0.1},
            "contract": {**transient, "truncate_rate": 0.1},
        },
        "webhooks": {"drop_rate": 0.1, "duplicate_rate": 0.2, "reorder": True} if webhooks else {},
    }
    return zapsign, oneshot


@dataclass
class ChaosReport:
    seed: int
    options: dict[str, Any]
    requests: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    tallies: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks.values())

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def run_chaos(config: ChaosConfig, say: Out = print) -> ChaosReport:
    aws_faults = config.aws if config.aws is not None else default_aws_faults(config.seed)
    zapsign_plan, oneshot_plan = provider_plans(config.seed, webhooks=config.webhook_faults)
    zapsign_plan = dict(config.zapsign_plan) if config.zapsign_plan is not None else zapsign_plan
    oneshot_plan = dict(config.oneshot_plan) if config.oneshot_plan is not None else oneshot_plan
    report = ChaosReport(
        seed=config.seed,
        options={
            "requests": config.requests,
            "workflows": list(config.workflows),
            "concurrency": config.concurrency,
            "aws_faults": aws_faults.to_json(),
            "zapsign_plan": zapsign_plan if config.provider_faults else {},
            "oneshot_plan": oneshot_plan if config.provider_faults else {},
        },
    )
    started = time.monotonic()
    injector = AwsFaultInjector(aws_faults)
    backoffs = BackoffClock()
    injector.backoffs = backoffs
    providers = Providers.simulated(webhook_backoff_seconds=0.05)
    stack_config = LocalStackConfig(
        template=synth.ensure_template(),
        api_port=0,
        companions=providers.companions(),
        secret_values=providers.secret_values(),
        queue_attributes={"*": {"VisibilityTimeout": "2"}},
        schedules=False,
        async_retry_delays=(0.5, 1.0),
    )
    with FunctionClocks().installed(), injector.installed(), LocalStack(stack_config) as stack:
        providers.connect(stack)
        injector.attach(stack.runtime)
        injector.lose_messages = lambda event: _delete_messages(stack, event)
        environment = stack.function_environment("api")
        bucket, table = environment[env_names.BUCKET_NAME], environment[env_names.TABLE_NAME]
        say(f"chaos run, seed {config.seed}: {config.requests} requests ({', '.join(config.workflows)}) at once")
        if config.provider_faults:
            _set_plans(providers, zapsign_plan, oneshot_plan)
        with _reconciling(stack, backoffs, every=config.reconcile_every):
            results = _run_requests(stack, providers, config, bucket=bucket)
        _set_plans(providers, {}, {})
        housekept = _settle(stack, providers, backoffs, runs=config.reconciler_runs, timeout=config.settle_timeout)
        report.requests = [_request_row(result) for result in results]
        report.checks = _checks(stack, providers, results, bucket=bucket)
        report.tallies = {
            "aws": {**injector.tallies(), "backoffs_elapsed": backoffs.expired},
            "housekeeper": housekept,
            "providers": _provider_tallies(providers),
            "invocations": _invocation_tallies(stack),
        }
        del table
    report.elapsed_s = round(time.monotonic() - started, 1)
    print_report(report, say)
    return report


# -- driving -------------------------------------------------------------------------------------------------------


def _set_plans(providers: Providers, zapsign: Mapping[str, Any], oneshot: Mapping[str, Any]) -> None:
    for simulator, plan in ((providers.zapsign_simulator, zapsign), (providers.oneshot_simulator, oneshot)):
        assert simulator is not None
        answer = requests.post(f"{simulator.base_url}/_sim/faults", json=dict(plan), timeout=10)
        answer.raise_for_status()


def scheduled_event(function: str, at: datetime) -> dict[str, Any]:
    """`function`'s schedule event (events/schedule/), due at `at`."""
    event = json.loads((REPO_ROOT / "events" / "schedule" / f"{function}.json").read_text())
    event["id"] = f"chaos-{time.monotonic_ns()}"
    event["time"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return dict(event)


def reconcile_later(stack: LocalStack) -> None:
    """One reconciler run as it would happen `RECONCILER_AHEAD` from now (`chaos.clock`): every request in flight is
    then older than its status's threshold."""
    with ahead(RECONCILER_AHEAD):
        stack.invoke(RECONCILER, scheduled_event(RECONCILER, shifted_clock()))


@contextmanager
def _reconciling(stack: LocalStack, backoffs: BackoffClock, *, every: float) -> Iterator[None]:
    """While the requests run: the worker's backoffs end on the functions' clock (checked every `BACKOFF_TICK`), and
    every `every` seconds the reconciler runs an hour later."""
    stop = threading.Event()

    def loop() -> None:
        sqs = stack.client("sqs")
        last = time.monotonic()
        while not stop.wait(BACKOFF_TICK):
            backoffs.expire(sqs)
            if time.monotonic() - last >= every:
                reconcile_later(stack)
                last = time.monotonic()

    thread = threading.Thread(target=loop, name="chaos-reconciler", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)


def _run_requests(stack: LocalStack, providers: Providers, config: ChaosConfig, *, bucket: str) -> list[DemoResult]:
    workflows = [config.workflows[index % len(config.workflows)] for index in range(config.requests)]

    def one(workflow: str) -> DemoResult:
        return run_demo(
            stack.api_url,
            providers.zapsign_simulator,
            providers.oneshot_simulator,
            workflow=workflow,
            out=lambda _line: None,
            timeout=config.request_timeout,
            s3_client=stack.client("s3"),
            bucket=bucket,
            provider_digests=lambda: _served(providers),
        )

    with ThreadPoolExecutor(max_workers=max(1, config.concurrency), thread_name_prefix="chaos-request") as pool:
        return list(pool.map(one, workflows))


def _settle(
    stack: LocalStack, providers: Providers, backoffs: BackoffClock, *, runs: int, timeout: float
) -> dict[str, Any]:
    """Release held webhooks, drain, reconcile `runs` times, then the housekeeper's run; answers what it dropped."""
    for simulator in (providers.zapsign_simulator, providers.oneshot_simulator):
        assert simulator is not None
        simulator.webhooks.flush_held()
    _drain(stack, backoffs, timeout=timeout)
    for _ in range(runs):
        reconcile_later(stack)
        _drain(stack, backoffs, timeout=timeout)
    # Its daily run: the dead letters of requests that have finished are dropped (maintenance.housekeep); a dead
    # letter of a request still under way stays, and fails `dlqs_empty`.
    housekept = stack.invoke(HOUSEKEEPER, scheduled_event(HOUSEKEEPER, shifted_clock()))
    _drain(stack, backoffs, timeout=timeout)
    result = housekept.result if isinstance(housekept.result, dict) else {}
    return {"dead_letters_dropped": result.get("dead_letters_dropped", {}), "outcome": housekept.outcome}


def _drain(stack: LocalStack, backoffs: BackoffClock, *, timeout: float) -> bool:
    """Wait until the stack is idle, letting the worker's backoffs elapse every few seconds (`chaos.clock`)."""
    deadline = time.monotonic() + timeout
    sqs = stack.client("sqs")
    while (remaining := deadline - time.monotonic()) > 0:
        backoffs.expire(sqs)
        if stack.wait_until_idle(timeout=min(BACKOFF_TICK, remaining)):
            return True
    return False


def _delete_messages(stack: LocalStack, event: Any) -> None:
    """Delete a killed batch's messages (`AwsFaults.crash_loses_messages`): no SQS retry, the reconciler alone heals."""
    sqs = stack.client("sqs")
    urls = [url for url in stack.resources().values() if url.startswith("http")]
    for record in event.get("Records", []) if isinstance(event, dict) else []:
        queue_name = str(record.get("eventSourceARN", "")).rsplit(":", 1)[-1]
        url = next((url for url in urls if url.rsplit("/", 1)[-1] == queue_name), None)
        if url is not None:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=record["receiptHandle"])


def _served(providers: Providers) -> set[str]:
    digests: set[str] = set()
    for companion in (providers.zapsign, providers.oneshot):
        served = getattr(companion, "served", None)
        if served is not None:
            digests |= served.digests()
    return digests


# -- checking ------------------------------------------------------------------------------------------------------


def _request_row(result: DemoResult) -> dict[str, Any]:
    return {
        "workflow": result.workflow,
        "request_id": result.request_id,
        "driven": "ok" if result.ok else f"{result.stage}: {(result.reason or '')[:200]}",
        "elapsed_s": result.elapsed_seconds,
    }


def _checks(
    stack: LocalStack, providers: Providers, results: list[DemoResult], *, bucket: str
) -> dict[str, dict[str, Any]]:
    api = ApiClient(stack.api_url)
    s3 = stack.client("s3")
    finals: dict[str, dict[str, Any]] = {}
    try:
        for result in results:
            if result.request_id:
                finals[result.request_id] = api.get_request(result.request_id)
        digests = _served(providers)
        file_problems: list[str] = []
        for request_id, body in finals.items():
            if status_of(body) != "completed":
                continue
            checks, problems = check_files(
                body, s3_client=s3, bucket=bucket, session=api.session, provider_digests=digests
            )
            file_problems += [f"{request_id}: {problem}" for problem in problems]
            for check in checks:
                if not check.ok:
                    file_problems.append(f"{request_id} {check.key}: {'; '.join(check.problems)}")
                versions = s3.list_object_versions(Bucket=bucket, Prefix=check.key).get("Versions", [])
                stored = sum(1 for version in versions if version["Key"] == check.key)
                if stored != 1:
                    file_problems.append(f"{request_id} {check.key}: stored {stored} times")
    finally:
        api.close()
    statuses = Counter(
        f"{result.workflow} {status_of(finals[result.request_id]) if result.request_id in finals else 'not created'}"
        for result in results
    )
    not_completed = sorted(
        f"{request_id} ({status_of(body)}: {body.get('failure_reason') or ''})"[:240]
        for request_id, body in finals.items()
        if status_of(body) != "completed"
    )
    stuck = sorted(request_id for request_id, body in finals.items() if status_of(body) not in TERMINAL)
    dead_letters = _dead_letters(stack)
    duplicates = _duplicates(providers, results, finals)
    return {
        "all_completed": {
            "ok": not not_completed and len(finals) == len(results),
            "statuses": dict(sorted(statuses.items())),
            "not_completed": not_completed,
        },
        "none_stuck": {"ok": not stuck, "stuck": stuck},
        "dlqs_empty": {"ok": not any(dead_letters.values()), "messages": dead_letters, "letters": _letters(stack)},
        "no_duplicate_provider_objects": {"ok": not duplicates, "duplicates": duplicates},
        "files_stored_once_with_provider_sha256": {"ok": not file_problems, "problems": file_problems[:50]},
    }


def _dead_letters(stack: LocalStack) -> dict[str, int]:
    sqs = stack.client("sqs")
    depths: dict[str, int] = {}
    for logical_id, url in stack.resources().items():
        if url.startswith("http") and "DeadLetter" in logical_id:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            depths[logical_id] = int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            )
    return depths


def _letters(stack: LocalStack) -> list[str]:
    """What the dead letters are: each one's operation and request (read, left in place; never a body)."""
    sqs = stack.client("sqs")
    found: list[str] = []
    for logical_id, url in stack.resources().items():
        if not (url.startswith("http") and "DeadLetter" in logical_id):
            continue
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        for message in answer.get("Messages", []):
            try:
                body = json.loads(message["Body"])
            except ValueError:
                body = {}
            fields = body if isinstance(body, dict) else {}
            found.append(f"{logical_id}: {fields.get('op', '?')} {fields.get('request_id') or '(a webhook hint)'}")
    return found


def _duplicates(providers: Providers, results: list[DemoResult], finals: Mapping[str, Any]) -> list[str]:
    """Provider objects made more than once for one request: ZapSign documents by `external_id` (our request id),
    One-Shot requests by the signer's phone number (unique per demo request)."""
    zapsign, oneshot = providers.zapsign_simulator, providers.oneshot_simulator
    assert zapsign is not None
    assert oneshot is not None
    found: list[str] = []
    with zapsign.lock:
        by_request = Counter(str(document.options.get("external_id")) for document in zapsign.documents.values())
    found += [f"ZapSign: {count} documents for request {request}" for request, count in by_request.items() if count > 1]
    with oneshot.lock:
        by_phone = Counter(request.phone for request in oneshot.requests.values())
    phones = {
        str(signer.get("phone") or signer.get("phone_number") or "")
        for body in finals.values()
        for signer in signers_of(body)
    }
    found += [
        f"One-Shot: {count} requests for one signer{' (phone shown by the API)' if phone in phones else ''}"
        for phone, count in by_phone.items()
        if count > 1
    ]
    del results
    return found


# -- tallies -------------------------------------------------------------------------------------------------------


def _provider_tallies(providers: Providers) -> dict[str, Any]:
    tallies: dict[str, Any] = {}
    for name, simulator in (("zapsign", providers.zapsign_simulator), ("oneshot", providers.oneshot_simulator)):
        assert simulator is not None
        deliveries = list(simulator.webhooks.deliveries)
        tallies[name] = {
            "calls": sum(count for endpoint, count in simulator.calls.items() if not endpoint.startswith("sim_")),
            "injected": dict(sorted(simulator.injected.items())),
            "webhooks": {
                "sent": len(deliveries),
                "dropped": sum(1 for delivery in deliveries if delivery.dropped),
                "delivered": sum(1 for delivery in deliveries if delivery.delivered),
                "attempts": sum(delivery.attempts for delivery in deliveries),
            },
        }
    return tallies


def _invocation_tallies(stack: LocalStack) -> dict[str, dict[str, int]]:
    outcomes: dict[str, Counter[str]] = {}
    for invocation in stack.invocations:
        outcomes.setdefault(invocation.function, Counter())[invocation.outcome] += 1
    return {function: dict(sorted(counter.items())) for function, counter in sorted(outcomes.items())}


# -- reporting -----------------------------------------------------------------------------------------------------


def print_report(report: ChaosReport, say: Out) -> None:
    say("")
    say(f"chaos seed {report.seed}: {len(report.requests)} requests in {report.elapsed_s} s")
    for name, check in report.checks.items():
        details = {key: value for key, value in check.items() if key != "ok" and value}
        say(f"  {'PASS' if check['ok'] else 'FAIL'}  {name}  {json.dumps(details)[:600] if details else ''}")
    aws = report.tallies.get("aws", {})
    say(f"  AWS faults injected: {aws.get('injected_total', 0)}; worker crashes: {aws.get('crashes', {})}")
    say(f"  housekeeper: {report.tallies.get('housekeeper', {})}")
    for line, count in aws.get("injected", {}).items():
        say(f"    {count:>5}  {line}")
    for name, provider in report.tallies.get("providers", {}).items():
        say(f"  {name}: {provider['calls']} calls, injected {provider['injected']}, webhooks {provider['webhooks']}")
    say(f"  invocations: {report.tallies.get('invocations', {})}")
    say(f"  verdict: {'PASS' if report.ok else 'FAIL'}")


def record(report: ChaosReport, path: Path = RESULTS, doc: Path = DOC) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **report.to_json()}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    if doc.is_file():
        text = doc.read_text()
        if DOC_BEGIN in text and DOC_END in text:
            head, rest = text.split(DOC_BEGIN, 1)
            _, tail = rest.split(DOC_END, 1)
            doc.write_text(head + DOC_BEGIN + "\n" + render(data) + DOC_END + tail)


def render(data: Mapping[str, Any]) -> str:
    """The last recorded run, as docs/chaos.md shows it (rendered from the record, never by hand)."""
    lines = [
        f"Run of {data['date']}, seed {data['seed']}, {len(data['requests'])} requests, {data['elapsed_s']} s: "
        f"**{'PASS' if data['ok'] else 'FAIL'}**.",
        "",
        "| check | result | details |",
        "| --- | --- | --- |",
    ]
    for name, check in data["checks"].items():
        details = {key: value for key, value in check.items() if key != "ok" and value}
        text = json.dumps(details)[:300].replace("|", "/") if details else ""
        lines.append(f"| {name} | {'pass' if check['ok'] else 'FAIL'} | {text} |")
    aws = data["tallies"]["aws"]
    lines += ["", f"AWS faults injected: {aws['injected_total']}; worker crashes: {json.dumps(aws['crashes'])}."]
    if "housekeeper" in data["tallies"]:
        dropped = data["tallies"]["housekeeper"].get("dead_letters_dropped", {})
        lines.append(f"Dead letters of finished requests dropped by the housekeeper's run: {json.dumps(dropped)}.")
    lines.append("")
    for name, provider in data["tallies"]["providers"].items():
        lines.append(
            f"- {name}: {provider['calls']} calls; injected {json.dumps(provider['injected'])}; "
            f"webhooks {json.dumps(provider['webhooks'])}"
        )
    lines.append(f"- invocations by outcome: {json.dumps(data['tallies']['invocations'])}")
    return "\n".join(lines) + "\n"


def scenario(fields: Mapping[str, Any]) -> ChaosConfig:
    """A `ChaosConfig` from JSON (`--scenario`): its fields, `aws` given as `AwsFaults` fields."""
    values = dict(fields)
    if isinstance(values.get("aws"), dict):
        values["aws"] = AwsFaults(**values["aws"])
    if "workflows" in values:
        values["workflows"] = tuple(values["workflows"])
    return ChaosConfig(**values)


def run_apart(fields: Mapping[str, Any], *, timeout: float = 900.0) -> dict[str, Any]:
    """Run a scenario in a new process (one local stack per process: the functions keep process-wide state) and
    answer its report. Used by the tests; the functions' logs go to the process's stdout, kept apart."""
    with tempfile.TemporaryDirectory(prefix="signbridge-chaos-") as scratch:
        report = Path(scratch) / "report.json"
        subprocess.run(  # noqa: S603 - our own module, our own arguments
            [
                sys.executable,
                "-m",
                "chaos",
                "--no-record",
                "--scenario",
                json.dumps(dict(fields)),
                "--report",
                str(report),
            ],
            cwd=REPO_ROOT,
            check=False,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not report.is_file():
            raise RuntimeError(f"the chaos scenario wrote no report: {json.dumps(dict(fields))}")
        return dict(json.loads(report.read_text()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description="A seeded chaos run of the local stack.")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "1")))
    parser.add_argument("--requests", type=int, default=int(os.environ.get("CHAOS_REQUESTS", "30")))
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--workflow", action="append", choices=WORKFLOWS, help="default: all three")
    parser.add_argument("--no-record", action="store_true", help="print only")
    parser.add_argument("--scenario", help="a scenario as JSON: ChaosConfig fields, `aws` as AwsFaults fields")
    parser.add_argument("--report", type=Path, help="also write the report (JSON) here")
    options = parser.parse_args(argv)
    config = ChaosConfig(
        seed=options.seed,
        requests=options.requests,
        concurrency=options.concurrency,
        workflows=options.workflow or WORKFLOWS,
    )
    if options.scenario:
        config = scenario(json.loads(options.scenario))
    console = sys.stdout

    def say(line: str) -> None:
        print(line, file=console, flush=True)

    FUNCTION_LOG.parent.mkdir(parents=True, exist_ok=True)
    say(f"the functions' logs: {FUNCTION_LOG}")
    with FUNCTION_LOG.open("w", encoding="utf-8") as log, redirect_stdout(log):
        report = run_chaos(config, say=say)
    if options.report is not None:
        options.report.write_text(json.dumps(report.to_json(), indent=2, sort_keys=True))
    if not options.no_record:
        record(report)
        say(f"recorded: {RESULTS.relative_to(REPO_ROOT)} and {DOC.relative_to(REPO_ROOT)}")
    return 0 if report.ok else 1
