"""How a command answers: rich tables and text in a terminal, one JSON document with `--json`, progress on stderr.

A command builds its result as plain data (what `--json` prints, unchanged) and a renderer for people. Progress bars
and spinners go to stderr and only when stderr is a terminal, so a pipe or `--json` gets nothing but the result.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

Renderer = Callable[[Console], None]


class Output:
    def __init__(self, *, json_mode: bool, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.json_mode = json_mode
        stream = out or sys.stdout
        self.stream = stream
        # Not a terminal (a pipe, a test): no colour, no wrapping of long lines.
        self.console = Console(file=stream, width=None if stream.isatty() else 200, highlight=False)
        self.err = Console(file=err or sys.stderr, highlight=False)

    def result(self, data: Any, render: Renderer) -> None:
        if self.json_mode:
            print(json.dumps(data, indent=2, default=str), file=self.stream)
        else:
            render(self.console)

    def note(self, message: str) -> None:
        """A line for people, on stderr (never mixed into `--json`)."""
        self.err.print(message)

    @contextmanager
    def progress(self, description: str, total: float | None = None) -> Iterator[Callable[..., None]]:
        """A progress bar (or a spinner without a total) on stderr; yields `update(completed=…, total=…,
        description=…)`."""
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f}" if total is not None else ""),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
            disable=not self.err.is_terminal,
        )
        with progress:
            task = progress.add_task(description, total=total)

            def update(**fields: Any) -> None:
                progress.update(task, **fields)

            yield update


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*("-" if value is None or value == "" else str(value) for value in row))
    return grid
