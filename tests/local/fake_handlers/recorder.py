"""What the fake handlers saw, shared across execution environments."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
calls: list[tuple[str, Any, dict[str, Any]]] = []  # (function, event, facts about the context and environment)


def record(function: str, event: Any, facts: dict[str, Any]) -> None:
    with _lock:
        calls.append((function, event, facts))


def of(function: str) -> list[tuple[Any, dict[str, Any]]]:
    with _lock:
        return [(event, facts) for name, event, facts in calls if name == function]


_barriers: dict[str, threading.Barrier] = {}
_running: dict[str, int] = {}


def enter(name: str) -> int:
    """Count one more invocation of `name` running; returns how many run now."""
    with _lock:
        _running[name] = _running.get(name, 0) + 1
        return _running[name]


def leave(name: str) -> None:
    with _lock:
        _running[name] -= 1


def barrier(name: str, parties: int = 2) -> threading.Barrier:
    """A barrier shared by concurrent invocations (to prove they run at the same time)."""
    with _lock:
        return _barriers.setdefault(name, threading.Barrier(parties))


def clear() -> None:
    with _lock:
        calls.clear()
        _barriers.clear()
        _running.clear()
