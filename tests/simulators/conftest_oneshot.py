"""One-Shot fixtures, shared by tests/providers and tests/simulators (their conftest.py files import them).

- `oneshot_simulator`: the One-Shot simulator of this test process (one per xdist worker, port 0 on 127.0.0.1),
  reset before each test, so its counters, faults, clock and state start clean.
- `oneshot_sleeps`: the delays the client's retry policy asked for (nothing really sleeps).
- `oneshot_client`: an `OneShotClient` on the simulator with the sandbox token and billing credentials.
- `oneshot_callback_receiver`: an HTTP endpoint on 127.0.0.1 that records the callbacks POSTed to it.
Helpers: `signer_identity()`, `id_evidence()`, `wait_for()`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from signbridge.domain.credentials import OneShotCredentials
from signbridge.domain.oneshot import FilePart, IdEvidence, SignerIdentity
from signbridge.providers.http import ProviderHttp
from signbridge.providers.oneshot import OneShotClient
from simulators.oneshot.model import DEFAULT_PROFILE, DEFAULT_REGISTRATION_AUTHORITY, SANDBOX_TOKEN
from simulators.oneshot.simulator import OneShotSimulator
from tests.support.receiver import WebhookReceiver, webhook_receiver

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


@pytest.fixture
def oneshot_callback_receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver("/webhooks/oneshot/test-secret") as receiver:
        yield receiver
