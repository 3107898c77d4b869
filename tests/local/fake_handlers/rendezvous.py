"""What concurrent invocations of separate handler module copies share in a test: one event per name."""

from __future__ import annotations

import threading

_events: dict[str, threading.Event] = {}
_lock = threading.Lock()


def event(name: str) -> threading.Event:
    with _lock:
        return _events.setdefault(name, threading.Event())


def clear() -> None:
    with _lock:
        _events.clear()
