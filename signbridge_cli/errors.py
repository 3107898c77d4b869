"""How a command fails: `CommandError` (printed as `error: …`) and the exit codes."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1  # the command ran and could not do what was asked (nothing to replay, a provider refused)
EXIT_USAGE: Final = 2  # configuration or arguments: nothing was done


class CommandError(Exception):
    """A failure explained to the operator (printed as `error: …`), with the exit code to return."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code
