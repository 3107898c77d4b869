"""Reads its service name at import time, as a module-level Powertools `Logger()` does (imported by one test only)."""

from __future__ import annotations

import os
from typing import Any

SERVICE_AT_IMPORT = os.environ.get("POWERTOOLS_SERVICE_NAME")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"service_at_import": SERVICE_AT_IMPORT}
