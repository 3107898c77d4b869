"""`python -m local` as an operator runs it: Ctrl-C stops it promptly, says so, and leaves no process behind (moto's,
the functions' execution environments)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from local.__main__ import READY_LINE

REPO_ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 120.0  # a loaded CI machine
STOP_SECONDS = 5.0  # "promptly", with room for CI (about 1.3 s on a 2-core machine)

pytestmark = pytest.mark.e2e


def test_ctrl_c_stops_python_m_local_promptly(real_template: Path, tmp_path: Path) -> None:
    # Given `python -m local` up and ready
    command = [sys.executable, "-m", "local", "--no-demo", "--port", "0", "--no-schedules"]
    command += ["--template", str(real_template), "--function-logs", str(tmp_path / "functions.log")]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if READY_LINE in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(START_SECONDS), "".join(lines)
        # and a function's execution environment started by an API call
        api_url = next(m.group(0) for line in lines if (m := re.search(r"http://127\.0\.0\.1:\d+", line)))
        assert requests.get(f"{api_url}/v1/openapi.json", timeout=60).status_code == 200
        started = descendants(process.pid)
        assert len(started) >= 2, started  # moto and the api function's environment, at least
        # When Ctrl-C is pressed
        pressed = time.monotonic()
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=STOP_SECONDS * 4)
        took = time.monotonic() - pressed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=5)

    # Then it stopped everything, said so and exited 0 within the bound
    assert code == 0, "".join(lines)
    assert lines[-1].strip() == "Stopped.", "".join(lines)
    assert took < STOP_SECONDS, f"exited {took:.1f} s after Ctrl-C"
    assert not [pid for pid in started if alive(pid)], "processes left behind"


def descendants(root: int) -> set[int]:
    """Every process started (directly or not) by `root`, from /proc."""
    children: dict[int, set[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, set()).add(int(entry))
    found: set[int] = set()
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), ()):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except OSError:
        return False
