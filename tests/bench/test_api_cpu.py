"""bench/api_cpu.py's /proc readings, on real processes: the tree below a process and a
process's CPU time, which its per-request figures divide."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import api_cpu  # noqa: E402

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"


def test_descendants_finds_children_and_grandchildren() -> None:
    # a child that starts a grandchild, both sleeping until killed
    child = subprocess.Popen([sys.executable, "-c",
                              "import subprocess, sys, time\n"
                              "g = subprocess.Popen([sys.executable, '-c', "
                              "'import time; time.sleep(60)'])\n"
                              "print(g.pid, flush=True)\ntime.sleep(60)\n"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        grandchild = int(child.stdout.readline())
        tree = api_cpu._descendants(os.getpid())
        assert tree[0] == os.getpid()
        assert child.pid in tree and grandchild in tree
        assert api_cpu._descendants(child.pid) == [child.pid, grandchild]
    finally:
        subprocess.run(["pkill", "-P", str(child.pid)], check=False)
        child.kill()
        child.wait()


def test_cpu_seconds_counts_what_a_process_burned() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", BURN.format(s=0.3) + "print('done', flush=True)\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "done"  # burned, now asleep
        spent = api_cpu._cpu_seconds(child.pid)
        # 0.3 s burned plus the interpreter's start
        assert 0.3 <= spent < 5.0
        time.sleep(0.3)  # asleep: the count holds still
        assert api_cpu._cpu_seconds(child.pid) - spent < 0.02
    finally:
        child.kill()
        child.wait()
