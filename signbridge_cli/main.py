"""The `signbridge` entry point: runs the typer app and maps failures to messages and exit codes.

typer and rich are the `cli` extra (`pip install 'signbridge[cli]'`; `.[dev]` includes it): without them the entry
point says what to install instead of failing on an import.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from signbridge_cli.errors import EXIT_FAILED, EXIT_USAGE, CommandError


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    errors = err or sys.stderr
    try:
        import typer  # noqa: PLC0415 - typer vendors click since 0.26: no separate click import

        from signbridge_cli.app import app  # noqa: PLC0415
    except ModuleNotFoundError as error:
        print(
            f"error: signbridge needs {error.name}: pip install 'signbridge[cli]' (or -e '.[cli]' in a clone)",
            file=errors,
        )
        return EXIT_USAGE
    command = typer.main.get_command(app)
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        # Standalone mode: typer prints usage errors and `--help` and exits with click's codes (2 for usage);
        # what a command raises comes through to be explained below.
        command.main(
            args=arguments, prog_name="signbridge", standalone_mode=True, obj={"out": out or sys.stdout, "err": err}
        )
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else EXIT_FAILED)
    except CommandError as error:
        print(f"error: {error}", file=errors)
        return error.code
    except Exception as error:
        return _explain(error, errors)
    return 0


def _explain(error: Exception, errors: TextIO) -> int:
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    from signbridge.domain.errors import StoreError  # noqa: PLC0415
    from signbridge.providers.http import ProviderError, UncertainOutcomeError  # noqa: PLC0415

    if isinstance(error, UncertainOutcomeError):
        # Not idempotent upstream (a webhook registration): it may have happened. Look before trying again.
        print(
            f"error: {error.provider} {error.operation}: {error.message}; it may or may not have happened: check at "
            "the provider (ZapSign: Settings > Integrations > Webhooks) before trying again",
            file=errors,
        )
        return EXIT_FAILED
    if isinstance(error, ProviderError):
        # Typed provider errors carry the provider's answer, never the token or the secret header.
        print(f"error: {error.provider} {error.operation}: {error.message}", file=errors)
        return EXIT_FAILED
    if isinstance(error, StoreError | ClientError | BotoCoreError):
        print(f"error: {type(error).__name__}: {error}", file=errors)
        return EXIT_FAILED
    raise error
