#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy` run this (cdk.json "app"), and so does `make synth` directly.

No AWS call happens at import or synth: the stack is environment-agnostic, lookups are not used, and the
Powertools layer ARN is resolved by CloudFormation from a public SSM parameter at deploy time.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "functions"))  # `signbridge.*` (env var names, table schema, routes) without installing

from infra.node import prefer_supported_node  # noqa: E402

prefer_supported_node()  # before aws_cdk is imported: jsii starts Node from PATH

from infra.config import ConfigError  # noqa: E402
from infra.stack import build_app  # noqa: E402

if __name__ == "__main__":
    # Under the CDK CLI, CDK_OUTDIR names the output directory; run directly, write where the CLI would.
    try:
        app = build_app(outdir=None if "CDK_OUTDIR" in os.environ else str(ROOT / "cdk.out"))
    except ConfigError as error:  # a refused stage: the message says what to change, a traceback would bury it
        sys.exit(f"SignBridge: {error}")
    app.synth()
