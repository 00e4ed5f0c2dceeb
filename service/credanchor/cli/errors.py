"""The one error handler and the one exit-code table of every command, whether run as
``credanchor …`` or as ``scripts/verify.py``, ``audit.py`` or ``export.py``.

A credanchor error becomes a one-line message on stderr (escaped: it may quote a file) and an
exit code; nothing prints a traceback at an operator. The table (README, docs/audit.md):

====  ==========================================================================
0     success (verify: every credential VALID; audit: clean; stack check: eligible)
1     verify: some credential not VALID (a file that could not be verified at all is ERROR
      and counts here); audit: discrepancies found; stack check: not eligible
2     bad usage: an unknown option, a missing argument (click's own)
3     a credanchor error: bad input, configuration, a wrong chain id, a refused transaction
4     the chain could not be reached
130   interrupted
====  ==========================================================================
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from credanchor.core.terminal import printable
from credanchor.errors import ChainUnavailable, CredanchorError

EXIT_OK = 0
EXIT_INVALID = 1  # verify: not all VALID; audit: discrepancies; stack check: not eligible
EXIT_FOUND = EXIT_INVALID
EXIT_USAGE = 2  # click's own
EXIT_ERROR = 3  # a credanchor error (bad input, configuration, …)
EXIT_CHAIN = 4  # the chain could not be reached
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


def exit_code_of(exc: CredanchorError) -> int:
    """The exit code for a credanchor error: 4 only when retrying later may help (the chain
    did not answer); a wrong chain id, a revert or a refused fee is 3 like any bad input."""
    if isinstance(exc, ChainUnavailable):
        return EXIT_CHAIN
    return EXIT_ERROR


def message_of(exc: CredanchorError) -> str:
    if exit_code_of(exc) == EXIT_CHAIN:
        return f"error: the chain could not be reached: {exc.detail}"
    return f"error: {exc.detail}"


def handle_errors(fn: F) -> F:
    """Wrap a command: its int return value is the exit code (None: 0); a credanchor error is
    one line and :func:`exit_code_of`; Ctrl-C is ``interrupted`` and 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            code = fn(*args, **kwargs)
        except CredanchorError as exc:
            click.echo(printable(message_of(exc)), err=True)
            code = exit_code_of(exc)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            code = EXIT_INTERRUPTED
        if code:
            sys.exit(code)
        return None

    return wrapper  # type: ignore[return-value]


def run(command: click.Command, args: Sequence[str] | None = None,
        prog_name: str | None = None) -> int:
    """Run ``command`` standalone (a script, or a test) and return its exit code, by the same
    table as ``credanchor``'s (a usage error is 2)."""
    try:
        command.main(args=list(args) if args is not None else None, prog_name=prog_name,
                     standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except click.Abort:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # handle_errors's exit code
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    return EXIT_OK


def main_script(command: click.Command) -> None:
    """Entry point of ``scripts/*.py``."""
    sys.exit(run(command, prog_name=Path(sys.argv[0]).name))


__all__ = [
    "EXIT_CHAIN", "EXIT_ERROR", "EXIT_FOUND", "EXIT_INTERRUPTED", "EXIT_INVALID", "EXIT_OK",
    "EXIT_USAGE", "exit_code_of", "handle_errors", "main_script", "run",
]
