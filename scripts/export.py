#!/usr/bin/env python3
"""Export an issuer's ledger for an auditor, without personal data (see --help).

Thin: the command and its logic live in the credanchor package (credanchor.cli.auditor).
"""

import sys
from pathlib import Path

try:
    from credanchor.cli.auditor import export_command, main_script
except ModuleNotFoundError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
    from credanchor.cli.auditor import export_command, main_script

if __name__ == "__main__":
    main_script(export_command)
