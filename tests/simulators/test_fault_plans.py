"""The fault plan's faults that act on the connection or after the work (`simulators/base.py`): a closed connection,
a 5xx after the view ran, a truncated body, a corrupt body; each counted in `Simulator.injected`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from simulators.base import Simulator

BODY = bytes(range(256)) * 8


class _Echo(Simulator):
    name = "echo"

    def __init__(self) -> None:
        super().__init__()
        self.work = 0
        self.route("/work", "work", ["POST"], self._work)

    def _work(self, request: Request) -> Response:
        self.work += 1
        return Response(BODY, mimetype="application/pdf")


@pytest.fixture
def echo() -> Iterator[_Echo]:
    with _Echo() as simulator:
        assert isinstance(simulator, _Echo)
        yield simulator


def _plan(echo: _Echo, **faults: Any) -> None:
    answer = requests.post(f"{echo.base_url}/_sim/faults", json={"seed": 1, "endpoints": {"work": faults}}, timeout=5)
    assert answer.status_code == 200, answer.text


def test_reset_closes_the_connection_before_the_work(echo: _Echo) -> None:
    _plan(echo, reset_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{echo.base_url}/work", timeout=5)
    assert echo.work == 0
    assert echo.injected["reset"] == 1


def test_after_rate_answers_the_error_status_once_the_work_is_done(echo: _Echo) -> None:
    _plan(echo, after_rate=1.0, error_status=503)
    answer = requests.post(f"{echo.base_url}/work", timeout=5)
    assert answer.status_code == 503
    assert echo.work == 1
    assert echo.injected["503 after the work"] == 1


def test_truncate_sends_half_the_body_and_closes(echo: _Echo) -> None:
    _plan(echo, truncate_rate=1.0)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.post(f"{echo.base_url}/work", timeout=5)
    assert echo.injected["truncated"] == 1


def test_corrupt_answers_200_with_16_bytes_inverted(echo: _Echo) -> None:
    _plan(echo, corrupt_rate=1.0)
    answer = requests.post(f"{echo.base_url}/work", timeout=5)
    assert answer.status_code == 200
    assert len(answer.content) == len(BODY)
    assert sum(1 for got, sent in zip(answer.content, BODY, strict=True) if got != sent) == 16
    assert echo.injected["corrupt"] == 1


def test_control_routes_are_never_faulted(echo: _Echo) -> None:
    requests.post(f"{echo.base_url}/_sim/faults", json={"endpoints": {"*": {"reset_rate": 1.0}}}, timeout=5)
    assert requests.get(f"{echo.base_url}/_sim/calls", timeout=5).status_code == 200
