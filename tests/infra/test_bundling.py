"""Docker-free bundling: the locked dependencies, for the Lambda platform, plus SignBridge's package; a reproducible
asset hash; and (one real bundle per session) what the asset ships."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from infra import bundling
from infra.bundling import (
    LOCK_FILE,
    LocalPipBundling,
    asset_hash,
    locked_versions,
    pip_install_args,
    runtime_requirements,
)

from .conftest import Synth, function_logical_id

pytestmark = pytest.mark.infra

ELF_MAGIC = b"\x7fELF"
EM_AARCH64 = 183


def test_runtime_requirements_leave_out_what_lambda_and_the_layer_provide() -> None:
    names = {Requirement(spec).name.lower() for spec in runtime_requirements()}
    assert names == {"requests", "pydantic", "pyhanko", "pyhanko-certvalidator"}


def test_the_lock_satisfies_pyproject_and_pins_nothing_the_runtime_provides() -> None:
    """Fails when pyproject's dependencies change without `make lock`."""
    locked = locked_versions()
    for spec in runtime_requirements():
        requirement = Requirement(spec)
        assert requirement.name.lower() in locked, f"{requirement.name} is not in {LOCK_FILE.name}: run `make lock`"
        assert requirement.specifier.contains(locked[requirement.name.lower()]), (spec, locked[requirement.name])
    assert not {"boto3", "botocore", "aws-lambda-powertools"} & set(locked)
    pins = LOCK_FILE.read_text(encoding="utf-8").split("==")[1:]
    assert len(pins) == len(locked)
    for pin in pins:
        assert "--hash=sha256:" in pin, f"every pin carries its hashes: {pin[:40]!r}"


def test_pip_installs_locked_cpython_313_wheels_for_every_manylinux_tag_the_runtime_accepts() -> None:
    args = pip_install_args("/out")
    joined = " ".join(args)
    platforms = [args[index + 1] for index, arg in enumerate(args) if arg == "--platform"]
    assert platforms[0] == "manylinux2014_aarch64"
    assert {f"manylinux_2_{minor}_aarch64" for minor in range(17, 35)} <= set(platforms)
    assert not [platform for platform in platforms if "2_35" in platform or "x86_64" in platform]
    assert "--require-hashes" in args
    assert "--no-deps" in args
    assert "--only-binary=:all:" in args
    assert "--python-version 3.13" in joined
    assert "--implementation cp" in joined
    assert "--target /out" in joined
    assert f"--requirement {LOCK_FILE}" in joined


def _fake_python(tmp_path: Path, exit_code: int) -> str:
    """A stand-in for `python -m pip ...` that records its arguments and exits with `exit_code`."""
    script = tmp_path / "fake-python"
    script.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/pip-args"\nexit {exit_code}\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_local_bundling_copies_the_package_and_installs_the_locked_dependencies(tmp_path: Path) -> None:
    output = tmp_path / "asset"
    output.mkdir()
    bundler = LocalPipBundling(python=_fake_python(tmp_path, 0), python313=False)
    assert bundler.try_bundle(str(output)) is True
    assert (output / "signbridge" / "handlers" / "worker.py").is_file()
    assert not list(output.rglob("__pycache__"))
    pip_args = (tmp_path / "pip-args").read_text(encoding="utf-8")
    assert "manylinux_2_34_aarch64" in pip_args
    assert "--require-hashes" in pip_args
    assert str(LOCK_FILE) in pip_args


def test_local_bundling_gives_way_to_docker_when_pip_fails(tmp_path: Path) -> None:
    output = tmp_path / "asset"
    output.mkdir()
    assert LocalPipBundling(python=_fake_python(tmp_path, 1), python313=False).try_bundle(str(output)) is False
    assert not (output / "signbridge").exists()


# -- the asset hash ------------------------------------------------------------------------------------------------


def _asset_key(synth: Synth) -> str:
    keys = {synth.props(function_logical_id(name))["Code"]["S3Key"] for name in ("api", "worker", "intake")}
    (key,) = keys
    return str(key)


def test_two_synths_of_the_same_commit_give_the_same_asset_hash(synth: Synth, full_synth: Synth) -> None:
    """Different stages, same code: the same asset. CDK derives the key from `asset_hash()` (and the bundling
    options), never from a listing of `functions/` alone."""
    assert _asset_key(synth) == _asset_key(full_synth)
    assert re.fullmatch(r"[0-9a-f]{64}\.zip", _asset_key(synth))


def test_the_asset_hash_covers_the_lock_and_the_sources(tmp_path: Path) -> None:
    base = asset_hash(python313=False)
    assert asset_hash(python313=False) == base
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK_FILE.read_text(encoding="utf-8").replace("requests==", "requests==9"), encoding="utf-8")
    assert asset_hash(lock=lock, python313=False) != base
    source = tmp_path / "signbridge"
    shutil.copytree(bundling.FUNCTIONS_DIR / bundling.PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__"))
    assert asset_hash(source=source, python313=False) == base
    (source / "__pycache__").mkdir(exist_ok=True)
    (source / "__pycache__" / "stray.cpython-313.pyc").write_bytes(b"cache")
    assert asset_hash(source=source, python313=False) == base
    (source / "api_routes.py").write_text("# changed\n", encoding="utf-8")
    assert asset_hash(source=source, python313=False) != base
    assert asset_hash(python313="/usr/bin/python3.13") != base  # shipping bytecode is a different asset


# -- one real bundle (pip downloads the locked wheels) -------------------------------------------------------------


def test_a_real_bundle_ships_what_lambda_needs_and_nothing_else(tmp_path: Path) -> None:
    """One real bundle per run (one test, so that parallel workers do not each make one)."""
    bundle = tmp_path / "lambda-asset"
    bundle.mkdir()
    assert LocalPipBundling().try_bundle(str(bundle)), "local bundling failed (is the package index reachable?)"
    _ships_no_aws_sdk_and_only_arm64_binaries(bundle)
    _has_signbridge_and_the_locked_distributions(bundle)
    _ships_unchecked_hash_bytecode_for_python_313(bundle)


def _ships_no_aws_sdk_and_only_arm64_binaries(bundle: Path) -> None:
    top_level = {path.name.lower() for path in bundle.iterdir()}
    assert not {"boto3", "botocore", "aws_lambda_powertools", "bin"} & top_level
    assert not [name for name in top_level if name.startswith(("boto3-", "botocore-", "aws_lambda_powertools-"))]
    binaries = []
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                head = handle.read(20)
            if head.startswith(ELF_MAGIC):
                machine = int.from_bytes(head[18:20], "little")
                assert machine == EM_AARCH64, f"{path.relative_to(bundle)} is not an aarch64 binary"
                binaries.append(path)
    assert binaries, "pydantic-core ships a compiled extension: at least one aarch64 binary is expected"
    assert all(".cpython-313-aarch64-linux-gnu." in path.name or ".abi3." in path.name for path in binaries)


def _has_signbridge_and_the_locked_distributions(bundle: Path) -> None:
    assert (bundle / "signbridge" / "handlers" / "api" / "__init__.py").is_file()
    installed = {}
    for path in bundle.glob("*.dist-info"):
        name, version = path.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[bundling._distribution(name)] = version
    assert installed == locked_versions()


def _ships_unchecked_hash_bytecode_for_python_313(bundle: Path) -> None:
    python313 = bundling.find_python313()
    if python313 is None:
        assert not list(bundle.rglob("*.pyc")), "without Python 3.13 the bundle ships sources only (bundling says so)"
        return
    # Every module, SignBridge's and the dependencies', has its 3.13 bytecode beside it, hash-based and not checked
    # against the source (/var/task is read-only: a timestamp-based .pyc that went stale would be recompiled on every
    # cold start and never kept).
    sources = list(bundle.rglob("*.py"))
    assert len(sources) > 100
    missing, checked = [], []
    for source in sources:
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        if not compiled.is_file():
            missing.append(str(source.relative_to(bundle)))
        elif int.from_bytes(compiled.read_bytes()[4:8], "little") != 0b01:
            checked.append(str(compiled.relative_to(bundle)))
    assert not missing, f"{len(missing)} modules without bytecode, e.g. {missing[:5]}"
    assert not checked, f"{len(checked)} .pyc files are not unchecked-hash, e.g. {checked[:5]}"
    assert not list(bundle.rglob("*.cpython-311.pyc"))
    _imports_its_bytecode_and_compiles_nothing(python313, bundle)


def _imports_its_bytecode_and_compiles_nothing(python313: str, bundle: Path) -> None:
    """Python 3.13 importing SignBridge and its dependencies from the bundle, writing no bytecode (as on a read-only
    /var/task), loads every module from its .pyc: `-v` says `code object from <file>.py` for each one it compiles.
    Pure-Python modules only: the bundle's binaries are aarch64 (`bench/cold_start.py` imports every handler from a
    bundle built for this machine)."""
    modules = (
        "signbridge.domain.operations",
        "signbridge.domain.keys",
        "signbridge.api_routes",
        "requests",
        "asn1crypto.x509",
    )
    probe = f"import sys; sys.path.insert(0, {str(bundle)!r}); " + "; ".join(f"import {name}" for name in modules)
    result = subprocess.run(
        [python313, "-v", "-S", "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    loaded = re.findall(r"^# code object from '?(.+?)'?$", result.stderr, flags=re.MULTILINE)
    from_bundle = [path for path in loaded if path.startswith(str(bundle))]
    compiled = [path for path in from_bundle if path.endswith(".py")]
    assert not compiled, f"compiled at import from the sources: {compiled[:5]}"
    packages = {Path(path).relative_to(bundle).parts[0] for path in from_bundle}
    assert {"signbridge", "requests", "urllib3", "asn1crypto"} <= packages, packages
