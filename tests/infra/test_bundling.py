"""Docker-free bundling: the right dependencies, for the Lambda platform, plus SignBridge's package."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from infra.bundling import LocalPipBundling, pip_install_args, runtime_requirements

pytestmark = pytest.mark.infra


def test_runtime_requirements_leave_out_what_lambda_and_the_layer_provide() -> None:
    names = {spec.split(">")[0].split("=")[0].split("[")[0].lower() for spec in runtime_requirements()}
    assert names == {"requests", "pydantic", "pyhanko", "pyhanko-certvalidator"}


def test_pip_installs_cpython_313_wheels_for_arm64_only() -> None:
    args = pip_install_args("/out", ["requests"])
    joined = " ".join(args)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--only-binary=:all:" in args
    assert "--python-version 3.13" in joined
    assert "--implementation cp" in joined
    assert "--target /out" in joined


def _fake_python(tmp_path: Path, exit_code: int) -> str:
    """A stand-in for `python -m pip ...` that records its arguments and exits with `exit_code`."""
    script = tmp_path / "fake-python"
    script.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/pip-args"\nexit {exit_code}\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_local_bundling_copies_the_package_and_installs_the_dependencies(tmp_path: Path) -> None:
    output = tmp_path / "asset"
    output.mkdir()
    bundler = LocalPipBundling(python=_fake_python(tmp_path, 0))
    assert bundler.try_bundle(str(output)) is True
    assert (output / "signbridge" / "handlers" / "worker.py").is_file()
    assert not list(output.rglob("__pycache__"))
    pip_args = (tmp_path / "pip-args").read_text(encoding="utf-8")
    assert "manylinux2014_aarch64" in pip_args
    assert "pydantic" in pip_args
    assert "boto3" not in pip_args
    assert "powertools" not in pip_args


def test_local_bundling_gives_way_to_docker_when_pip_fails(tmp_path: Path) -> None:
    output = tmp_path / "asset"
    output.mkdir()
    assert LocalPipBundling(python=_fake_python(tmp_path, 1)).try_bundle(str(output)) is False
    assert not (output / "signbridge").exists()
