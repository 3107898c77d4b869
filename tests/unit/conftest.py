"""Unit tests run without a network: any attempt to open a connection fails the test."""

from __future__ import annotations

import socket
from typing import Any

import pytest


class NetworkAccessError(RuntimeError):
    """A unit test tried to open a network connection. Use a fake, or move the test to tests/integration."""


def _refuse(*_: Any, **__: Any) -> Any:
    raise NetworkAccessError("unit tests must not open sockets")


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
