"""The command-line face: parse, call a use case, render. One error handler and one exit-code
table (:mod:`credanchor.cli.errors`) for ``credanchor`` and ``scripts/*.py`` alike.

``main`` is the ``credanchor`` group without ``serve`` (which starts the web face and is added
by :mod:`credanchor.entry`, the program's entry point above both faces).
"""

from __future__ import annotations

from credanchor.cli.main import main


def run_script(name: str) -> None:
    """``scripts/NAME.py``: the ``credanchor NAME`` command run standalone (no service: the
    chain and the ledger are given on the command line)."""
    from credanchor.cli.errors import main_script

    main_script(main.commands[name])


__all__ = ["main", "run_script"]
