#!/usr/bin/env python3
"""Entry point: `python scripts/load.py --help`. The code lives in bench/load.py (bench/ is the one
home of benchmarks and load runs); this keeps the documented command where operators look."""

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).resolve().parents[1] / "bench" / "load.py"), run_name="__main__")
