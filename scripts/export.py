#!/usr/bin/env python3
"""Export an issuer's ledger for an auditor, without personal data (see --help).

Thin: the command lives in the CLI package (credanchor.cli.auditing); it is `credanchor export`
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
    run_script("export")
