"""Where a running local stack is: the small state file `python -m local` writes while it is up.

The file is `$SIGNBRIDGE_LOCAL_STATE` when set, else `$XDG_STATE_HOME/signbridge/local.json` (by default
`~/.local/state/signbridge/local.json`). It holds addresses and resource names only (no secret values: the
development secrets live in the stack's Secrets Manager), is written when the stack is ready and removed when it
stops. `signbridge` reads it when neither `--stage` nor the `SIGNBRIDGE_*` variables say where to work, so commands
against the local stack need no configuration. A file left by a stack that was killed is recognised by its process
id and ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError

STATE_VARIABLE: Final = "SIGNBRIDGE_LOCAL_STATE"


class LocalState(BaseModel):
    """What the CLI needs to reach a local stack: the moto endpoint and the functions' environment."""

    model_config = ConfigDict(frozen=True)

    pid: int
    stage: str
    api_url: str
    aws_endpoint_url: str
    region: str
    zapsign_webhook_url: str
    environment: dict[str, str]  # the SIGNBRIDGE_* variables the stack's functions run with


def state_path(environ: Mapping[str, str] | None = None) -> Path:
    environment = os.environ if environ is None else environ
    explicit = environment.get(STATE_VARIABLE)
    if explicit:
        return Path(explicit)
    base = environment.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "signbridge" / "local.json"


def read_state(path: Path | None = None) -> LocalState | None:
    """The running local stack's state, or None (no file, unreadable, or its process is gone)."""
    target = path or state_path()
    try:
        state = LocalState.model_validate_json(target.read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        return None
    return state if _alive(state.pid) else None


@contextmanager
def published(state: LocalState, path: Path | None = None) -> Iterator[Path]:
    """Write the state file for as long as the block runs (owner-only permissions), then remove it."""
    target = path or state_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps(state.model_dump(), indent=2), encoding="utf-8")
    scratch.chmod(0o600)
    scratch.replace(target)
    try:
        yield target
    finally:
        # Only our own file: a second stack started meanwhile owns the path now.
        current = None
        with suppress(OSError, ValidationError):
            current = LocalState.model_validate_json(target.read_text(encoding="utf-8"))
        if current is not None and current.pid == state.pid:
            with suppress(OSError):
                target.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
