"""Docker-free bundling of the Lambda asset: SignBridge's code plus the runtime dependencies Lambda lacks.

The asset is `functions/` -> `signbridge/` + the packages pinned in `functions/requirements.lock` (`requests`,
`pydantic`, `pyhanko` and their dependencies, each with its sha256 hashes), installed by the local pip with
`--require-hashes` as CPython 3.13 wheels for every manylinux tag the python3.13 arm64 runtime accepts (Amazon
Linux 2023, glibc 2.34: `manylinux2014` ... `manylinux_2_34`). Not bundled: `boto3` (in the Lambda runtime) and
`aws-lambda-powertools` (from its public layer, pinned in `infra.constructs.functions`).

The lock is made from pyproject.toml's `[project].dependencies` by `make lock` (`python -m infra.bundling lock`,
`uv pip compile --generate-hashes` for python3.13 on aarch64); a test fails when the two disagree.

Bytecode: with a Python 3.13 interpreter on the machine, the bundle ships `__pycache__/*.cpython-313.pyc` compiled
with `--invalidation-mode unchecked-hash` (Lambda's /var/task is read-only: without them every cold start compiles
every module it imports, and never keeps the result); file names in tracebacks are the deployed `/var/task/...`.
Without one, the bundle ships sources only and says so.

The asset hash is computed here (`asset_hash`), not by CDK from `functions/`: it covers the lock, SignBridge's
sources and the bundling parameters, so a new upstream release can never ship under an unchanged hash, and two synths
of the same commit give the same hash.

If local bundling fails (no pip, no network to the package index), CDK falls back to the Docker image with the same
lock.
"""

from __future__ import annotations

import glob
import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
LOCK_FILE = FUNCTIONS_DIR / "requirements.lock"
PACKAGE = "signbridge"
# Provided at run time, so not shipped: boto3 by the Lambda Python runtime, Powertools by its layer.
PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore", "aws-lambda-powertools"})
PYTHON_VERSION = "3.13"
# The python3.13 runtime is Amazon Linux 2023 (glibc 2.34): it accepts every manylinux tag up to 2.34.
GLIBC_MINOR_MIN, GLIBC_MINOR_MAX = 17, 34
PLATFORMS = (
    "manylinux2014_aarch64",
    *(f"manylinux_2_{minor}_aarch64" for minor in range(GLIBC_MINOR_MIN, GLIBC_MINOR_MAX + 1)),
)
UV_PLATFORM = f"aarch64-manylinux_2_{GLIBC_MINOR_MAX}"
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
DEPLOYED_ROOT = "/var/task"
# Excluded from the asset (and from its hash, so a stray cache file never triggers a redeploy).
ASSET_EXCLUDE = ("**/__pycache__", "**/*.pyc", "**/.mypy_cache", "**/.pytest_cache", "*.egg-info")
_CACHE_PARTS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache"})


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The `[project].dependencies` that the Lambda runtime and the Powertools layer do not provide."""
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return [spec for spec in dependencies if _distribution(spec) not in PROVIDED_BY_RUNTIME]


def _distribution(spec: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", spec)
    if not match:
        raise ValueError(f"cannot read the distribution name of {spec!r}")
    return match.group(0).lower().replace("_", "-")


def locked_versions(lock: Path = LOCK_FILE) -> dict[str, str]:
    """distribution name -> pinned version, from the lock file."""
    pins = re.findall(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)", lock.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {_distribution(name): version for name, version in pins}


def pip_install_args(target: str, lock: Path = LOCK_FILE) -> list[str]:
    platforms = [argument for platform in PLATFORMS for argument in ("--platform", platform)]
    return [
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # bytecode comes from a 3.13 interpreter afterwards, or not at all
        "--require-hashes",
        "--no-deps",  # the lock is complete: every dependency is pinned in it
        *platforms,
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--target",
        target,
        "--requirement",
        str(lock),
    ]


def find_python313() -> str | None:
    """A CPython 3.13 interpreter to compile the bundle's bytecode with: pyenv's first (its `python3.13` shim fails
    unless 3.13 is selected), then `python3.13` on PATH, then this interpreter if it is 3.13."""
    candidates = sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.13*/bin/python3.13")))
    on_path = shutil.which("python3.13")
    if on_path and "/.pyenv/shims/" not in on_path:
        candidates.append(on_path)
    if sys.version_info[:2] == (3, 13):
        candidates.append(sys.executable)
    return candidates[0] if candidates else None


def compile_args(output_dir: str) -> list[str]:
    return [
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        output_dir,
        "-p",
        DEPLOYED_ROOT,
        output_dir,
    ]


def asset_hash(
    *, lock: Path = LOCK_FILE, source: Path = FUNCTIONS_DIR / PACKAGE, python313: str | bool | None = True
) -> str:
    """sha256 of what the bundle is made from: the lock, SignBridge's sources, the platforms, and whether bytecode is
    compiled (`python313=True` looks for the interpreter, as bundling does)."""
    if python313 is True:
        python313 = find_python313()
    digest = hashlib.sha256()
    for part in (
        "signbridge-lambda-asset/2",
        PYTHON_VERSION,
        ",".join(PLATFORMS),
        f"bytecode={'cpython-313-unchecked-hash' if python313 else 'none'}",
    ):
        digest.update(part.encode() + b"\0")
    digest.update(lock.read_bytes() + b"\0")
    for file in sorted(path for path in source.rglob("*") if path.is_file()):
        relative = file.relative_to(source)
        if _CACHE_PARTS & set(relative.parts) or file.suffix == ".pyc":
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """Copies `functions/signbridge`, pip-installs the locked wheels and compiles 3.13 bytecode into the output."""

    def __init__(
        self,
        *,
        python: str = sys.executable,
        source: Path = FUNCTIONS_DIR / PACKAGE,
        lock: Path = LOCK_FILE,
        python313: str | bool | None = True,
    ) -> None:
        self._python = python
        self._source = source
        self._lock = lock
        self._python313 = find_python313() if python313 is True else python313 or None

    def try_bundle(self, output_dir: str, options: BundlingOptions | None = None, **_kwargs: object) -> bool:
        """jsii hands the options over as one struct; they describe the Docker fallback and are not needed here."""
        del options
        try:
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                [self._python, "-m", "pip", *pip_install_args(output_dir, self._lock)],
                check=True,
            )
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"local bundling failed ({error}); falling back to Docker", file=sys.stderr)
            return False
        # Console scripts pip wrote for the local interpreter: useless in Lambda.
        shutil.rmtree(Path(output_dir) / "bin", ignore_errors=True)
        shutil.copytree(
            self._source,
            Path(output_dir) / PACKAGE,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )
        if self._python313 is None:
            print(
                "bundling: no Python 3.13 found (pyenv's 3.13 or python3.13 on PATH): the asset ships without "
                "bytecode, so each cold start compiles what it imports",
                file=sys.stderr,
            )
            return True
        try:
            subprocess.run([self._python313, *compile_args(output_dir)], check=True)  # noqa: S603 - fixed argv
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"compiling the bundle's bytecode failed ({error})", file=sys.stderr)
            return False
        return True


def asset_code() -> lambda_.Code:
    """The one asset every function shares (handler = `signbridge.handlers.<name>.handler`)."""
    platforms = " ".join(f"--platform {platform}" for platform in PLATFORMS)
    docker_command = " && ".join(
        (
            "pip install --no-compile --require-hashes --no-deps --only-binary=:all: "
            f"{platforms} --target /asset-output -r /asset-input/{LOCK_FILE.name}",
            "rm -rf /asset-output/bin",
            f"cp -r /asset-input/{PACKAGE} /asset-output/",
            "find /asset-output -name __pycache__ -prune -exec rm -rf {} +",
            f"python -m compileall -q -j 0 --invalidation-mode unchecked-hash -s /asset-output -p {DEPLOYED_ROOT} "
            "/asset-output",
        )
    )
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        exclude=list(ASSET_EXCLUDE),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash(),
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image,
            platform="linux/arm64",
            command=["bash", "-c", docker_command],
            local=LocalPipBundling(),
        ),
    )


def lock(output: Path = LOCK_FILE) -> None:
    """Resolve `runtime_requirements()` for CPython 3.13 on manylinux aarch64, with hashes, into `output`."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is not installed (make install puts it in .venv)")
    requirements = "".join(f"{spec}\n" for spec in runtime_requirements())
    subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            uv,
            "pip",
            "compile",
            "-",
            "--generate-hashes",
            "--python-version",
            PYTHON_VERSION,
            "--python-platform",
            UV_PLATFORM,
            "--custom-compile-command",
            "make lock",
            "--quiet",
            "--output-file",
            str(output),
        ],
        input=requirements,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    print(f"{output.relative_to(REPO_ROOT)}: {len(locked_versions(output))} packages pinned with hashes")


if __name__ == "__main__":
    if sys.argv[1:] != ["lock"]:
        raise SystemExit("usage: python -m infra.bundling lock")
    lock()
