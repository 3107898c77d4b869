"""Bounds on a JSON body, checked before anything parses it: how deep its arrays and objects nest, how long a number
runs. The API and both webhooks call `check_json_limits` first.

Python's `json` recurses once per level (a body nested 1,000 deep raises `RecursionError`) and refuses to convert an
integer of more than 4,300 digits (a `ValueError` from deep inside a parser); neither is a JSON error, so without
this check either becomes a 500. No SignBridge body nests beyond a handful of levels or carries a long number (phone
numbers, ids and sizes are strings or small integers), so the bounds are generous and the check cheap: the strings
(the base64 documents are most of a body) are skipped by one regular expression, in C.
"""

from __future__ import annotations

import re
from typing import Final

MAX_JSON_DEPTH: Final = 32  # nested arrays and objects; SignBridge's bodies use at most 4
MAX_JSON_NUMBER_CHARS: Final = 64  # one number literal, sign and exponent included

# A JSON string (a quote, then anything but a quote or backslash, or an escape, until the closing quote), or one
# character that opens or closes a level, or a run of number characters.
_TOKENS: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|[-+0-9.eE]+', re.DOTALL)


class JsonLimitError(ValueError):
    """A JSON body beyond `MAX_JSON_DEPTH` or `MAX_JSON_NUMBER_CHARS`; `detail` says which, for people."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def check_json_limits(body: bytes | str) -> None:
    """Raise `JsonLimitError` when `body` nests deeper than `MAX_JSON_DEPTH` or holds a number longer than
    `MAX_JSON_NUMBER_CHARS`. Whether it is JSON at all is the parser's to say afterwards (an unterminated string
    ends the scan: what follows it is inside the string)."""
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    depth = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        first = token[:1]
        if first == b'"':
            continue
        if first in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise JsonLimitError(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
        elif first in (b"]", b"}"):
            depth = max(0, depth - 1)
        elif len(token) > MAX_JSON_NUMBER_CHARS:
            raise JsonLimitError(f"the JSON body holds a number longer than {MAX_JSON_NUMBER_CHARS} characters")
