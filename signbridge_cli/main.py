"""The `signbridge` entry point: runs the typer app and maps failures to messages and exit codes.

typer and rich are the `cli` extra (`pip install 'signbridge[cli]'`; `.[dev]` includes it): without them the entry
point says what to install instead of failing on an import.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from signbridge_cli.errors import EXIT_FAILED, EXIT_USAGE, CommandError


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:  # noqa: PLR0911 - one exit per kind of failure
    errors = err or sys.stderr
    try:
        import click  # noqa: PLC0415
        import typer  # noqa: PLC0415

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
        result: Any = command.main(
            args=arguments, prog_name="signbridge", standalone_mode=False, obj={"out": out or sys.stdout, "err": err}
        )
    except click.exceptions.Exit as exit_:
        return int(exit_.exit_code)
    except click.exceptions.Abort:
        print("aborted", file=errors)
        return EXIT_FAILED
    except click.exceptions.ClickException as error:
        error.show(file=errors)
        return EXIT_USAGE
    except CommandError as error:
        print(f"error: {error}", file=errors)
        return error.code
    except Exception as error:
        return _explain(error, errors)
    return result if isinstance(result, int) else 0


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
