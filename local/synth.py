"""The synthesized template the local stack is wired from, synthesized only when its inputs changed.

`ensure_template(stage)` returns `cdk.out/SignBridge-<stage>.template.json`. It runs `app.py` (as the CDK CLI would,
context through `CDK_CONTEXT_JSON`) only when one of the synth inputs changed since the last local synth: `app.py`,
`cdk.json`, `infra/**/*.py`, and the shared contracts the CDK app imports from `functions/`. Their digest is kept in
a stamp file next to the template.

Local synthesis skips asset bundling (context `aws:cdk:bundling-stacks = []`): the handlers run in-process from
`functions/`, so the Lambda asset is never used. It synthesizes into a private directory and copies only the template
into `cdk.out/`, so a cloud assembly made by `make synth` / `cdk synth` (its manifest, its bundled assets) is left
as it was. The default local stage is `local`, so the local template never stands in for a deployable one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from local.template.parser import template_path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTDIR = REPO_ROOT / "cdk.out"
DEFAULT_STAGE = "local"
SYNTH_TIMEOUT_SECONDS = 300

# What the CDK app reads: a change to any of these can change the template.
SYNTH_INPUTS = (
    "app.py",
    "cdk.json",
    "infra",
    "functions/signbridge/env_names.py",
    "functions/signbridge/api_routes.py",
    "functions/signbridge/storage/schema.py",
    "functions/signbridge/domain/keys.py",
    "functions/signbridge/observability.py",
)
SKIP_BUNDLING: dict[str, list[str]] = {"aws:cdk:bundling-stacks": []}


class SynthError(RuntimeError):
    """The CDK app could not be synthesized; the message carries the end of its output."""


def input_digest(*, root: Path = REPO_ROOT, stage: str, context: Mapping[str, Any] | None = None) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({"stage": stage, "context": dict(context or {})}, sort_keys=True).encode())
    with contextlib.suppress(metadata.PackageNotFoundError):
        digest.update(metadata.version("aws-cdk-lib").encode())
    for entry in SYNTH_INPUTS:
        path = root / entry
        files = (
            sorted(file for pattern in ("*.py", "*.json") for file in path.rglob(pattern)) if path.is_dir() else [path]
        )
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(root)).encode())
                digest.update(file.read_bytes())
    stage_settings = root / "stages" / f"{stage}.json"  # the stage's own settings file, when it has one
    if stage_settings.is_file():
        digest.update(stage_settings.read_bytes())
    return digest.hexdigest()


def _stamp_path(outdir: Path, stage: str) -> Path:
    return outdir / f".signbridge-local-synth-{stage}.stamp"


def ensure_template(
    *,
    stage: str = DEFAULT_STAGE,
    outdir: Path = DEFAULT_OUTDIR,
    context: Mapping[str, Any] | None = None,
    force: bool = False,
    root: Path = REPO_ROOT,
) -> Path:
    """The template for `stage`, synthesized if its inputs changed (or `force`), else the one in `outdir`.

    `context` adds CDK context on top of cdk.json's (and the stage). Safe to call from several processes at once.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    template = template_path(outdir, stage)
    with _locked(outdir / ".signbridge-local-synth.lock"):
        digest = input_digest(root=root, stage=stage, context=context)
        stamp = _stamp_path(outdir, stage)
        if not force and template.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
            return template
        synthesize(stage=stage, destination=template, context=context, root=root)
        stamp.write_text(digest + "\n")
    return template


def synthesize(
    *, stage: str, destination: Path, context: Mapping[str, Any] | None = None, root: Path = REPO_ROOT
) -> None:
    """Run app.py with bundling skipped into a private directory; copy the stack's template to `destination`."""
    with tempfile.TemporaryDirectory(prefix="signbridge-synth-") as scratch:
        environment = {
            **os.environ,
            "CDK_OUTDIR": scratch,
            "CDK_CONTEXT_JSON": json.dumps({**dict(context or {}), "stage": stage, **SKIP_BUNDLING}),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        try:
            completed = subprocess.run(  # noqa: S603 - fixed argv: this interpreter, the repo's app.py
                [sys.executable, str(root / "app.py")],
                cwd=root,
                env=environment,
                capture_output=True,
                text=True,
                timeout=SYNTH_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SynthError(f"could not run app.py: {error}") from error
        produced = template_path(Path(scratch), stage)
        if completed.returncode != 0 or not produced.is_file():
            tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-30:])
            raise SynthError(f"synthesizing SignBridge-{stage} failed (exit {completed.returncode}):\n{tail}")
        partial = destination.with_suffix(".partial")
        shutil.copyfile(produced, partial)
        os.replace(partial, destination)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
