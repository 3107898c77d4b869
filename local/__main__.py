"""`python -m local`: run the local stack in the foreground until Ctrl-C (what `make run` is meant to call).

python -m local                      # API on http://127.0.0.1:8000, moto on a free port
python -m local --port 0 --no-schedules
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from local import synth
from local.stack import LocalStack, LocalStackConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description="Run SignBridge locally (loopback only).")
    parser.add_argument("--stage", default=synth.DEFAULT_STAGE, help="stage to synthesize (default: %(default)s)")
    parser.add_argument("--template", type=Path, help="use this synthesized template as is")
    parser.add_argument("--port", type=int, default=8000, help="API port; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--aws-port", type=int, default=0, help="moto port; 0 picks a free one (default)")
    parser.add_argument("--no-schedules", action="store_true", help="do not fire the schedules on their own")
    parser.add_argument("--log-level", default="INFO")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=arguments.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    config = LocalStackConfig(
        stage=arguments.stage,
        template=arguments.template,
        api_port=arguments.port,
        aws_port=arguments.aws_port,
        schedules=not arguments.no_schedules,
    )
    stopped = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with LocalStack(config) as stack:
        print(f"SignBridge local stack ({arguments.stage})")
        print(f"  API  {stack.api_url}")
        print(f"  AWS  {stack.aws_endpoint_url}  (moto; any credentials)")
        for logical_id, name in stack.resources().items():
            print(f"  {logical_id:<24} {name}")
        for warning in stack.warnings:
            print(f"  warning: {warning}")
        print("Ctrl-C stops.", flush=True)
        stopped.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
