"""ZapSign fixtures, shared by tests/providers and tests/simulators (their conftest.py files import them).

- `zapsign_simulator`: the ZapSign simulator of this test process (one per xdist worker, port 0 on 127.0.0.1), reset
  before each test: state, counters, faults, clock, settings (`ZapSignConfig` defaults) and webhook retry settings
  (5 attempts, 0.02 s first backoff) start clean.
- `zapsign_sleeps`: the delays the client's retry policy asked for (nothing really sleeps).
- `zapsign_http`: the `ProviderHttp` of `zapsign_client` (3 attempts, 2 s read timeout, sleep recorded).
- `zapsign_client`: a `ZapSignClient` on the simulator with its token.
- `zapsign_webhook_receiver`: an HTTP endpoint on 127.0.0.1 that records every POST (body and headers) and answers
  the statuses queued in `statuses`, then 200.
Helpers: `new_document()`, `ZAPSIGN_TOKEN`, `wait_for()`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.simulators.pdf import make_pdf
from local.simulators.zapsign import ZapSignConfig, ZapSignSimulator
from signbridge.providers.http import ProviderHttp, RetryPolicy
from signbridge.providers.zapsign import NewDocument, NewSigner, ZapSignClient

ZAPSIGN_TOKEN = "test-zapsign-token"
ZAPSIGN_OTHER_ENV_TOKEN = "production-token-used-on-sandbox"
ZAPSIGN_WEBHOOK_BACKOFF_SECONDS = 0.02


def wait_for(condition: Callable[[], bool], timeout: float = 5.0, message: str = "condition not met in time") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.01)


def new_document(*signer_names: str, **options: Any) -> NewDocument:
    """A `NewDocument` with a generated PDF and one signer per name (default: one signer)."""
    names = signer_names or ("Ana Souza",)
    signers = [NewSigner(name=name, email=f"signer{index}@example.com") for index, name in enumerate(names)]
    return NewDocument.from_pdf(options.pop("name", "Contrato.pdf"), make_pdf("Contrato de teste"), signers, **options)


@pytest.fixture(scope="session")
def _zapsign_simulator_process() -> Iterator[ZapSignSimulator]:
    simulator = ZapSignSimulator(
        port=0,
        api_token=ZAPSIGN_TOKEN,
        other_env_tokens=(ZAPSIGN_OTHER_ENV_TOKEN,),
        webhook_backoff_seconds=ZAPSIGN_WEBHOOK_BACKOFF_SECONDS,
        webhook_timeout_seconds=2.0,
    )
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def zapsign_simulator(_zapsign_simulator_process: ZapSignSimulator) -> ZapSignSimulator:
    simulator = _zapsign_simulator_process
    simulator.reset()
    simulator.config = ZapSignConfig()
    simulator.webhooks.max_attempts = 5
    simulator.webhooks.backoff_seconds = ZAPSIGN_WEBHOOK_BACKOFF_SECONDS
    return simulator


@pytest.fixture
def zapsign_sleeps() -> list[float]:
    return []


@pytest.fixture
def zapsign_http(zapsign_simulator: ZapSignSimulator, zapsign_sleeps: list[float]) -> ProviderHttp:
    return ProviderHttp(
        "zapsign",
        zapsign_simulator.api_base_url,
        retry=RetryPolicy(max_attempts=3),
        read_timeout=2.0,
        sleep=zapsign_sleeps.append,
    )


@pytest.fixture
def zapsign_client(zapsign_simulator: ZapSignSimulator, zapsign_http: ProviderHttp) -> ZapSignClient:
    return ZapSignClient(zapsign_simulator.api_base_url, ZAPSIGN_TOKEN, http=zapsign_http)


@dataclass
class ReceivedWebhook:
    body: dict[str, Any]
    headers: dict[str, str]
    status: int


@dataclass
class ZapSignWebhookReceiver:
    """Records every POST to `url`. `statuses` (if not empty) answers the next calls with those, then 200."""

    url: str = ""
    received: list[ReceivedWebhook] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[ReceivedWebhook]:
        """The deliveries answered 200 (what a real receiver would have processed)."""
        with self.lock:
            return [item for item in self.received if item.status == 200]

    def events(self) -> list[str]:
        return [str(item.body.get("event_type")) for item in self.accepted()]

    def wait_for_events(self, count: int, timeout: float = 5.0) -> list[ReceivedWebhook]:
        wait_for(lambda: len(self.accepted()) >= count, timeout, f"expected {count} webhooks, got {self.events()}")
        return self.accepted()


@pytest.fixture
def zapsign_webhook_receiver() -> Iterator[ZapSignWebhookReceiver]:
    receiver = ZapSignWebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            with receiver.lock:
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append(ReceivedWebhook(body, dict(self.headers.items()), status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/webhooks/zapsign"
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
