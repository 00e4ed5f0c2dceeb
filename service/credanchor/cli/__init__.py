"""The command-line face: parse, call a use case, render. One error handler, one exit-code table."""

from credanchor.cli.main import main

__all__ = ["main"]
