"""Docker-free bundling of the Lambda asset: SignBridge's code plus the runtime dependencies Lambda lacks.

The asset is `functions/` -> `signbridge/` + `requests`, `pydantic`, `pyhanko` (and their dependencies), installed as
manylinux aarch64 wheels for CPython 3.13 by the local pip. Not bundled: `boto3` (in the Lambda runtime) and
`aws-lambda-powertools` (from its public layer). The dependency list is read from pyproject.toml, so the asset and
the package cannot drift apart.

If local bundling fails (no pip, no network to PyPI), CDK falls back to the Docker image with the same command.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
PACKAGE = "signbridge"
# Provided at run time, so not shipped: boto3 by the Lambda Python runtime, Powertools by its layer.
PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore", "aws-lambda-powertools"})
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.13"
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
# Excluded from the asset (and from its source hash, so a stray cache file never triggers a redeploy).
ASSET_EXCLUDE = ("**/__pycache__", "**/*.pyc", "**/.mypy_cache", "**/.pytest_cache", "*.egg-info")


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The `[project].dependencies` that the Lambda runtime and the Powertools layer do not provide."""
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return [spec for spec in dependencies if _distribution(spec) not in PROVIDED_BY_RUNTIME]


def _distribution(spec: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", spec)
    if not match:
        raise ValueError(f"cannot read the distribution name of {spec!r}")
    return match.group(0).lower().replace("_", "-")


def pip_install_args(target: str, requirements: list[str]) -> list[str]:
    return [
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # .pyc built for the local interpreter would be useless on 3.13
        "--platform",
        PLATFORM,
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--target",
        target,
        *requirements,
    ]


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """Copies `functions/signbridge` and pip-installs the Lambda-platform wheels into the asset output directory."""

    def __init__(self, *, python: str = sys.executable, source: Path = FUNCTIONS_DIR / PACKAGE) -> None:
        self._python = python
        self._source = source

    def try_bundle(self, output_dir: str, options: BundlingOptions | None = None, **_kwargs: object) -> bool:
        """jsii hands the options over as one struct; they describe the Docker fallback and are not needed here."""
        del options
        requirements = runtime_requirements()
        try:
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                [self._python, "-m", "pip", *pip_install_args(output_dir, requirements)],
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
        return True


def asset_code() -> lambda_.Code:
    """The one asset every function shares (handler = `signbridge.handlers.<name>.handler`)."""
    requirements = " ".join(f"'{spec}'" for spec in runtime_requirements())
    docker_command = " && ".join(
        (
            f"pip install --no-compile --only-binary=:all: --target /asset-output {requirements}",
            "rm -rf /asset-output/bin",
            f"cp -r /asset-input/{PACKAGE} /asset-output/",
            "find /asset-output -name __pycache__ -prune -exec rm -rf {} +",
        )
    )
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        exclude=list(ASSET_EXCLUDE),
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image,
            platform="linux/arm64",
            command=["bash", "-c", docker_command],
            local=LocalPipBundling(),
        ),
    )
