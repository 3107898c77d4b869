"""`python -m simulators.oneshot`: the One-Shot simulator alone on 127.0.0.1 (Ctrl-C stops)."""

from __future__ import annotations

import argparse
import time

from simulators.oneshot.model import SANDBOX_TOKEN
from simulators.oneshot.simulator import OneShotSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the One-Shot Optimizer simulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--max-documents", type=int, default=20, help="documents a request may hold")
    arguments = parser.parse_args(argv)
    simulator = OneShotSimulator(port=arguments.port, max_documents_per_request=arguments.max_documents)
    simulator.start()
    print(f"One-Shot simulator: {simulator.api_url}  (sandbox token {SANDBOX_TOKEN})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


main()
