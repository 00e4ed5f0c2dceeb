#!/usr/bin/env python3
"""Verify credential files against the chain with nothing but an RPC URL (see --help).

Thin: the command lives in the CLI package (credanchor.cli.verifying); it is `credanchor verify`
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
    run_script("verify")
