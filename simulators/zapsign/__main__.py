"""`python -m simulators.zapsign`: the ZapSign simulator alone on loopback (prints the API base URL; Ctrl-C stops)."""

from __future__ import annotations

import argparse
import threading

from simulators.zapsign.model import DEFAULT_TOKEN
from simulators.zapsign.simulator import ZapSignSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the ZapSign simulator on loopback.")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the API token clients must send")
    parser.add_argument("--file-link-lifetime", type=int, default=3600, help="seconds a file link stays valid")
    parser.add_argument("--refused-status", default="recusado", choices=["recusado", "refused"])
    parser.add_argument("--webhook-backoff", type=float, default=0.5, help="first webhook retry delay, seconds")
    args = parser.parse_args(argv)
    simulator = ZapSignSimulator(
        port=args.port,
        host=args.host,
        api_token=args.token,
        file_link_lifetime_seconds=args.file_link_lifetime,
        refused_status=args.refused_status,
        webhook_backoff_seconds=args.webhook_backoff,
    )
    simulator.start()
    print(f"ZapSign simulator: {simulator.api_base_url}  (control: {simulator.base_url}/_sim/zapsign/)", flush=True)
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


main()
