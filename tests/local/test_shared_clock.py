"""The local stack's SignBridge shares the One-Shot simulator's clock: moving the simulator's time moves the
functions' rules (the resend minute) with it, and the wall clock comes back when the simulator stops."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from local.companions import OneShotSimulatorCompanion
from signbridge import wiring
from signbridge.config import Settings
from signbridge.domain.models import utc_now
from simulators.oneshot.simulator import OneShotSimulator


def close_to(actual: timedelta, expected: float) -> bool:
    return abs(actual.total_seconds() - expected) < 5


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings to build the services from (their clients are made, never called)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return Settings(
        table_name="signbridge-clock",
        bucket_name="signbridge-clock",
        zapsign_queue_url="http://127.0.0.1:1/zapsign-ops.fifo",
        oneshot_queue_url="http://127.0.0.1:1/oneshot-ops.fifo",
        zapsign_secret_name="zapsign",
        webhook_secret_name="webhook",
        oneshot_secret_name="oneshot",
    )


def test_the_services_clock_follows_the_simulators_while_it_runs(settings: Settings) -> None:
    # Given the One-Shot simulator companion started, as the local stack starts it
    companion = OneShotSimulatorCompanion(simulator=OneShotSimulator(port=0)).start()
    try:
        services = wiring.AwsServices.from_settings(settings)
        assert close_to(services.clock() - utc_now(), 0)

        # When a test moves the simulator's time through its control API
        moved = requests.post(f"{companion.control_url}clock", json={"advance_seconds": 61}, timeout=10)
        assert moved.status_code == 200

        # Then the services (what the use cases decide with) are 61 s on too, as is the simulator
        assert close_to(services.clock() - utc_now(), 61)
        assert close_to(timedelta(seconds=companion.simulator.now()) - timedelta(seconds=utc_now().timestamp()), 61)
    finally:
        companion.stop()

    # When the simulator stops, Then the wall clock is back
    assert close_to(wiring.services_now() - utc_now(), 0)


def test_without_the_local_stack_the_services_read_the_wall_clock(settings: Settings) -> None:
    # Lambda never sets the hook: the services' time is the wall clock
    services = wiring.AwsServices.from_settings(settings)
    assert close_to(services.clock() - utc_now(), 0)


@pytest.fixture(autouse=True)
def _wall_clock_after() -> Iterator[None]:
    yield
    wiring.use_clock(None)
