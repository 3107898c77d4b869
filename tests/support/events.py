"""Sample events from `events/`: load one, adjust it for the test at hand.

`load_event("apigw/get_request.json", pathParameters={"request_id": rid})` returns a fresh copy of the file with the
overrides applied: a dict override is merged into the dict it replaces (recursively, so `headers={"x": "1"}` adds a
header and keeps the others), anything else replaces the value, and `None` removes the key.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


@cache
def _read(path: str) -> dict[str, Any]:
    with (EVENTS_DIR / path).open(encoding="utf-8") as file:
        loaded: dict[str, Any] = json.load(file)
    return loaded


def load_event(path: str, **overrides: Any) -> dict[str, Any]:
    """The event in `events/{path}`, with `overrides` applied (see the module docstring)."""
    return merge(copy.deepcopy(_read(path)), overrides)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    for key, value in overrides.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base
