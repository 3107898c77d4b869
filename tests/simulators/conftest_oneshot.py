"""One-Shot fixtures, shared by tests/providers and tests/simulators (their conftest.py files import them).

- `oneshot_simulator`: the One-Shot simulator of this test process (one per xdist worker, port 0 on 127.0.0.1),
  reset before each test, so its counters, faults, clock and state start clean.
- `oneshot_sleeps`: the delays the client's retry policy asked for (nothing really sleeps).
- `oneshot_client`: an `OneShotClient` on the simulator with the sandbox token and billing credentials.
- `oneshot_callback_receiver`: an HTTP endpoint on 127.0.0.1 that records the callbacks POSTed to it.
Helpers: `signer_identity()`, `id_evidence()`, `wait_until()`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.simulators.oneshot import DEFAULT_PROFILE, DEFAULT_REGISTRATION_AUTHORITY, SANDBOX_TOKEN, OneShotSimulator
from signbridge.providers.http import ProviderHttp
from signbridge.providers.oneshot import FilePart, IdEvidence, OneShotClient, OneShotCredentials, SignerIdentity

# Minimal files that pass a magic-bytes check (the simulator looks at the first bytes only).
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 64
SIGNER_PHONE = "+34600000001"


def signer_identity(**overrides: Any) -> SignerIdentity:
    values: dict[str, Any] = {
        "given_name": "Ana",
        "surname_1": "García",
        "surname_2": "López",
        "id_document_type": "IDC",
        "id_document_country": "ES",
        "serial_number": "12345678Z",
        "email": "ana@example.com",
        "mobile_phone_number": SIGNER_PHONE,
        "communication_language": "ES",
    }
    values.update(overrides)
    return SignerIdentity.model_validate(values)


def id_evidence(front: bytes = JPEG_BYTES) -> IdEvidence:
    return IdEvidence(
        document_front=FilePart(front, "front.jpg", "image/jpeg"),
        document_rear=FilePart(JPEG_BYTES, "rear.jpg", "image/jpeg"),
        document_owner=FilePart(PNG_BYTES, "selfie.png", "image/png"),
    )


def oneshot_credentials(**overrides: Any) -> OneShotCredentials:
    values: dict[str, Any] = {
        "token": SANDBOX_TOKEN,
        "billing_username": "billing-user",
        "billing_password": base64.b64encode(b"billing-password").decode(),  # stored Base64, as the Optimizer wants
        "registration_authority": DEFAULT_REGISTRATION_AUTHORITY,
        "profile": DEFAULT_PROFILE,
    }
    values.update(overrides)
    return OneShotCredentials.model_validate(values)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture(scope="session")
def _oneshot_simulator_process() -> Iterator[OneShotSimulator]:
    simulator = OneShotSimulator(port=0, async_sign_delay_seconds=0.02)
    simulator.webhooks.backoff_seconds = 0.05  # retried callbacks in tests need not wait half a second
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def oneshot_simulator(_oneshot_simulator_process: OneShotSimulator) -> OneShotSimulator:
    _oneshot_simulator_process.reset()
    return _oneshot_simulator_process


@pytest.fixture
def oneshot_sleeps() -> list[float]:
    return []


@pytest.fixture
def oneshot_client(oneshot_simulator: OneShotSimulator, oneshot_sleeps: list[float]) -> OneShotClient:
    http = ProviderHttp("oneshot", oneshot_simulator.api_url, sleep=oneshot_sleeps.append, read_timeout=5.0)
    return OneShotClient(oneshot_simulator.api_url, oneshot_credentials(), http=http)


@dataclass
class CallbackReceiver:
    """Records the JSON bodies POSTed to `url`. `statuses` (if not empty) answers the next calls with those."""

    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[str]:
        with self.lock:
            return [str(body.get("event_type")) for body in self.bodies]


@pytest.fixture
def oneshot_callback_receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            with receiver.lock:
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.bodies.append(body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/webhooks/oneshot/test-secret"
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
