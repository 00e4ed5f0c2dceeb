"""The ``credanchor`` command: the root group, ``serve`` and ``worker``; every other command
lives in a module by audience (:mod:`~credanchor.cli.issuing`, :mod:`~credanchor.cli.issuers`,
:mod:`~credanchor.cli.verifying`, :mod:`~credanchor.cli.stacks`, :mod:`~credanchor.cli.auditing`).

Thin: parse arguments, call a use case, print. Errors become a one-line message on stderr and
the exit code of :mod:`credanchor.cli.errors`; nothing prints a traceback at an operator.
Every line that can carry text from a file goes through :func:`credanchor.core.terminal.printable`.
Configuration comes from ``CREDANCHOR_*`` variables and an optional ``--config`` TOML file.
"""

from __future__ import annotations

import signal
import threading

import click

from credanchor import __version__
from credanchor.cli import auditing, issuers, issuing, stacks, verifying
from credanchor.cli.context import Ctx
from credanchor.cli.errors import (  # noqa: F401  (the table, importable from here as before)
    EXIT_CHAIN,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_USAGE,
    handle_errors,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="credanchor")
@click.option("--config", type=click.Path(dir_okay=False), envvar="CREDANCHOR_CONFIG",
              help="TOML file with settings (environment variables override it).")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="CREDANCHOR_DATA_DIR",
              help="Where the ledger, the embedded chain and keystores live.")
@click.pass_context
def main(ctx: click.Context, config: str | None, data_dir: str | None) -> None:
    """Issue Open Badges 3.0 micro-credentials anchored on an Ethereum chain, and verify them.

    \b
    Examples:
      credanchor issue examples/badges.csv --anchor --out badges/
      credanchor verify badges/
      credanchor serve --port 8000
    """
    obj = Ctx(config, data_dir)
    ctx.obj = obj
    ctx.call_on_close(obj.close)


# -- running ------------------------------------------------------------------------------------
# `serve` starts the web face, so it lives above both faces: credanchor.entry.


@main.command()
@click.option("--once", is_flag=True, help="Seal and drive everything once, then exit.")
@click.pass_obj
@handle_errors
def worker(obj: Ctx, once: bool) -> None:
    """Run the anchoring worker (one per ledger) until interrupted.

    \b
    Example:
      credanchor worker
    """
    from credanchor.issuing.anchoring import worker_lock

    runtime = obj.runtime()
    with worker_lock(runtime.settings.data_dir):
        anchorer = runtime.anchorer()
        if once:
            report = anchorer.step(force_seal=True)
            click.echo(f"sealed {len(report.sealed)}, submitted {len(report.submitted)}, "
                       f"confirmed {len(report.confirmed)}")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        anchorer.run(stop, interval=runtime.settings.worker_interval)


# Order of `credanchor --help`: click lists commands alphabetically whatever the order here.
for _module in (issuing, issuers, verifying, stacks, auditing):
    for _command in _module.COMMANDS:
        main.add_command(_command, _command.name.removesuffix("_command").replace("_", "-")
                         if _command.name else None)


if __name__ == "__main__":  # pragma: no cover
    main()
