"""The local stack's state file: where it is, written for as long as the stack runs, ignored once its process is
gone, and never removed by a stack that does not own it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from signbridge_cli import local_state
from signbridge_cli.local_state import LocalState


def state(pid: int) -> LocalState:
    return LocalState(
        pid=pid,
        stage="local",
        api_url="http://127.0.0.1:8000",
        aws_endpoint_url="http://127.0.0.1:4566",
        region="us-east-1",
        zapsign_webhook_url="http://127.0.0.1:8000/webhooks/zapsign",
        environment={"SIGNBRIDGE_TABLE_NAME": "t"},
    )


def test_the_state_file_is_in_the_documented_place() -> None:
    assert local_state.state_path({"SIGNBRIDGE_LOCAL_STATE": "/x/y.json"}) == Path("/x/y.json")
    assert local_state.state_path({"XDG_STATE_HOME": "/s"}) == Path("/s/signbridge/local.json")
    assert local_state.state_path({}) == Path.home() / ".local" / "state" / "signbridge" / "local.json"


def test_published_while_the_block_runs_owner_only_then_removed(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "local.json"
    with local_state.published(state(os.getpid()), path):
        assert local_state.read_state(path) == state(os.getpid())
        assert path.stat().st_mode & 0o777 == 0o600
    assert not path.exists()
    assert local_state.read_state(path) is None


def test_a_file_left_by_a_stack_whose_process_is_gone_is_ignored(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    path = tmp_path / "local.json"
    path.write_text(state(int(finished.stdout)).model_dump_json())
    assert local_state.read_state(path) is None


def test_a_stack_does_not_remove_the_file_of_a_stack_started_after_it(tmp_path: Path) -> None:
    path = tmp_path / "local.json"
    with local_state.published(state(os.getpid()), path):
        path.write_text(state(1).model_dump_json())  # another stack (pid 1) took the path over
    assert path.exists()
