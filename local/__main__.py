"""`python -m local`: all of SignBridge on this machine (what `make run` and `make demo` call).

    python -m local                 # start everything, run one demo request, stay up until Ctrl-C
    python -m local --no-demo       # start everything and stay up
    python -m local --demo          # start, run the demo, exit 0 only if it completed with its files verified
    python -m local --port 0 --no-schedules --demo-workflow oneshot

Providers: the ZapSign and One-Shot simulators on 127.0.0.1 by default; `--zapsign sandbox --zapsign-token-file F`
and `--oneshot sandbox --oneshot-credentials-file F` (or the `SIGNBRIDGE_LOCAL_*` variables, see
`local.companions`) use the real ZapSign sandbox and the public One-Shot test Optimizer instead (docs/local.md).

`main(argv)` is the public entry point (the `signbridge run` command calls it); `run(options)` does the work for
already-parsed options. Ctrl-C (SIGINT) or SIGTERM stops everything cleanly and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO

from demo.report import DemoResult
from demo.runner import DEFAULT_TIMEOUT_SECONDS, WORKFLOWS, run_demo
from local import synth
from local.companions import PROVIDER_MODES, ProviderConfigError, Providers, providers_from_settings
from local.stack import LocalStack, LocalStackConfig
from signbridge import api_routes, env_names
from signbridge_cli import local_state

READY_LINE = "SignBridge is ready"
DEFAULT_FUNCTION_LOG = synth.DEFAULT_OUTDIR / "signbridge-local.log"
EXIT_OK = 0
EXIT_DEMO_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description="Run SignBridge locally (loopback only).")
    parser.add_argument("--stage", default=synth.DEFAULT_STAGE, help="stage to synthesize (default: %(default)s)")
    parser.add_argument("--template", type=Path, help="use this synthesized template as is")
    parser.add_argument("--port", type=int, default=8000, help="API port; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--aws-port", type=int, default=0, help="moto port; 0 picks a free one (default)")
    parser.add_argument("--no-schedules", action="store_true", help="do not fire the schedules on their own")
    parser.add_argument(
        "--log-level", default="WARNING", help="level of the local stack's own log (default: %(default)s)"
    )
    parser.add_argument(
        "--function-logs",
        default=str(DEFAULT_FUNCTION_LOG),
        help="where the functions' logs and metrics go: a file (default: %(default)s) or - for this terminal",
    )

    demo = parser.add_mutually_exclusive_group()
    demo.add_argument(
        "--demo",
        action="store_true",
        help="run the demo and exit: 0 only when the request completed with its files verified in S3",
    )
    demo.add_argument("--no-demo", action="store_true", help="start and stay up, without the demo request")
    parser.add_argument(
        "--demo-workflow",
        action="append",
        choices=WORKFLOWS,
        help="workflow of the demo request (repeat for several; default: zapsign_oneshot)",
    )
    parser.add_argument(
        "--demo-timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="seconds a demo request may take (default: %(default)s)",
    )

    providers = parser.add_argument_group("providers (default: the simulators on 127.0.0.1)")
    providers.add_argument("--zapsign", choices=[*PROVIDER_MODES, "real"], help="simulator (default) or sandbox")
    providers.add_argument("--zapsign-url", help="ZapSign API base URL for --zapsign sandbox")
    providers.add_argument("--zapsign-token-file", type=Path, help="file holding the ZapSign API token (sandbox)")
    providers.add_argument("--zapsign-port", type=int, help="ZapSign simulator port (default: a free one)")
    providers.add_argument("--oneshot", choices=[*PROVIDER_MODES, "real"], help="simulator (default) or sandbox")
    providers.add_argument("--oneshot-url", help="One-Shot Optimizer base URL for --oneshot sandbox")
    providers.add_argument(
        "--oneshot-credentials-file", type=Path, help="JSON file with the One-Shot RAO and billing credentials"
    )
    providers.add_argument("--oneshot-port", type=int, help="One-Shot simulator port (default: a free one)")
    providers.add_argument(
        "--public-url", help="https URL that reaches this machine's API (a tunnel), for the real ZapSign's webhooks"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    return run(options)


def run(options: argparse.Namespace, *, out: TextIO | None = None) -> int:
    stream = out or sys.stdout

    def say(message: str = "") -> None:
        print(message, file=stream, flush=True)

    logging.basicConfig(level=options.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        providers = providers_from_settings(
            zapsign=options.zapsign,
            zapsign_url=options.zapsign_url,
            zapsign_token_file=options.zapsign_token_file,
            zapsign_port=options.zapsign_port,
            oneshot=options.oneshot,
            oneshot_url=options.oneshot_url,
            oneshot_credentials_file=options.oneshot_credentials_file,
            oneshot_port=options.oneshot_port,
            public_url=options.public_url,
        )
    except ProviderConfigError as error:
        say(f"error: {error}")
        return EXIT_USAGE
    if options.demo and not providers.simulated_both:
        say("error: --demo acts as the signers through the simulators; it cannot run against real providers")
        return EXIT_USAGE
    with _function_output(options.function_logs) as log_path:
        if log_path is not None:
            say(f"The functions' logs and metrics go to {log_path} (--function-logs - shows them here).")
        return _run(options, providers, say)


def _run(options: argparse.Namespace, providers: Providers, say: Callable[[str], None]) -> int:
    config = LocalStackConfig(
        stage=options.stage,
        template=options.template,
        api_port=options.port,
        aws_port=options.aws_port,
        schedules=not options.no_schedules,
        companions=providers.companions(),
        secret_values=providers.secret_values(),
        function_processes=True,
    )
    started = time.monotonic()
    with _stop_on_signals() as stopped:
        say("Starting SignBridge on 127.0.0.1 (no AWS account, no Docker)…")
        stack = LocalStack(config)
        try:
            stack.start()
        except Exception as error:
            say(f"error: the local stack did not start: {type(error).__name__}: {error}")
            return EXIT_DEMO_FAILED
        try:
            if stopped.is_set():
                return EXIT_OK
            webhook_note = _connect(providers, stack)
            _print_addresses(say, stack, providers, webhook_note)
            with local_state.published(_state_of(stack)) as state_file:
                say(f"  state file       {state_file}  (signbridge finds this stack through it; removed on exit)")
                say(f"{READY_LINE} ({time.monotonic() - started:.1f} s). Ctrl-C stops it.")
                code = EXIT_OK
                ran_demo = options.demo or not options.no_demo
                if ran_demo:
                    if providers.simulated_both:
                        results = _run_demos(stack, providers, options, stopped, say)
                        code = EXIT_OK if results and all(result.ok for result in results) else EXIT_DEMO_FAILED
                        if stack.iam is not None and (stack.iam.denials or stack.iam.presign_denials):
                            refused = [*stack.iam.denials, *stack.iam.presign_denials]
                            say(
                                f"IAM refused {len(refused)} call(s) or link(s): "
                                + ", ".join(sorted({f"{d.function} {d.action}" for d in refused}))
                            )
                            code = EXIT_DEMO_FAILED
                    else:
                        say("(No demo with real providers: it acts as the signers through the simulators.)")
                if options.demo:
                    return code
                if ran_demo and not stopped.is_set():
                    say(f"Still up at {stack.api_url} — Ctrl-C stops it.")
                stopped.wait()
                say("Stopping…")
                return EXIT_OK
        finally:
            stack.stop()
            say("Stopped.")


def _state_of(stack: LocalStack) -> local_state.LocalState:
    """What `signbridge` needs to find this stack: addresses and the names the functions use (no secret values)."""
    environment = stack.function_environment("api")
    return local_state.LocalState(
        pid=os.getpid(),
        stage=stack.config.stage,
        api_url=stack.api_url,
        aws_endpoint_url=stack.aws_endpoint_url,
        region=stack.identity.region,
        zapsign_webhook_url=stack.api_url + _path_of(api_routes.ZAPSIGN_WEBHOOK),
        environment={name: value for name, value in environment.items() if name in env_names.ALL},
    )


def _path_of(function: str) -> str:
    return next(route.path for route in api_routes.ROUTES if route.function == function)


def _connect(providers: Providers, stack: LocalStack) -> str:
    try:
        registration = providers.connect(stack)
    except Exception as error:  # the stack still runs; the reconciler heals what webhooks would have said
        return f"ZapSign webhook NOT registered: {type(error).__name__}: {error}"
    if registration is None:
        return (
            "ZapSign webhook not registered (the real ZapSign cannot reach 127.0.0.1; give --public-url): "
            "requests move on when the reconciler re-reads ZapSign"
        )
    return f"ZapSign webhook {registration.url} (id {registration.webhook_id}, secret header set)"


def _print_addresses(say: Callable[[str], None], stack: LocalStack, providers: Providers, webhook_note: str) -> None:
    environment = stack.function_environment("api")
    say(f"SignBridge local stack ({stack.config.stage})")
    say(f"  API              {stack.api_url}")
    say(f"  OpenAPI          {stack.api_url}/v1/openapi.json")
    say(f"  API docs         {stack.api_url}/v1/docs")
    say(f"  AWS (moto)       {stack.aws_endpoint_url}  (any credentials, region {stack.identity.region})")
    say(f"  bucket           {environment.get(env_names.BUCKET_NAME, '?')}")
    say(f"  table            {environment.get(env_names.TABLE_NAME, '?')}")
    for line in providers.describe():
        say(f"  {line}")
    say(f"  {webhook_note}")
    if stack.iam is not None:
        say("  IAM              every AWS call of a function checked against its role in the template")
    for warning in stack.warnings:
        say(f"  warning: {warning}")


def _run_demos(
    stack: LocalStack,
    providers: Providers,
    options: argparse.Namespace,
    stopped: threading.Event,
    say: Callable[[str], None],
) -> list[DemoResult]:
    """Each demo in a thread, so Ctrl-C stops the stack at once rather than after the demo."""
    results: list[DemoResult] = []
    environment = stack.function_environment("api")
    digests = _provider_digests(providers)
    for workflow in options.demo_workflow or ["zapsign_oneshot"]:
        holder: list[DemoResult] = []

        def demo(workflow: str = workflow, holder: list[DemoResult] = holder) -> None:
            holder.append(
                run_demo(
                    stack.api_url,
                    providers.zapsign_simulator,
                    providers.oneshot_simulator,
                    workflow=workflow,
                    out=say,
                    timeout=options.demo_timeout,
                    s3_client=stack.client("s3"),
                    bucket=environment.get(env_names.BUCKET_NAME),
                    provider_digests=digests,
                    cancelled=stopped.is_set,
                )
            )

        thread = threading.Thread(target=demo, name=f"demo-{workflow}")
        thread.start()
        while thread.is_alive() and not stopped.is_set():
            thread.join(timeout=0.2)
        if stopped.is_set():
            say("Interrupted: stopping the demo.")
            thread.join()  # it polls `stopped`; at worst one HTTP call away
            return results
        results.extend(holder)
    return results


def _provider_digests(providers: Providers) -> Callable[[], set[str]]:
    def digests() -> set[str]:
        found: set[str] = set()
        for companion in (providers.zapsign, providers.oneshot):
            served = getattr(companion, "served", None)
            if served is not None:
                found |= served.digests()
        return found

    return digests


@contextmanager
def _function_output(target: str) -> Iterator[Path | None]:
    """Send what the functions print (Powertools' JSON logs and EMF metrics go to `sys.stdout`) to a file, so the
    terminal shows the stack's own progress. The handlers log through handlers bound to `sys.stdout` when their
    modules are imported, which happens after this (on each function's first invocation)."""
    if target == "-":
        yield None
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    original = sys.stdout
    with path.open("a", encoding="utf-8", buffering=1) as log:
        sys.stdout = log
        try:
            yield path
        finally:
            sys.stdout = original


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT and SIGTERM set the event (and are restored afterwards), so the stack always stops in `finally`."""
    stopped = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        for number in previous:
            signal.signal(number, on_signal)
    try:
        yield stopped
    finally:
        if in_main_thread:
            for number, handler in previous.items():
                signal.signal(number, handler)


def exit_now(code: int) -> NoReturn:
    """Leave the process once everything is stopped: flush what it printed and skip the interpreter's teardown of
    the module state moto, boto3 and the handlers hold (over a second of garbage collection, with nothing left to
    close: every server, thread and file of the stack is already stopped and closed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
