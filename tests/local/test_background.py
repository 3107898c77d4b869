"""The one background-server helper: bind, serve, stop, each idempotent, nothing left running."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from local.background import BackgroundServer


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def test_port_zero_binds_a_free_loopback_port_and_serves_until_stopped() -> None:
    server = BackgroundServer.wsgi(hello, name="hello")
    assert server.bind().port > 0
    assert not server.running
    assert server.start() is server
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert requests.get(server.url, timeout=5).text == "hello"
    url = server.url
    server.stop()
    assert not server.running
    assert not any(thread.name == f"hello-{url.rsplit(':', 1)[1]}" for thread in threading.enumerate())
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def test_start_and_stop_are_idempotent_and_it_is_a_context_manager() -> None:
    with BackgroundServer.wsgi(hello, name="twice") as server:
        port = server.port
        assert server.start().port == port  # already serving: the same server
        assert requests.get(server.url, timeout=5).status_code == 200
    server.stop()  # already stopped: nothing to do
    assert not server.running


def test_a_bound_server_that_never_served_stops_cleanly() -> None:
    server = BackgroundServer.wsgi(hello).bind()
    server.stop()
    assert server.server is None
