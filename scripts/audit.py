#!/usr/bin/env python3
"""Replay the contract's events and reconcile them with an issuer's ledger (see --help).

Thin: the command lives in the CLI package (credanchor.cli.auditing); it is `credanchor audit`
run standalone, with the same output and exit codes.
"""

import sys
from pathlib import Path

try:
    from credanchor.cli import run_script
except ModuleNotFoundError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
    from credanchor.cli import run_script

if __name__ == "__main__":
    run_script("audit")
