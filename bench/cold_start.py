"""Cold start as shipped: each handler module's import time as a ratio to `import boto3` alone.

The Lambda asset as `infra.bundling` builds it, for this machine's platform: the locked runtime dependencies and
SignBridge, with bytecode compiled by Python 3.13 (`--invalidation-mode unchecked-hash`, as the bundle ships it), on
top of what the runtime and the Powertools layer provide (boto3, botocore, Powertools, at the versions installed here,
compiled as they ship). Each figure is `python3.13 -X importtime -c "import <module>"` in a fresh interpreter that
writes no bytecode (Lambda's /var/task is read-only), the sum of the top-level imports' cumulative times, median of
`repeat` runs taken round robin (boto3 and every handler once per round); the handler's figure includes boto3, which
every handler imports. The handlers are the functions of `signbridge.api_routes.FUNCTIONS`. Beside it, each
process's CPU time less a bare interpreter's, as a ratio to boto3's the same way (less swayed by a loaded machine).

The bundle is cached under cdk.out/ (keyed by the lock, the provided versions and SignBridge's sources).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra import bundling
from signbridge import api_routes

HANDLERS = api_routes.FUNCTIONS
BASELINE = "boto3"
BARE = "bare interpreter"
PROVIDED = ("boto3", "botocore", "aws-lambda-powertools")
CACHE_DIR = bundling.REPO_ROOT / "cdk.out" / "bench-cold-start"
GOAL_RATIO = 1.5

Out = Callable[[str], None]


def measure(say: Out, *, repeat: int = 7) -> dict[str, Any]:
    say("\n== cold start: handler import / `import boto3` (as shipped: Python 3.13, bytecode present) ==")
    python = bundling.find_python313()
    if python is None:
        say("  no Python 3.13 on this machine: not measured")
        return {"measured": False, "reason": "no Python 3.13"}
    try:
        task, runtime = _bundle(python)
    except (OSError, subprocess.CalledProcessError) as error:
        say(f"  could not build the bundle ({error}): not measured")
        return {"measured": False, "reason": str(error)}
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join((str(task), str(runtime))),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(task),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    modules = {BARE: "sys", BASELINE: BASELINE, **{handler: handler_module(handler) for handler in HANDLERS}}
    # Round robin (a bare interpreter, boto3, then each handler, `repeat` times over), so that a swing of the machine's
    # load falls on every module alike rather than on the few measured while it lasted.
    wall: dict[str, list[float]] = {name: [] for name in modules}
    cpu: dict[str, list[float]] = {name: [] for name in modules}
    for _ in range(repeat):
        for name, module in modules.items():
            wall_ms, cpu_ms = _import_ms(python, module, environment)
            wall[name].append(wall_ms)
            cpu[name].append(cpu_ms)
    medians = {name: statistics.median(times) for name, times in wall.items()}
    # CPU time: the whole process's (user + system), less a bare interpreter's. Waiting for a core does not count, so
    # it moves less than the wall time on a loaded machine; it counts the interpreter's teardown of what was imported.
    cpu_beyond = {name: statistics.median(times) - statistics.median(cpu[BARE]) for name, times in cpu.items()}
    baseline = medians[BASELINE]
    ratios = {handler: round(medians[handler] / baseline, 2) for handler in HANDLERS}
    cpu_ratios = {handler: round(cpu_beyond[handler] / cpu_beyond[BASELINE], 2) for handler in HANDLERS}
    say(f"  import boto3 alone: {baseline:.0f} ms, {cpu_beyond[BASELINE]:.0f} ms CPU (medians of {repeat})")
    for handler in HANDLERS:
        mark = "" if ratios[handler] <= GOAL_RATIO else f"  (goal ≤ {GOAL_RATIO})"
        say(
            f"  {handler:16} {medians[handler]:7.0f} ms  {ratios[handler]:.2f}x{mark}   "
            f"CPU {cpu_beyond[handler]:5.0f} ms  {cpu_ratios[handler]:.2f}x"
        )
    return {
        "measured": True,
        "python": python,
        "repeat": repeat,
        "boto3_ms": round(baseline, 1),
        "handler_ms": {handler: round(medians[handler], 1) for handler in HANDLERS},
        "ratio_to_boto3": ratios,
        "boto3_cpu_ms": round(cpu_beyond[BASELINE], 1),
        "handler_cpu_ms": {handler: round(cpu_beyond[handler], 1) for handler in HANDLERS},
        "cpu_ratio_to_boto3": cpu_ratios,
        "goal_ratio": GOAL_RATIO,
    }


def handler_module(function: str) -> str:
    return api_routes.handler_path(function).rpartition(".")[0]


def _import_ms(python: str, module: str, environment: dict[str, str]) -> tuple[float, float]:
    """(the import's wall time as `-X importtime` reports it, the process's CPU time), in ms."""
    with subprocess.Popen(  # noqa: S603 - a fixed interpreter and program
        [python, "-X", "importtime", "-c", f"import {module}"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        stderr = process.stderr.read() if process.stderr is not None else ""
        _, status, usage = os.wait4(process.pid, 0)  # the child's own resource usage, as it ends
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, process.args, stderr=stderr)
    total_us = 0
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top level: one space after the bar
            total_us += int(cumulative)
    return total_us / 1000, (usage.ru_utime + usage.ru_stime) * 1000


def _bundle(python: str) -> tuple[Path, Path]:
    """(task, runtime): the asset and the provided packages, built once per key."""
    versions = {name: importlib.metadata.version(name) for name in PROVIDED}
    digest = hashlib.sha256()
    digest.update(bundling.LOCK_FILE.read_bytes())
    digest.update(repr(sorted(versions.items())).encode())
    for path in sorted((bundling.FUNCTIONS_DIR / bundling.PACKAGE).rglob("*.py")):
        digest.update(str(path.relative_to(bundling.FUNCTIONS_DIR)).encode())
        digest.update(path.read_bytes())
    root = CACHE_DIR / digest.hexdigest()[:16]
    task, runtime = root / "task", root / "runtime"
    if (root / "done").exists():
        return task, runtime
    shutil.rmtree(CACHE_DIR, ignore_errors=True)
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    subprocess.run(  # noqa: S603 - fixed argv
        [
            *pip,
            "--require-hashes",
            "--no-deps",
            "--only-binary=:all:",
            "--target",
            str(task),
            "-r",
            str(bundling.LOCK_FILE),
        ],
        check=True,
    )
    shutil.rmtree(task / "bin", ignore_errors=True)
    shutil.copytree(
        bundling.FUNCTIONS_DIR / bundling.PACKAGE,
        task / bundling.PACKAGE,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    subprocess.run([python, *bundling.compile_args(str(task))], check=True)  # noqa: S603 - fixed argv
    pins = [f"{name}=={version}" for name, version in versions.items()]
    subprocess.run([*pip, "--target", str(runtime), *pins], check=True)  # noqa: S603 - fixed argv
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(runtime)], check=True)  # noqa: S603
    (root / "done").touch()
    return task, runtime
