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

from collections.abc import Iterator
from typing import Any

import pytest

from signbridge.domain.zapsign import NewDocument, NewSigner
from signbridge.providers.http import ProviderHttp, RetryPolicy
from signbridge.providers.zapsign import ZapSignClient
from simulators.pdf import make_pdf
from simulators.zapsign.model import ZapSignConfig
from simulators.zapsign.simulator import ZapSignSimulator
from tests.support.receiver import WebhookReceiver, webhook_receiver

ZAPSIGN_TOKEN = "test-zapsign-token"
ZAPSIGN_OTHER_ENV_TOKEN = "production-token-used-on-sandbox"
ZAPSIGN_WEBHOOK_BACKOFF_SECONDS = 0.02


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


@pytest.fixture
def zapsign_webhook_receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver("/webhooks/zapsign") as receiver:
        yield receiver
