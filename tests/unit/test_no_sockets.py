"""The guard of tests/unit/conftest.py: a unit test cannot reach the network, not even the loopback."""

from __future__ import annotations

import socket

import pytest


def test_a_unit_test_cannot_connect_a_socket() -> None:
    # Given a plain TCP socket
    # When it tries to connect, even to the loopback
    # Then the guard refuses
    with socket.socket() as sock, pytest.raises(RuntimeError, match="must not open sockets"):
        sock.connect(("127.0.0.1", 9))


def test_a_unit_test_cannot_create_a_connection() -> None:
    # Given the loopback address
    # When a connection is created
    # Then the guard refuses
    with pytest.raises(RuntimeError, match="must not open sockets"):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)
