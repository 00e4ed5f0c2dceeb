#!/usr/bin/env python3
"""Verify credential files against the chain with nothing but an RPC URL (see --help).

Thin: the command and its logic live in the credanchor package (credanchor.cli.auditor).
"""

import sys
from pathlib import Path

try:
    from credanchor.cli.auditor import main_script, verify_command
except ModuleNotFoundError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
    from credanchor.cli.auditor import main_script, verify_command

if __name__ == "__main__":
    main_script(verify_command)
