"""A webhook receiver on 127.0.0.1 for the simulators' deliveries (ZapSign webhooks, One-Shot callbacks), and the
one polling helper the tests wait with."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.background import BackgroundServer


def wait_for(condition: Callable[[], bool], timeout: float = 5.0, message: str = "condition not met in time") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.01)


@dataclass
class ReceivedWebhook:
    body: dict[str, Any]
    headers: dict[str, str]
    status: int


@dataclass
class WebhookReceiver:
    """Records every POST to `url`. `statuses` (if not empty) answers the next calls with those, then 200."""

    url: str = ""
    received: list[ReceivedWebhook] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[ReceivedWebhook]:
        """The deliveries answered 200 (what a real receiver would have processed)."""
        with self.lock:
            return [item for item in self.received if item.status == 200]

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [item.body for item in self.accepted()]

    def events(self) -> list[str]:
        return [str(item.body.get("event_type")) for item in self.accepted()]

    def wait_for_events(self, count: int, timeout: float = 5.0) -> list[ReceivedWebhook]:
        wait_for(lambda: len(self.accepted()) >= count, timeout, f"expected {count} webhooks, got {self.events()}")
        return self.accepted()


@contextmanager
def webhook_receiver(path: str) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

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

    with BackgroundServer(lambda: ThreadingHTTPServer(("127.0.0.1", 0), Handler), name="webhook-receiver") as server:
        receiver.url = f"{server.url}{path}"
        yield receiver
