"""What `pip install .` installs: the wheel built from the clone ships `signbridge` (the Lambda code) and
`signbridge_cli` (the operator's tool) and no other top-level name (`local`, `simulators`, `demo` stay in the clone),
and the installed `signbridge run` says where the local stack runs instead of failing on an import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from signbridge_cli.app import find_checkout

ROOT = Path(__file__).resolve().parents[2]
# What a fresh clone does not have (or what building must not see): the virtualenvs, build output, caches.
_NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv*", "node_modules", "cdk.out", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip install .` would build, from a copy of the clone (building writes into its source tree)."""
    source = tmp_path_factory.mktemp("clone") / "signbridge"
    shutil.copytree(ROOT, source, ignore=_NOT_IN_A_CLONE)
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("signbridge-*.whl")
    return path


def test_the_wheel_ships_signbridge_and_its_cli_and_no_other_top_level_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert top_level == {"signbridge", "signbridge_cli"}
    assert "signbridge/handlers/api/__init__.py" in names
    assert "signbridge_cli/main.py" in names
    # and the console script is the operator's tool
    (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    assert "signbridge = signbridge_cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_tool_runs_and_its_run_command_says_where_the_local_stack_is(wheel: Path, tmp_path: Path) -> None:
    # Given the wheel installed on its own (its dependencies are this environment's), used from a directory that is
    # not a clone
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {**os.environ, "PYTHONPATH": str(site)}

    def signbridge(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "signbridge_cli", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=elsewhere,
            env=environment,
        )

    probe = subprocess.run(
        [sys.executable, "-c", "import signbridge_cli; print(signbridge_cli.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=elsewhere,
        env=environment,
    )
    assert probe.stdout.strip().startswith(str(site))  # the installed copy, not the clone's

    # When the operator asks for help, and runs `run`
    helped = signbridge("--help")
    ran = signbridge("run", "--no-demo")

    # Then the help lists the commands, and `run` exits 2 with a clear message and no traceback
    assert helped.returncode == 0, helped.stderr
    assert "requests" in helped.stdout
    assert ran.returncode == 2
    assert "the local stack runs from a clone of SignBridge" in ran.stderr
    assert "make run" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_clone_is_found_by_its_local_stack_beside_the_lambda_code(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    clone = tmp_path / "clone"
    (clone / "local").mkdir(parents=True)
    (clone / "local" / "__main__.py").write_text("")
    (clone / "functions" / "signbridge").mkdir(parents=True)

    assert find_checkout([tmp_path / "plain", clone]) == clone
    assert find_checkout([tmp_path / "plain"]) is None
    assert find_checkout([ROOT]) == ROOT
