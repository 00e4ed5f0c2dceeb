"""Output helpers shared by the commands. Every line that can carry text from a file goes
through :func:`credanchor.core.terminal.printable` (or is JSON, which escapes control
characters) so that it cannot steer the terminal."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from credanchor.core.terminal import printable

if TYPE_CHECKING:
    from rich.progress import Progress

    from credanchor.core.report import Report

#: Show a progress bar from this many items on.
PROGRESS_FROM = 100


def echo(line: str, *, err: bool = False) -> None:
    """One line, escaped."""
    click.echo(printable(line), err=err)


def echo_lines(lines: Iterable[str]) -> None:
    for line in lines:
        echo(line)


def progress(total: int, what: str) -> Progress:
    """A progress bar on stderr for long runs in a terminal (rich draws only the bar; no file
    text goes through it)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    return Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True,
                    disable=total <= PROGRESS_FROM or not console.is_terminal)


def echo_tree(report: Report, document: Any) -> None:
    """A stacked qualification's components and rule as a tree, below its verdict line."""
    from credanchor.usecases.stacks import tree_lines

    try:
        lines = list(tree_lines(report, document))
    except Exception as exc:  # the verdict is printed already; the tree is extra
        lines = [f"  (its components cannot be shown: {type(exc).__name__}: {exc})"]
    echo_lines(lines)


__all__ = ["PROGRESS_FROM", "echo", "echo_lines", "echo_tree", "progress"]
